/**
 * The miss path's contract (src/internal/cacheFlight.ts): the computation runs
 * in a fiber of its own that belongs to no scope, so these check what the
 * scope used to give for free: closing the layer interrupts it, whatever
 * region its caller was in; and what the cheaper path must keep: a
 * synchronous computation answers at once, the cost ledger is charged once,
 * the computation sees its caller's fiber refs and run context.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as Cache from "../src/Cache.js"
import * as Cost from "../src/Cost.js"
import * as CostLedger from "../src/internal/costLedger.js"
import * as Primitive from "../src/Primitive.js"
import * as WorkflowContext from "../src/WorkflowContext.js"

/** A computation that never ends on its own, counting its starts and interruptions. */
const endless = Effect.gen(function*() {
  const started = yield* Ref.make(0)
  const interrupted = yield* Ref.make(0)
  const primitive = Primitive.make(
    "endless",
    (input: string) =>
      Effect.zipRight(Ref.update(started, (n) => n + 1), Effect.never).pipe(
        Effect.as(input),
        Effect.onInterrupt(() => Ref.update(interrupted, (n) => n + 1))
      )
  )
  return { started, interrupted, cached: primitive.pipe(Cache.wrap({})) }
})

describe("Cache miss path", () => {
  it.effect("closing the layer interrupts a computation in flight, and its callers", () =>
    Effect.gen(function*() {
      const { cached, interrupted, started } = yield* endless
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(Cache.layerMemory({ capacity: 10 }), scope)
      const a = yield* Effect.fork(Effect.provide(cached.run("k"), context))
      const b = yield* Effect.fork(Effect.provide(cached.run("k"), context))
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Ref.get(started), 1)
      assert.strictEqual(yield* Ref.get(interrupted), 0)
      yield* Scope.close(scope, Exit.void)
      // The layer's finalizer waited for the computation to end.
      assert.strictEqual(yield* Ref.get(interrupted), 1)
      assert.isTrue(Exit.isInterrupted(yield* Fiber.await(a)))
      assert.isTrue(Exit.isInterrupted(yield* Fiber.await(b)))
    }))

  it.effect("a computation started from an uninterruptible caller can still be interrupted by the layer", () =>
    Effect.gen(function*() {
      const { cached, interrupted } = yield* endless
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(Cache.layerMemory({ capacity: 10 }), scope)
      // A daemon: a broken finalizer must not leave the test waiting on an uninterruptible child.
      const caller = yield* Effect.forkDaemon(Effect.uninterruptible(Effect.provide(cached.run("k"), context)))
      yield* TestClock.adjust("1 second")
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(yield* Ref.get(interrupted), 1)
      assert.isTrue(Exit.isInterrupted(yield* Fiber.await(caller)))
    }))

  it.effect("a synchronous computation answers in the caller's step; identical calls after it hit L1", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const cached = Primitive.make("sync", (q: string) => Effect.as(Ref.update(calls, (n) => n + 1), `answer ${q}`))
        .pipe(Cache.wrap({}))
      const results = yield* Effect.all(Array.from({ length: 100 }, () => cached.run("q")), {
        concurrency: "unbounded"
      })
      assert.isTrue(results.every((r) => r === "answer q"))
      assert.strictEqual(yield* Ref.get(calls), 1)
      const stats = yield* Cache.stats(cached)
      assert.strictEqual(stats.misses, 1)
      assert.strictEqual(stats.hits["memory"], 99)
      // A typed failure of a synchronous computation reaches the caller as it is.
      const failing = Primitive.make("failing", (q: string) => Effect.fail(`no ${q}`)).pipe(Cache.wrap({}))
      assert.strictEqual(yield* Effect.flip(failing.run("x")), "no x")
    }).pipe(Effect.provide(Cache.layerMemory({ capacity: 10 }))))

  it.effect("the computation charges the caller's ledgers once, and its own cost is what joiners save", () =>
    Effect.gen(function*() {
      const cached = Primitive.make(
        "charged",
        (q: string) => Effect.as(Effect.zipRight(CostLedger.charge({ costUsd: 0.05 }), Effect.sleep("1 second")), q)
      )
        .pipe(Cache.wrap({}))
      const fiber = yield* Effect.fork(
        Cost.measure(Effect.all([cached.run("a"), cached.run("a"), cached.run("a")], { concurrency: "unbounded" }))
      )
      yield* TestClock.adjust("1 second")
      const [, spend] = yield* Fiber.join(fiber)
      assert.closeTo(spend.costUsd, 0.05, 1e-12)
      assert.strictEqual(spend.calls, 1)
      const stats = yield* Cache.stats(cached)
      assert.strictEqual(stats.coalesced, 2)
      assert.closeTo(stats.costSaved, 0.1, 1e-12)
    }).pipe(Effect.provide(Cache.layerMemory({ capacity: 10 }))))

  it.effect("the computation sees its caller's fiber refs, and marks the caller's run", () =>
    Effect.gen(function*() {
      const ref = FiberRef.unsafeMake("default")
      const cached = Primitive.make("seen", (_: string) => FiberRef.get(ref)).pipe(Cache.wrap({}))
      const [seen, names] = yield* Effect.gen(function*() {
        const seen = yield* Effect.locally(cached.run("a"), ref, "caller's")
        return [seen, (yield* WorkflowContext.timeline).map((c) => c.name)] as const
      }).pipe(WorkflowContext.withContext())
      assert.strictEqual(seen, "caller's")
      assert.deepStrictEqual(names, ["cache.miss"])
    }).pipe(Effect.provide(Cache.layerMemory({ capacity: 10 }))))
})

