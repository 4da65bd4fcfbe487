import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Cache from "flowtune/Cache"
import * as Cost from "flowtune/Cost"
import * as Model from "flowtune/Model"
import * as Primitive from "flowtune/Primitive"

const Quality = Model.layerSimulated(Model.profiles.quality, { scale: 0.001 })

describe("Cost.measure", () => {
  it.live("adds up what the model calls inside cost, parallel branches included; a cache hit costs nothing", () =>
    Effect.gen(function*() {
      const answer = Model.generate()
      const [, one] = yield* Cost.measure(Primitive.run(answer, "What is caching?"))
      assert.strictEqual(one.calls, 1)
      assert.isAbove(one.costUsd, 0)

      const both = Primitive.parallel([answer, answer])
      const [, two] = yield* Cost.measure(Primitive.run(both, "Explain batching"))
      assert.strictEqual(two.calls, 2)
      assert.closeTo(two.costUsd, 2 * one.costUsd, 1e-9)

      // Nested: the outer measurement includes the inner one; the second run of a cached step is a hit.
      const cached = Cache.wrap(answer, { schema: Schema.Any, memoryOnly: true })
      const [[, inner], outer] = yield* Cost.measure(
        Effect.zipRight(
          Primitive.run(cached, "What is caching?"),
          Cost.measure(Primitive.run(cached, "What is caching?"))
        )
      )
      assert.strictEqual(inner.calls, 0)
      assert.strictEqual(inner.costUsd, 0)
      assert.strictEqual(outer.calls, 1)
    }).pipe(Effect.provide(Quality), Effect.provide(Cache.layerMemory())))
})
