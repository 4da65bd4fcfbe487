/**
 * A batch backend that answers garbage (issue 12, defect 4): whatever `run`
 * returns, throws or dies with, every caller of that batch is answered with a
 * typed failure naming the batch, at the end of the window (never a hang), and
 * the queue keeps serving the next batches. Bad options throw
 * `InvalidPrimitive` where they are given (issue 12.7, 14, 15).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as Batch from "../src/Batch.js"
import * as Primitive from "../src/Primitive.js"

type Run = (items: ReadonlyArray<number>) => Effect.Effect<ReadonlyArray<number>, never>

/** A backend that returns `bad` for its first call, then doubles every item. */
const liar = (bad: (items: ReadonlyArray<number>) => unknown): Run => {
  let calls = 0
  // `as`: the point of the test is a backend whose answer breaks its declared type.
  return ((items) => calls++ === 0 ? bad(items) : Effect.succeed(items.map((n) => n * 2))) as Run
}

const callers = [1, 2, 3]

/**
 * Three callers of one batch (window 10 ms): all answered at 10 ms, not
 * later; then a second round through the same queue is answered normally.
 */
const threeCallers = (run: Run) =>
  Effect.gen(function*() {
    const p = yield* Batch.make({ name: "liar", run, maxBatchSize: 10, window: "10 millis", concurrency: 1 })
    const fiber = yield* Effect.fork(
      Effect.forEach(callers, (n) => Effect.either(Primitive.run(p, n)), { concurrency: "unbounded" })
    )
    yield* TestClock.adjust(9)
    assert.isNull(fiber.unsafePoll(), "answered before the window closed")
    yield* TestClock.adjust(1)
    // the backend's answer is synchronous: the callers are answered without more clock
    for (let i = 0; i < 10 && fiber.unsafePoll() === null; i++) yield* Effect.yieldNow()
    assert.isNotNull(fiber.unsafePoll(), "a caller is still waiting at the end of the window")
    const results = yield* Fiber.join(fiber)
    const next = yield* Effect.fork(Effect.forEach([4, 5], (n) => Primitive.run(p, n), { concurrency: "unbounded" }))
    yield* TestClock.adjust(10)
    assert.deepStrictEqual(yield* Fiber.join(next), [8, 10], "the queue serves the next batch")
    return results.map((r) => Either.isLeft(r) ? r.left : assert.fail(`caller got ${String(r.right)}`))
  }).pipe(Effect.scoped)

