import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Ref from "effect/Ref"
import * as TestClock from "effect/TestClock"
import * as Batch from "../src/Batch.js"
import * as Cache from "../src/Cache.js"
import * as Primitive from "../src/Primitive.js"

describe("Batch under Cache", () => {
  it.effect("a cached batched primitive: misses coalesce into one backend call, repeats never reach it", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make<ReadonlyArray<{ readonly at: number; readonly items: ReadonlyArray<number> }>>([])
      const embed = yield* Batch.make({
        name: "embed-cached",
        run: (items: ReadonlyArray<number>) =>
          Effect.gen(function*() {
            const at = yield* Clock.currentTimeMillis
            yield* Ref.update(calls, (cs) => [...cs, { at, items }])
            return items.map((n) => n * 10)
          }),
        maxBatchSize: 10,
        window: "10 millis"
      })
      const cached = embed.pipe(Cache.wrap({ key: String }))
      const runMany = (items: ReadonlyArray<number>) =>
        Effect.forEach(items, (n) => Primitive.run(cached, n), { concurrency: "unbounded" })

      const first = yield* Effect.fork(runMany([1, 2, 3, 1, 2]))
      yield* TestClock.adjust("10 millis")
      assert.deepStrictEqual(yield* Fiber.join(first), [10, 20, 30, 10, 20])
      // concurrent identical keys are single-flighted by the cache, the rest share one batch
      assert.deepStrictEqual(yield* Ref.get(calls), [{ at: 10, items: [1, 2, 3] }])

      const second = yield* runMany([3, 2, 1])
      assert.deepStrictEqual(second, [30, 20, 10])
      assert.strictEqual((yield* Ref.get(calls)).length, 1)

      const third = yield* Effect.fork(runMany([4, 1]))
      yield* TestClock.adjust("10 millis")
      assert.deepStrictEqual(yield* Fiber.join(third), [40, 10])
      assert.deepStrictEqual((yield* Ref.get(calls))[1], { at: 20, items: [4] })
    }).pipe(Effect.scoped, Effect.provide(Cache.layerMemory({ capacity: 100 }))))
})
