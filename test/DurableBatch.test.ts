// DurableBatch on the cluster's in-memory runner (`@effect/cluster/TestRunner`): one process,
// the entity and its callers on one Sharding. The real-process test is test/faults/durable.batch.pg.test.ts.
import * as TestRunner from "@effect/cluster/TestRunner"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as Batch from "../src/Batch.js"
import * as DurableBatch from "../src/Durable/Batch.js"
import { BatchErrorSchema } from "../src/internal/durableBatch.js"
import * as Primitive from "../src/Primitive.js"

class Refused extends Schema.TaggedError<Refused>()("Refused", { item: Schema.String }) {}

/** A batch whose backend records every batch it was called with. */
const recorded = (
  name: string,
  extra: Partial<DurableBatch.Options<string, string, Refused, never, string, string, any>> = {}
) => {
  const batches: Array<ReadonlyArray<string>> = []
  const batch = DurableBatch.make(name, {
    item: Schema.String,
    result: Schema.String,
    error: Refused,
    run: (items: ReadonlyArray<string>) =>
      Effect.sync(() => {
        batches.push(items)
        return items.map((item) => item.startsWith("bad") ? Batch.failItem(new Refused({ item })) : `${item}!`)
      }),
    maxBatchSize: 10,
    window: "50 millis",
    ...extra
  })
  return { batch, batches }
}

const runAll = (primitive: Primitive.Primitive<string, string, any, any>, items: ReadonlyArray<string>) =>
  Effect.forEach(items, (item) => Effect.exit(Primitive.run(primitive, item)), { concurrency: "unbounded" })

const withCluster = <A, E>(layer: Layer.Layer<never, never, any>, effect: Effect.Effect<A, E, any>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect.pipe(Effect.provide(layer.pipe(Layer.provideMerge(TestRunner.layer)))))
    // the entity's window and the cluster's own timers run on the TestClock
    for (let i = 0; i < 20 && fiber.unsafePoll() === null; i++) yield* TestClock.adjust("50 millis")
    return yield* Fiber.join(fiber)
  }) as Effect.Effect<A, E, never>

describe("DurableBatch (in-memory cluster)", () => {
  it.effect("callers share batches and each gets its own answer", () =>
    Effect.gen(function*() {
      const { batch, batches } = recorded("share")
      const items = Array.from({ length: 25 }, (_, i) => `item${i}`)
      const exits = yield* withCluster(batch.layer, runAll(batch.primitive, items))
      expect(exits.map((exit) => Exit.isSuccess(exit) ? exit.value : "failed")).toEqual(items.map((i) => `${i}!`))
      expect(batches.map((b) => b.length)).toEqual([10, 10, 5])
    }))

  it.effect("items of different keys never share a batch", () =>
    Effect.gen(function*() {
      const { batch, batches } = recorded("keys", { key: (item) => item.slice(0, 1) })
      const items = ["a1", "b1", "a2", "b2", "a3"]
      yield* withCluster(batch.layer, runAll(batch.primitive, items))
      expect(batches.map((b) => [...b].sort().join(",")).sort()).toEqual(["a1,a2,a3", "b1,b2"])
    }))

  it.effect("spread: one key over two entities makes two batches", () =>
    Effect.gen(function*() {
      const { batch, batches } = recorded("spread", { spread: 2 })
      yield* withCluster(batch.layer, runAll(batch.primitive, ["x1", "x2", "x3", "x4"]))
      expect(batches.map((b) => b.length).sort()).toEqual([2, 2])
    }))

  it.effect("a failed item fails only its caller; a wrong-sized answer is BatchSizeMismatch for the batch", () =>
    Effect.gen(function*() {
      const { batch } = recorded("failures")
      const exits = yield* withCluster(batch.layer, runAll(batch.primitive, ["good", "bad1"]))
      expect(exits[0]).toEqual(Exit.succeed("good!"))
      expect(exits[1]).toEqual(Exit.fail(new Refused({ item: "bad1" })))

      const short = DurableBatch.make("short", {
        item: Schema.String,
        result: Schema.String,
        run: (items: ReadonlyArray<string>) => Effect.succeed(items.slice(1)),
        maxBatchSize: 2,
        window: "10 millis"
      })
      const mismatched = yield* withCluster(short.layer, runAll(short.primitive, ["p", "q"]))
      for (const exit of mismatched) {
        expect(exit).toEqual(Exit.fail(new Batch.BatchSizeMismatch({ batch: "short", expected: 2, actual: 1 })))
      }
    }))

  it.effect("the caller that opened a message is interrupted: the others of its message still get their answers", () =>
    Effect.gen(function*() {
      const { batch, batches } = recorded("leader")
      const answers = yield* withCluster(
        batch.layer,
        Effect.gen(function*() {
          const [first, ...others] = yield* Effect.forEach(
            ["p1", "p2", "p3"],
            (item) => Effect.fork(Primitive.run(batch.primitive, item))
          )
          yield* Effect.yieldNow() // all three have joined the message the first one opened
          yield* Fiber.interrupt(first!)
          return yield* Fiber.joinAll(others)
        })
      )
      expect(answers).toEqual(["p2!", "p3!"])
      expect(batches.flat()).toContain("p2")
    }))

  it("Batch's errors survive the wire (encoded, then decoded into the same classes); a defect's cause as its message", () => {
    const roundTrip = (error: Batch.BatchError) =>
      Schema.decodeUnknownSync(BatchErrorSchema)(
        JSON.parse(JSON.stringify(Schema.encodeSync(BatchErrorSchema)(error)))
      )
    const errors: ReadonlyArray<Batch.BatchError> = [
      new Batch.BatchSizeMismatch({ batch: "b", expected: 3, actual: 2 }),
      new Batch.BatchInvalidResponse({ batch: "b", expected: 3, received: "null" }),
      new Batch.BatchClosed({ batch: "b" }),
      new Batch.BatchBackendDefect({ batch: "b", cause: "boom" })
    ]
    for (const error of errors) {
      const back = roundTrip(error)
      expect(back).toBeInstanceOf(error.constructor)
      expect(back).toEqual(error)
    }
    const defect = roundTrip(new Batch.BatchBackendDefect({ batch: "b", cause: new Error("socket hang up") }))
    expect(defect).toEqual(new Batch.BatchBackendDefect({ batch: "b", cause: "socket hang up" }))
  })

  it("options are checked where they are given, Batch's own included", () => {
    const base = {
      item: Schema.String,
      result: Schema.String,
      run: (items: ReadonlyArray<string>) => Effect.succeed(items),
      maxBatchSize: 4,
      window: "10 millis" as const
    }
    expect(() => DurableBatch.make("", base)).toThrow(/name/)
    expect(() => DurableBatch.make("o", { ...base, item: "string" as any })).toThrow(/"item" must be a Schema/)
    expect(() => DurableBatch.make("o", { ...base, spread: 0 })).toThrow(/"spread" must be an integer >= 1/)
    expect(() => DurableBatch.make("o", { ...base, key: "k" as any })).toThrow(/"key" must be a function/)
    expect(() => DurableBatch.make("o", { ...base, maxIdleTime: -1 })).toThrow(/"maxIdleTime"/)
    expect(() => DurableBatch.make("o", { ...base, maxBatchSize: 0 })).toThrow(/"maxBatchSize"/)
    expect(() => DurableBatch.make("o", { ...base, window: "-5 millis" })).toThrow(/"window"/)
    expect(() => DurableBatch.make("o", base)).not.toThrow()
  })
})
