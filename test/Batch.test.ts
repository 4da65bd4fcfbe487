import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as Supervisor from "effect/Supervisor"
import * as TestClock from "effect/TestClock"
import * as Batch from "../src/Batch.js"
import * as Primitive from "../src/Primitive.js"

class BackendDown extends Data.TaggedError("BackendDown")<{ readonly items: ReadonlyArray<number> }> {}
class BadItem extends Data.TaggedError("BadItem")<{ readonly item: number }> {}

interface Call {
  readonly at: number
  readonly items: ReadonlyArray<number>
}

/** A backend that records each call (start time, items) and takes `latency`. */
const recorder = Effect.fnUntraced(function*(options?: {
  readonly latency?: Duration.DurationInput | undefined
  readonly answer?: (items: ReadonlyArray<number>) => ReadonlyArray<unknown> | undefined
}) {
  const calls = yield* Ref.make<ReadonlyArray<Call>>([])
  const inFlight = yield* Ref.make(0)
  const maxInFlight = yield* Ref.make(0)
  const run = (items: ReadonlyArray<number>) =>
    Effect.gen(function*() {
      const at = yield* Clock.currentTimeMillis
      yield* Ref.update(calls, (cs) => [...cs, { at, items }])
      const now = yield* Ref.updateAndGet(inFlight, (n) => n + 1)
      yield* Ref.update(maxInFlight, (m) => Math.max(m, now))
      if (options?.latency !== undefined) yield* Effect.sleep(options.latency)
      yield* Ref.update(inFlight, (n) => n - 1)
      return (options?.answer?.(items) ?? items.map((n) => n * 2)) as ReadonlyArray<number>
    })
  return { calls, maxInFlight, run }
})

const runAll = <E>(p: Primitive.Primitive<number, number, E>, items: ReadonlyArray<number>) =>
  Effect.forEach(items, (item) => Primitive.run(p, item), { concurrency: "unbounded" })

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

/** Forks `effect`, then checks it is still running just before `ms` and done at `ms`. */
const finishesAt = <A, E>(effect: Effect.Effect<A, E>, ms: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    if (ms > 0) {
      yield* TestClock.adjust(ms - 1)
      assert.isNull(fiber.unsafePoll(), `still running at ${ms - 1} ms`)
    }
    yield* TestClock.adjust(1)
    const exit = fiber.unsafePoll()
    assert.isNotNull(exit, `done at ${ms} ms`)
    return yield* Fiber.join(fiber)
  })