describe("Batch: a backend that answers something other than one result per item", () => {
  const notArrays: ReadonlyArray<readonly [string, unknown, string]> = [
    ["null", null, "null"],
    ["undefined", undefined, "undefined"],
    ["an object", { results: [1, 2, 3] }, "an object"],
    ["a string as long as the batch", "abc", "a string of 3 characters"],
    ["a number", 3, "a number (3)"],
    ["a Map", new Map([[0, 1]]), "a Map"]
  ]
  for (const [label, value, received] of notArrays) {
    it.effect(`${label}: every caller gets BatchInvalidResponse naming the batch, at the window`, () =>
      Effect.gen(function*() {
        const errors = yield* threeCallers(liar(() => Effect.succeed(value)))
        for (const error of errors) {
          assert.strictEqual(error._tag, "BatchInvalidResponse")
          assert.deepInclude(error, { batch: "liar", expected: 3, received })
          assert.include(error.message, `Batch "liar"`)
        }
      }))
  }

  const wrongLengths: ReadonlyArray<readonly [string, ReadonlyArray<number>]> = [
    ["an empty array", []],
    ["a shorter array", [1, 2]],
    ["a longer array", [1, 2, 3, 4]]
  ]
  for (const [label, value] of wrongLengths) {
    it.effect(`${label}: every caller gets BatchSizeMismatch`, () =>
      Effect.gen(function*() {
        const errors = yield* threeCallers(liar(() => Effect.succeed(value)))
        for (const error of errors) {
          assert.deepInclude(error, { _tag: "BatchSizeMismatch", batch: "liar", expected: 3, actual: value.length })
        }
      }))
  }

  it.effect("run throws instead of returning an Effect: BatchBackendDefect with what was thrown", () =>
    Effect.gen(function*() {
      const thrown = new Error("backend exploded")
      const errors = yield* threeCallers(liar(() => {
        throw thrown
      }))
      for (const error of errors) {
        assert.deepInclude(error, { _tag: "BatchBackendDefect", batch: "liar", cause: thrown })
      }
    }))

  it.effect("the backend call dies: BatchBackendDefect", () =>
    Effect.gen(function*() {
      const errors = yield* threeCallers(liar(() => Effect.die("boom")))
      for (const error of errors) assert.deepInclude(error, { _tag: "BatchBackendDefect", cause: "boom" })
    }))

  it.effect("the backend call interrupts itself: BatchBackendDefect, not a hang nor an interrupted caller", () =>
    Effect.gen(function*() {
      const errors = yield* threeCallers(liar(() => Effect.interrupt))
      for (const error of errors) assert.strictEqual(error._tag, "BatchBackendDefect")
    }))

  it.effect("run returns a Promise instead of an Effect: BatchInvalidResponse", () =>
    Effect.gen(function*() {
      const errors = yield* threeCallers(liar((items) => Promise.resolve(items)))
      for (const error of errors) {
        assert.deepInclude(error, {
          _tag: "BatchInvalidResponse",
          received: "a Promise from run instead of an Effect"
        })
      }
    }))

  it.effect("a result array whose elements throw when read: BatchBackendDefect", () =>
    Effect.gen(function*() {
      const hostile = new Proxy([1, 2, 3], {
        get: (target, key) => {
          if (key === "0") throw new Error("hostile element")
          return Reflect.get(target, key)
        }
      })
      const errors = yield* threeCallers(liar(() => Effect.succeed(hostile)))
      for (const error of errors) assert.strictEqual(error._tag, "BatchBackendDefect")
    }))

  it.effect("with dedupe, every caller of a shared slot gets the failure", () =>
    Effect.gen(function*() {
      const p = yield* Batch.make({
        name: "dedupe-liar",
        run: liar(() => Effect.succeed(null)),
        maxBatchSize: 10,
        window: 0,
        dedupe: (n) => n
      })
      const errors = yield* Effect.forEach([1, 1, 2, 1], (n) => Effect.flip(Primitive.run(p, n)), {
        concurrency: "unbounded"
      })
      assert.deepStrictEqual(errors.map((e) => e._tag), Array(4).fill("BatchInvalidResponse"))
    }).pipe(Effect.scoped))

  it.live("rejected and resolved Promises from run: typed failure within 100 ms, no unhandled rejection", () =>
    Effect.gen(function*() {
      const rejected: Array<unknown> = []
      const onRejection = (reason: unknown) => rejected.push(reason)
      process.on("unhandledRejection", onRejection)
      yield* Effect.addFinalizer(() => Effect.sync(() => process.off("unhandledRejection", onRejection)))
      const viaEffect = yield* Batch.make({
        name: "rejects",
        run: liar(() => Effect.promise(() => Promise.reject(new Error("rejected")))),
        maxBatchSize: 3,
        window: 0
      })
      const raw = yield* Batch.make({
        name: "raw-promise",
        run: liar(() => Promise.reject(new Error("raw rejection"))),
        maxBatchSize: 3,
        window: 0
      })
      const started = Date.now()
      const [a, b] = yield* Effect.all([
        Effect.forEach(callers, (n) => Effect.flip(Primitive.run(viaEffect, n)), { concurrency: "unbounded" }),
        Effect.forEach(callers, (n) => Effect.flip(Primitive.run(raw, n)), { concurrency: "unbounded" })
      ], { concurrency: 2 }).pipe(Effect.timeoutFail({ duration: "1 second", onTimeout: () => "hang" }))
      assert.isBelow(Date.now() - started, 100)
      assert.deepStrictEqual(a.map((e) => e._tag), Array(3).fill("BatchBackendDefect"))
      assert.deepStrictEqual(b.map((e) => e._tag), Array(3).fill("BatchInvalidResponse"))
      // Real time on purpose (it.live): Node emits `unhandledRejection` on a later event-loop turn, which no
      // TestClock moves; one short real wait lets a stray rejection surface before the check.
      yield* Effect.sleep("20 millis")
      assert.deepStrictEqual(rejected, [])
    }).pipe(Effect.scoped))

  it.effect("Batch.chunked: a chunk answered with something that is not an array fails with BatchInvalidResponse", () =>
    Effect.gen(function*() {
      const broken = Primitive.fromFunction("broken", (_: ReadonlyArray<number>) => null as unknown as Array<number>)
      const error = yield* Effect.flip(Primitive.run(Batch.chunked(broken, { size: 2 }), [1, 2, 3]))
      assert.deepInclude(error, { _tag: "BatchInvalidResponse", batch: "broken", expected: 2, received: "null" })
    }))
})