describe("Cache miss path, nested", () => {
  it.effect("a cached primitive that calls itself 5,000 deep (each call a miss) does not overflow the stack", () =>
    Effect.gen(function*() {
      // `MissingSchema`: the type says so for any cached primitive; a memory layer never fails with it.
      const sum: Primitive.Primitive<number, number, Cache.MissingSchema, Cache.CacheTiers> = Primitive.make(
        "sum",
        (n: number): Effect.Effect<number, Cache.MissingSchema, Cache.CacheTiers> =>
          n === 0 ? Effect.succeed(0) : Effect.map(cachedSum.run(n - 1), (s) => s + n)
      )
      const cachedSum = sum.pipe(Cache.wrap({ key: (n: number) => String(n) }))
      assert.strictEqual(yield* cachedSum.run(5_000), (5_000 * 5_001) / 2)
      const stats = yield* Cache.stats(cachedSum)
      assert.strictEqual(stats.misses, 5_001)
    }).pipe(Effect.provide(Cache.layerMemory({ capacity: 10_000 }))))
})

describe("Cache miss path, metrics", () => {
  it.effect("misses and coalesced calls reach the public metrics, tagged by primitive", () =>
    Effect.gen(function*() {
      const name = `metered-${Math.random().toString(36).slice(2)}`
      const slow = Primitive.make(name, (n: number) => Effect.as(Effect.sleep("10 millis"), n))
      const cached = Cache.wrap(slow, {})
      const fibers = yield* Effect.forEach([1, 1, 2], (n) => Effect.fork(Primitive.run(cached, n)))
      yield* TestClock.adjust("10 millis")
      yield* Effect.forEach(fibers, Fiber.join)
      const value = (metric: Metric.Metric.Counter<number>) =>
        Effect.map(Metric.value(Metric.tagged(metric, "primitive", name)), (state) => state.count)
      assert.strictEqual(yield* value(Cache.metrics.misses), 2)
      assert.strictEqual(yield* value(Cache.metrics.coalesced), 1)
    }).pipe(Effect.provide(Cache.layerMemory())))

  it.effect("evictions reach the public metric, tagged by primitive", () =>
    Effect.gen(function*() {
      const name = `evicting-${Math.random().toString(36).slice(2)}`
      const cached = Cache.wrap(Primitive.fromFunction(name, (n: number) => n), {})
      for (const n of [1, 2, 3]) yield* Primitive.run(cached, n)
      const state = yield* Metric.value(Metric.tagged(Cache.metrics.evictions, "primitive", name))
      assert.strictEqual(state.count, 2)
    }).pipe(Effect.provide(Cache.layerMemory({ capacity: 1 }))))
})