describe("Batch", () => {
  describe("the guide: 100 items, batches of 10, 0.5 s a call", () => {
    it.effect("sequential batches: 10 backend calls, 5 s instead of 50 s", () =>
      Effect.gen(function*() {
        const backend = yield* recorder({ latency: "500 millis" })
        const embed = yield* Batch.make({
          name: "guide-seq",
          run: backend.run,
          maxBatchSize: 10,
          window: "100 millis",
          concurrency: 1
        })
        const out = yield* finishesAt(runAll(embed, range(100)), 5_000)
        assert.deepStrictEqual(out, range(100).map((n) => n * 2))
        const calls = yield* Ref.get(backend.calls)
        assert.strictEqual(calls.length, 10)
        assert.deepStrictEqual(calls.map((c) => c.items.length), Array(10).fill(10))
        assert.deepStrictEqual(calls.map((c) => c.at), range(10).map((i) => i * 500))
      }).pipe(Effect.scoped))

    it.effect("unbatched: 100 calls of 0.5 s one after another take 50 s", () =>
      Effect.gen(function*() {
        const backend = yield* recorder({ latency: "500 millis" })
        const single = Primitive.make("single", (n: number) => Effect.map(backend.run([n]), (r) => r[0]!))
        yield* finishesAt(Primitive.run(Primitive.forEach(single, { concurrency: 1 }), range(100)), 50_000)
        assert.strictEqual((yield* Ref.get(backend.calls)).length, 100)
      }))

    it.effect("parallel batches: 0.5 s", () =>
      Effect.gen(function*() {
        const backend = yield* recorder({ latency: "500 millis" })
        const embed = yield* Batch.make({ name: "guide-par", run: backend.run, maxBatchSize: 10, window: "100 millis" })
        const out = yield* finishesAt(runAll(embed, range(100)), 500)
        assert.deepStrictEqual(out, range(100).map((n) => n * 2))
        assert.strictEqual((yield* Ref.get(backend.calls)).length, 10)
        assert.strictEqual(yield* Ref.get(backend.maxInFlight), 10)
      }).pipe(Effect.scoped))

    it.effect("records batch size, batches and items, tagged by name", () =>
      Effect.gen(function*() {
        const backend = yield* recorder()
        const embed = yield* Batch.make({
          name: "guide-metrics",
          run: backend.run,
          maxBatchSize: 10,
          window: "1 second"
        })
        const fiber = yield* Effect.fork(runAll(embed, range(95)))
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(fiber)
        const size = yield* Metric.value(Metric.tagged(Batch.metrics.size, "primitive", "guide-metrics"))
        assert.strictEqual(size.count, 10)
        assert.strictEqual(size.sum, 95)
        assert.strictEqual(size.min, 5)
        const batches = yield* Metric.value(Metric.tagged(Batch.metrics.batches, "primitive", "guide-metrics"))
        const items = yield* Metric.value(Metric.tagged(Batch.metrics.items, "primitive", "guide-metrics"))
        assert.strictEqual(batches.count, 10)
        assert.strictEqual(items.count, 95)
      }).pipe(Effect.scoped))
  })

  describe("window", () => {
    it.effect("items within the window share a batch, later ones start a new one", () =>
      Effect.gen(function*() {
        const backend = yield* recorder()
        const p = yield* Batch.make({ name: "window", run: backend.run, maxBatchSize: 100, window: "100 millis" })
        const arrive = (item: number, at: number) => Effect.fork(Effect.delay(Primitive.run(p, item), at))
        const fibers = yield* Effect.all([arrive(1, 0), arrive(2, 50), arrive(3, 99), arrive(4, 150), arrive(5, 260)])
        yield* TestClock.adjust(99)
        assert.deepStrictEqual(yield* Ref.get(backend.calls), [])
        yield* TestClock.adjust(1)
        assert.deepStrictEqual(yield* Ref.get(backend.calls), [{ at: 100, items: [1, 2, 3] }])
        yield* TestClock.adjust(400)
        assert.deepStrictEqual(yield* Ref.get(backend.calls), [
          { at: 100, items: [1, 2, 3] },
          { at: 250, items: [4] },
          { at: 360, items: [5] }
        ])
        assert.deepStrictEqual(yield* Fiber.joinAll(fibers), [2, 4, 6, 8, 10])
      }).pipe(Effect.scoped))

    it.effect("a full batch is sent at once, the rest waits for its window", () =>
      Effect.gen(function*() {
        const backend = yield* recorder()
        const p = yield* Batch.make({ name: "max", run: backend.run, maxBatchSize: 3, window: "1 second" })
        const fiber = yield* Effect.fork(runAll(p, range(7)))
        yield* TestClock.adjust(0)
        assert.deepStrictEqual(yield* Ref.get(backend.calls), [{ at: 0, items: [0, 1, 2] }, {
          at: 0,
          items: [3, 4, 5]
        }])
        yield* TestClock.adjust(999)
        assert.strictEqual((yield* Ref.get(backend.calls)).length, 2)
        yield* TestClock.adjust(1)
        assert.deepStrictEqual((yield* Ref.get(backend.calls))[2], { at: 1000, items: [6] })
        assert.deepStrictEqual(yield* Fiber.join(fiber), range(7).map((n) => n * 2))
      }).pipe(Effect.scoped))

    it.effect("a zero window sends what the running callers queued, without waiting for the clock", () =>
      Effect.gen(function*() {
        const backend = yield* recorder()
        const p = yield* Batch.make({ name: "zero", run: backend.run, maxBatchSize: 1000, window: 0 })
        const out = yield* runAll(p, range(50))
        assert.deepStrictEqual(out, range(50).map((n) => n * 2))
        const calls = yield* Ref.get(backend.calls)
        assert.isBelow(calls.length, 50)
        assert.strictEqual(calls.reduce((n, c) => n + c.items.length, 0), 50)
      }).pipe(Effect.scoped))

    it.effect("at most `concurrency` calls run at once; waiting batches go in order", () =>
      Effect.gen(function*() {
        const backend = yield* recorder({ latency: "1 second" })
        const p = yield* Batch.make({ name: "bound", run: backend.run, maxBatchSize: 2, window: 0, concurrency: 2 })
        yield* finishesAt(runAll(p, range(12)), 3_000)
        assert.strictEqual(yield* Ref.get(backend.maxInFlight), 2)
        const calls = yield* Ref.get(backend.calls)
        assert.deepStrictEqual(calls.map((c) => c.items[0]), [0, 2, 4, 6, 8, 10])
        assert.deepStrictEqual(calls.map((c) => c.at), [0, 0, 1000, 1000, 2000, 2000])
      }).pipe(Effect.scoped))
  })

  describe("results", () => {
    it.effect("a length mismatch fails every item of that batch, and only that batch", () =>
      Effect.gen(function*() {
        const backend = yield* recorder({
          answer: (items) => items.includes(0) ? items.slice(1).map((n) => n * 2) : undefined
        })
        const p = yield* Batch.make({ name: "mismatch", run: backend.run, maxBatchSize: 3, window: 0 })
        const exits = yield* Effect.forEach(range(6), (n) => Effect.exit(Primitive.run(p, n)), {
          concurrency: "unbounded"
        })
        const mismatch = new Batch.BatchSizeMismatch({ batch: "mismatch", expected: 3, actual: 2 })
        assert.deepStrictEqual(exits, [
          Exit.fail(mismatch),
          Exit.fail(mismatch),
          Exit.fail(mismatch),
          Exit.succeed(6),
          Exit.succeed(8),
          Exit.succeed(10)
        ])
      }).pipe(Effect.scoped))

    it.effect("a per-item failure fails only that item", () =>
      Effect.gen(function*() {
        const p = yield* Batch.make({
          name: "per-item",
          run: (items: ReadonlyArray<number>) =>
            Effect.succeed(items.map((n) => n % 2 === 1 ? Batch.failItem(new BadItem({ item: n })) : `ok ${n}`)),
          maxBatchSize: 10,
          window: "10 millis"
        })
        const fiber = yield* Effect.fork(
          Effect.forEach(range(4), (n) => Effect.exit(Primitive.run(p, n)), { concurrency: "unbounded" })
        )
        yield* TestClock.adjust("10 millis")
        assert.deepStrictEqual(yield* Fiber.join(fiber), [
          Exit.succeed("ok 0"),
          Exit.fail(new BadItem({ item: 1 })),
          Exit.succeed("ok 2"),
          Exit.fail(new BadItem({ item: 3 }))
        ])
      }).pipe(Effect.scoped))

    it.effect("a failed backend call fails only its own batch's items", () =>
      Effect.gen(function*() {
        const p = yield* Batch.make({
          name: "backend-down",
          run: (items: ReadonlyArray<number>) =>
            items.includes(4) ? Effect.fail(new BackendDown({ items })) : Effect.succeed(items.map(String)),
          maxBatchSize: 3,
          window: 0
        })
        const errors = yield* Effect.forEach(range(6), (n) => Effect.either(Primitive.run(p, n)), {
          concurrency: "unbounded"
        })
        assert.deepStrictEqual(errors.map((e) => e._tag === "Right" ? e.right : e.left._tag), [
          "0",
          "1",
          "2",
          "BackendDown",
          "BackendDown",
          "BackendDown"
        ])
      }).pipe(Effect.scoped))

    it.effect("a defect in the backend reaches its batch's callers as BatchBackendDefect", () =>
      Effect.gen(function*() {
        const p = yield* Batch.make({
          name: "defect",
          run: (_: ReadonlyArray<number>) => Effect.die("boom"),
          maxBatchSize: 2,
          window: 0
        })
        const error = yield* Effect.flip(Primitive.run(p, 1))
        assert.strictEqual(error._tag, "BatchBackendDefect")
        assert.isTrue(error._tag === "BatchBackendDefect" && error.cause === "boom" && error.batch === "defect")
      }).pipe(Effect.scoped))

    it.effect("dedupe sends identical keys once and answers every caller", () =>
      Effect.gen(function*() {
        const seen = yield* Ref.make<ReadonlyArray<ReadonlyArray<string>>>([])
        const p = yield* Batch.make({
          name: "dedupe",
          run: (items: ReadonlyArray<string>) =>
            Effect.as(Ref.update(seen, (s) => [...s, items]), items.map((s) => s.toUpperCase())),
          maxBatchSize: 2,
          window: "10 millis",
          dedupe: (s) => s
        })
        const fiber = yield* Effect.fork(
          Effect.forEach(["a", "b", "a", "a", "c"], (s) => Primitive.run(p, s), { concurrency: "unbounded" })
        )
        yield* TestClock.adjust("10 millis")
        assert.deepStrictEqual(yield* Fiber.join(fiber), ["A", "B", "A", "A", "C"])
        // a full batch counts unique keys: ["a", "b"] filled the first, "a" starts the second
        assert.deepStrictEqual(yield* Ref.get(seen), [["a", "b"], ["a", "c"]])
      }).pipe(Effect.scoped))
  })

  describe("interruption and closing", () => {
    it.effect("an interrupted caller leaves its pending batch", () =>
      Effect.gen(function*() {
        const backend = yield* recorder()
        const p = yield* Batch.make({ name: "leave", run: backend.run, maxBatchSize: 10, window: "100 millis" })
        const a = yield* Effect.fork(Primitive.run(p, 1))
        const b = yield* Effect.fork(Primitive.run(p, 2))
        const c = yield* Effect.fork(Primitive.run(p, 3))
        yield* TestClock.adjust(50)
        yield* Fiber.interrupt(b)
        yield* TestClock.adjust(50)
        assert.deepStrictEqual(yield* Ref.get(backend.calls), [{ at: 100, items: [1, 3] }])
        assert.deepStrictEqual(yield* Fiber.joinAll([a, c]), [2, 6])
      }).pipe(Effect.scoped))

    it.effect("when every caller of a pending batch leaves, nothing is sent", () =>
      Effect.gen(function*() {
        const backend = yield* recorder()
        const p = yield* Batch.make({ name: "all-leave", run: backend.run, maxBatchSize: 10, window: "100 millis" })
        const a = yield* Effect.fork(Primitive.run(p, 1))
        yield* TestClock.adjust(50)
        yield* Fiber.interrupt(a)
        // a new caller opens a fresh window instead of joining the old timer
        const b = yield* Effect.fork(Primitive.run(p, 2))
        yield* TestClock.adjust(60)
        assert.deepStrictEqual(yield* Ref.get(backend.calls), [])
        yield* TestClock.adjust(40)
        assert.deepStrictEqual(yield* Ref.get(backend.calls), [{ at: 150, items: [2] }])
        assert.strictEqual(yield* Fiber.join(b), 4)
      }).pipe(Effect.scoped))

    it.effect("a caller interrupted after its batch was sent: its result is dropped, the others get theirs", () =>
      Effect.gen(function*() {
        const backend = yield* recorder({ latency: "1 second" })
        const p = yield* Batch.make({ name: "sent", run: backend.run, maxBatchSize: 2, window: 0 })
        const a = yield* Effect.fork(Primitive.run(p, 1))
        const b = yield* Effect.fork(Primitive.run(p, 2))
        yield* TestClock.adjust(500)
        assert.strictEqual((yield* Ref.get(backend.calls)).length, 1)
        assert.isTrue(Exit.isInterrupted(yield* Fiber.interrupt(a)))
        yield* TestClock.adjust(500)
        assert.strictEqual(yield* Fiber.join(b), 4)
      }).pipe(Effect.scoped))

    it.effect("a backend call nobody waits for any more is interrupted", () =>
      Effect.gen(function*() {
        const interrupted = yield* Ref.make(false)
        const p = yield* Batch.make({
          name: "abandoned",
          run: (items: ReadonlyArray<number>) =>
            Effect.as(Effect.sleep("1 second"), items).pipe(Effect.onInterrupt(() => Ref.set(interrupted, true))),
          maxBatchSize: 2,
          window: 0
        })
        const fiber = yield* Effect.fork(runAll(p, [1, 2]))
        yield* TestClock.adjust(100)
        yield* Fiber.interrupt(fiber)
        assert.isTrue(yield* Ref.get(interrupted))
      }).pipe(Effect.scoped))

    it.effect("closing the scope answers pending, queued and in-flight callers with BatchClosed", () =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const backend = yield* recorder({ latency: "1 second" })
        const p = yield* Batch.make({
          name: "close",
          run: backend.run,
          maxBatchSize: 2,
          window: "1 minute",
          concurrency: 1
        })
          .pipe(Scope.extend(scope))
        // [0, 1] in flight, [2, 3] queued behind the bound, [4] pending in its window
        const fiber = yield* Effect.fork(
          Effect.forEach(range(5), (n) => Effect.flip(Primitive.run(p, n)), { concurrency: "unbounded" })
        )
        yield* TestClock.adjust(100)
        yield* Scope.close(scope, Exit.void)
        const errors = yield* Fiber.join(fiber)
        assert.deepStrictEqual(errors, Array(5).fill(new Batch.BatchClosed({ batch: "close" })))
        assert.strictEqual((yield* Ref.get(backend.calls)).length, 1)
        const late = yield* Effect.flip(Primitive.run(p, 9))
        assert.strictEqual(late._tag, "BatchClosed")
      }))

    it("invalid options throw InvalidPrimitive where they are given", () => {
      const error = (() => {
        try {
          Batch.make({
            name: "bad",
            run: (xs: ReadonlyArray<number>) => Effect.succeed(xs),
            maxBatchSize: 0,
            window: 0
          })
        } catch (e) {
          return e
        }
      })()
      assert.instanceOf(error, Primitive.InvalidPrimitive)
      assert.strictEqual((error as Primitive.InvalidPrimitive).option, "maxBatchSize")
    })
  })

  describe("forEach over a batched primitive (the list handed to the queue)", () => {
    it.effect("one backend call per batch, results in the order of the list, no fiber per item", () =>
      Effect.gen(function*() {
        const items = range(25).map((n) => (n * 7) % 25)
        const sent: Array<ReadonlyArray<number>> = []
        // the first batch answers last (150 ms), the second at once, the third at its window (100 ms)
        const run = (batch: ReadonlyArray<number>) =>
          Effect.sync(() => sent.push(batch)).pipe(
            Effect.zipRight(Effect.sleep(batch[0] === items[0] ? "150 millis" : 0)),
            Effect.as(batch.map((n) => n * 2))
          )
        const p = yield* Batch.make({ name: "each-order", run, maxBatchSize: 10, window: "100 millis" })
        let started = 0
        const counter = new (class extends Supervisor.AbstractSupervisor<void> {
          value = Effect.void
          override onStart() {
            started++
          }
        })()
        const out = yield* finishesAt(Effect.supervised(Primitive.run(Primitive.forEach(p), items), counter), 150)
        assert.deepStrictEqual(out, items.map((n) => n * 2))
        assert.deepStrictEqual(sent, [items.slice(0, 10), items.slice(10, 20), items.slice(20)])
        assert.isBelow(started, 5, "fibers started by the forEach (one per item would be 25)")
      }).pipe(Effect.scoped))

    it.effect("a per-item failure fails the forEach with it; the unanswered items are withdrawn", () =>
      Effect.gen(function*() {
        const sent: Array<ReadonlyArray<number>> = []
        const p = yield* Batch.make({
          name: "each-fail",
          run: (items: ReadonlyArray<number>) =>
            Effect.sync(() => sent.push(items)).pipe(
              Effect.zipRight(Effect.sleep("10 millis")),
              Effect.as(items.map((n) => n === 1 ? Batch.failItem(new BadItem({ item: n })) : n * 2))
            ),
          maxBatchSize: 2,
          window: "100 millis",
          concurrency: 1
        })
        const fiber = yield* Effect.fork(Effect.flip(Primitive.run(Primitive.forEach(p), range(6))))
        yield* TestClock.adjust("10 millis")
        assert.deepStrictEqual(yield* Fiber.join(fiber), new BadItem({ item: 1 }))
        yield* TestClock.adjust("1 second")
        // [0, 1] answered; [2, 3] and [4, 5] were waiting and are never sent
        assert.deepStrictEqual(sent, [[0, 1]])
      }).pipe(Effect.scoped))

    it.effect("a failed backend call fails the forEach with its error", () =>
      Effect.gen(function*() {
        const p = yield* Batch.make({
          name: "each-down",
          run: (items: ReadonlyArray<number>) => Effect.fail(new BackendDown({ items })),
          maxBatchSize: 3,
          window: 0
        })
        const error = yield* Effect.flip(Primitive.run(Primitive.forEach(p), range(5)))
        assert.deepStrictEqual(error, new BackendDown({ items: [0, 1, 2] }))
      }).pipe(Effect.scoped))

    it.effect("interrupting the forEach releases its queued items: nothing is sent, the queue serves others", () =>
      Effect.gen(function*() {
        const backend = yield* recorder()
        const p = yield* Batch.make({ name: "each-interrupt", run: backend.run, maxBatchSize: 10, window: "1 second" })
        const fiber = yield* Effect.fork(Primitive.run(Primitive.forEach(p), range(5)))
        yield* TestClock.adjust("500 millis")
        yield* Fiber.interrupt(fiber)
        yield* TestClock.adjust("1 second")
        assert.deepStrictEqual(yield* Ref.get(backend.calls), [])
        const out = yield* finishesAt(Primitive.run(Primitive.forEach(p), [7, 8]), 1_000)
        assert.deepStrictEqual(out, [14, 16])
        assert.deepStrictEqual((yield* Ref.get(backend.calls)).map((c) => c.items), [[7, 8]])
      }).pipe(Effect.scoped))

    it.effect("a concurrency of 3 keeps at most 3 items in flight, the next offered as one is answered", () =>
      Effect.gen(function*() {
        const backend = yield* recorder({ latency: "500 millis" })
        const p = yield* Batch.make({ name: "each-bound", run: backend.run, maxBatchSize: 10, window: "100 millis" })
        const out = yield* finishesAt(Primitive.run(Primitive.forEach(p, { concurrency: 3 }), range(10)), 2_400)
        assert.deepStrictEqual(out, range(10).map((n) => n * 2))
        const calls = yield* Ref.get(backend.calls)
        assert.deepStrictEqual(calls.map((c) => c.items), [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]])
        assert.deepStrictEqual(calls.map((c) => c.at), [100, 700, 1_300, 1_900])
      }).pipe(Effect.scoped))

    it.effect("an empty list, and a closed queue: BatchClosed", () =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const p = yield* Batch.make({
          name: "each-closed",
          run: (items: ReadonlyArray<number>) => Effect.succeed(items),
          maxBatchSize: 10,
          window: 0
        }).pipe(Scope.extend(scope))
        assert.deepStrictEqual(yield* Primitive.run(Primitive.forEach(p), []), [])
        yield* Scope.close(scope, Exit.void)
        const error = yield* Effect.flip(Primitive.run(Primitive.forEach(p), range(3)))
        assert.strictEqual(error._tag, "BatchClosed")
      }))
  })

  describe("chunked (the guide's list form)", () => {
    const backendList = (calls: Ref.Ref<number>) =>
      Primitive.make("embed-list", (items: ReadonlyArray<number>) =>
        Effect.as(
          Effect.zipRight(Ref.update(calls, (n) => n + 1), Effect.sleep("500 millis")),
          items.map((n) => n * 2)
        ))

    it.effect("100 items in chunks of 10 run in parallel: 10 calls, 0.5 s", () =>
      Effect.gen(function*() {
        const calls = yield* Ref.make(0)
        const p = Batch.chunked(backendList(calls), { size: 10 })
        const out = yield* finishesAt(Primitive.run(p, range(100)), 500)
        assert.deepStrictEqual(out, range(100).map((n) => n * 2))
        assert.strictEqual(yield* Ref.get(calls), 10)
      }))

    it.effect("with concurrency 1 the chunks run one after another: 5 s", () =>
      Effect.gen(function*() {
        const calls = yield* Ref.make(0)
        const p = backendList(calls).pipe(Batch.chunked({ size: 10, concurrency: 1 }))
        yield* finishesAt(Primitive.run(p, range(100)), 5_000)
        assert.strictEqual(p.kind, "batch")
        assert.deepStrictEqual(p.children.map((c) => c.name), ["embed-list"])
      }))

    it.effect("a chunk answered with the wrong length fails with BatchSizeMismatch", () =>
      Effect.gen(function*() {
        const short = Primitive.fromFunction("short", (items: ReadonlyArray<number>) => items.slice(1))
        const error = yield* Effect.flip(Primitive.run(Batch.chunked(short, { size: 4 }), range(8)))
        assert.strictEqual(error._tag, "BatchSizeMismatch")
        assert.deepStrictEqual({ ...error } as object, {
          _tag: "BatchSizeMismatch",
          batch: "short",
          expected: 4,
          actual: 3
        })
      }))
  })

  describe("as a RequestResolver", () => {
    it.effect("Effect.request goes through the same queue", () =>
      Effect.gen(function*() {
        const backend = yield* recorder()
        const p = yield* Batch.make({ name: "resolver", run: backend.run, maxBatchSize: 10, window: "10 millis" })
        const resolver = Batch.resolver(p)
        const fiber = yield* Effect.fork(
          Effect.forEach(range(5), (n) => Effect.request(Batch.request(p, n), resolver), { batching: true })
        )
        yield* TestClock.adjust("10 millis")
        assert.deepStrictEqual(yield* Fiber.join(fiber), [0, 2, 4, 6, 8])
        assert.deepStrictEqual(yield* Ref.get(backend.calls), [{ at: 10, items: [0, 1, 2, 3, 4] }])
      }).pipe(Effect.scoped))
  })
})