describe("Batch: options are checked where they are given", () => {
  const run = (xs: ReadonlyArray<number>) => Effect.succeed(xs)
  const valid = { name: "opts", run, maxBatchSize: 10, window: "10 millis" } as const
  const thrown = (f: () => unknown): unknown => {
    try {
      f()
    } catch (e) {
      return e
    }
    return assert.fail("no error thrown")
  }
  const bad: ReadonlyArray<readonly [string, ReadonlyArray<unknown>]> = [
    ["name", ["", "  ", 3, undefined]],
    ["run", [undefined, "run", 3]],
    ["maxBatchSize", [0, -1, 1.5, NaN, Infinity, "10", undefined]],
    ["window", [-1, NaN, "-5 millis", Infinity, "infinity", "soon", undefined, null]],
    ["concurrency", [0, -1, 1.5, NaN, "4"]],
    ["dedupe", ["key", 3]]
  ]
  for (const [option, values] of bad) {
    it(`${option}: ${values.map(String).join(", ")} are rejected with InvalidPrimitive naming the option`, () => {
      for (const value of values) {
        // `as`: these options break the declared types on purpose.
        const error = thrown(() => Batch.make({ ...valid, [option]: value } as typeof valid))
        assert.instanceOf(error, Primitive.InvalidPrimitive, `${option} = ${String(value)}`)
        const invalid = error as Primitive.InvalidPrimitive
        assert.strictEqual(invalid.option, option, `${option} = ${String(value)}`)
        assert.include(invalid.reason, `option "${option}" must be`)
      }
    })
  }

  it("the message gives the value received and the range allowed", () => {
    const error = thrown(() => Batch.make({ ...valid, window: "-5 millis" })) as Primitive.InvalidPrimitive
    assert.strictEqual(
      error.message,
      `Invalid primitive "opts": option "window" must be a non-negative finite duration (e.g. 100, "2 seconds"), got "-5 millis"`
    )
  })

  it("the edges of the ranges are accepted: window 0, concurrency 1, Infinity and \"unbounded\"", () => {
    const extras: ReadonlyArray<Partial<Batch.Options<number, number, never, never>>> = [
      { window: 0 },
      { concurrency: 1 },
      { concurrency: Infinity },
      { concurrency: "unbounded" }
    ]
    for (const extra of extras) {
      assert.isTrue(Effect.isEffect(Batch.make({ ...valid, ...extra })))
    }
  })

  it("Batch.chunked: size and concurrency are checked", () => {
    const list = Primitive.fromFunction("list", (xs: ReadonlyArray<number>) => xs)
    for (const options of [{ size: 0 }, { size: NaN }, { size: 2, concurrency: -1 }, { size: 2, concurrency: 0.5 }]) {
      assert.instanceOf(thrown(() => Batch.chunked(list, options)), Primitive.InvalidPrimitive)
    }
  })
})
