import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as Cache from "../src/Cache.js"
import * as Lru from "../src/internal/cacheLru.js"
import * as Primitive from "../src/Primitive.js"
import * as Tracing from "../src/Tracing.js"
import * as WorkflowContext from "../src/WorkflowContext.js"

class Upstream extends Schema.TaggedError<Upstream>()("Upstream", { input: Schema.String }) {}

/** A primitive that counts its calls and takes `latency` of virtual time. */
const counted = (name: string, latency: Duration.DurationInput = "2 seconds") =>
  Effect.map(Ref.make(0), (calls) => ({
    calls,
    primitive: Primitive.make(name, (input: string) =>
      Effect.zipRight(
        Effect.zipRight(Ref.update(calls, (n) => n + 1), Effect.sleep(latency)),
        Effect.succeed(`answer to ${input}`)
      )).pipe(Primitive.annotate({ costPerCall: 0.01 }))
  }))

const Memory = Cache.layerMemory({ capacity: 1000 })

describe("Cache (memory tier)", () => {
  it.effect("the guide's scenario: 100 queries, 50 distinct twice -> 100 s and $0.50 instead of 200 s and $1.00", () =>
    Effect.gen(function*() {
      const { calls, primitive } = yield* counted("llm")
      const cached = primitive.pipe(Cache.wrap({ ttl: "1 hour", capacity: 10_000 }))
      const queries = Array.from({ length: 100 }, (_, i) => `query ${i % 50}`)
      const run = (p: Primitive.Primitive<string, string, any, any>) =>
        Effect.gen(function*() {
          const start = yield* Clock.currentTimeMillis
          for (const q of queries) yield* Primitive.run(p, q)
          return (yield* Clock.currentTimeMillis) - start
        })
      const uncachedFiber = yield* Effect.fork(run(primitive))
      yield* TestClock.adjust("200 seconds")
      const uncachedMs = yield* Fiber.join(uncachedFiber)
      const uncachedCalls = yield* Ref.getAndSet(calls, 0)

      const cachedFiber = yield* Effect.fork(run(cached))
      yield* TestClock.adjust("200 seconds")
      const cachedMs = yield* Fiber.join(cachedFiber)
      const cachedCalls = yield* Ref.get(calls)
      const stats = yield* Cache.stats(cached)

      assert.strictEqual(uncachedMs, 200_000)
      assert.strictEqual(uncachedCalls * 0.01, 1)
      assert.strictEqual(cachedMs, 100_000)
      assert.strictEqual(cachedCalls, 50)
      assert.closeTo(cachedCalls * 0.01, 0.5, 1e-9)
      assert.deepStrictEqual(stats.hits, { memory: 50 })
      assert.strictEqual(stats.misses, 50)
      assert.strictEqual(stats.hitRate, 0.5)
      assert.closeTo(stats.costSaved, 0.5, 1e-9)
      assert.strictEqual(Duration.toMillis(stats.timeSaved), 100_000)
    }).pipe(Effect.provide(Memory)))

  it.effect("is a primitive named cache(<name>) whose child is the wrapped one", () =>
    Effect.gen(function*() {
      const { primitive } = yield* counted("step")
      const cached = Cache.wrap(primitive, {})
      assert.strictEqual(cached.name, "cache(step)")
      assert.strictEqual(cached.kind, "cache")
      assert.deepStrictEqual(cached.children, [primitive])
      assert.isTrue(Primitive.isPrimitive(cached))
    }))

  it.effect("an entry expires after its TTL (virtual time)", () =>
    Effect.gen(function*() {
      const { calls, primitive } = yield* counted("ttl", 0)
      const cached = primitive.pipe(Cache.wrap({ ttl: "10 seconds" }))
      yield* cached.run("a")
      yield* TestClock.adjust("9999 millis")
      yield* cached.run("a")
      assert.strictEqual(yield* Ref.get(calls), 1)
      yield* TestClock.adjust("1 millis")
      yield* cached.run("a")
      assert.strictEqual(yield* Ref.get(calls), 2)
      const stats = yield* Cache.stats(cached)
      assert.strictEqual(stats.expirations, 1)
      assert.strictEqual(stats.misses, 2)
    }).pipe(Effect.provide(Memory)))

  it.effect("evicts the least recently used entry beyond capacity", () =>
    Effect.gen(function*() {
      const { calls, primitive } = yield* counted("lru", 0)
      const cached = primitive.pipe(Cache.wrap({ capacity: 3 }))
      for (const k of ["a", "b", "c"]) yield* cached.run(k)
      yield* cached.run("a") // a becomes most recent: b is now the oldest
      yield* cached.run("d") // evicts b
      assert.strictEqual(yield* Ref.get(calls), 4)
      yield* cached.run("a")
      yield* cached.run("c")
      yield* cached.run("d")
      assert.strictEqual(yield* Ref.get(calls), 4)
      yield* cached.run("b")
      assert.strictEqual(yield* Ref.get(calls), 5)
      const stats = yield* Cache.stats(cached)
      assert.strictEqual(stats.evictions, 2)
      assert.strictEqual(stats.size, 3)
    }).pipe(Effect.provide(Memory)))

  it("the LRU keeps recency order and reuses freed slots", () => {
    const lru = Lru.make(3)
    lru.set("a", 1, Infinity, 0)
    lru.set("b", 2, Infinity, 0)
    lru.set("c", 3, Infinity, 0)
    assert.isAtLeast(lru.lookup("a", 0), 0)
    assert.deepStrictEqual(lru.keys(), ["b", "c", "a"])
    assert.strictEqual(lru.set("d", 4, Infinity, 0), 1)
    assert.deepStrictEqual(lru.keys(), ["c", "a", "d"])
    assert.isTrue(lru.delete("a"))
    lru.set("e", 5, 10, 0)
    assert.deepStrictEqual(lru.keys(), ["c", "d", "e"])
    assert.strictEqual(lru.lookup("e", 10), -2)
    assert.strictEqual(lru.lookup("e", 10), -1)
    assert.strictEqual(lru.size(), 2)
    // Grows past its initial allocation without losing entries.
    const big = Lru.make(1000)
    for (let i = 0; i < 1000; i++) big.set(`k${i}`, i, Infinity, 0)
    assert.strictEqual(big.valueAt(big.lookup("k0", 0)), 0)
    assert.strictEqual(big.valueAt(big.lookup("k999", 0)), 999)
  })

  it.effect("failures are not cached by default", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const failing = Primitive.make("flaky", (input: string) =>
        Effect.flatMap(
          Ref.updateAndGet(calls, (n) => n + 1),
          (n) => n === 1 ? Effect.fail(new Upstream({ input })) : Effect.succeed(`ok ${input}`)
        ))
      const cached = failing.pipe(Cache.wrap({}))
      const first = yield* Effect.flip(cached.run("x"))
      assert.strictEqual(first._tag, "Upstream")
      assert.strictEqual(yield* cached.run("x"), "ok x")
      assert.strictEqual(yield* cached.run("x"), "ok x")
      assert.strictEqual(yield* Ref.get(calls), 2)
    }).pipe(Effect.provide(Memory)))

  it.effect("cacheFailures keeps a failure until its TTL", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const failing = Primitive.make("broken", (input: string) =>
        Effect.zipRight(Ref.update(calls, (n) => n + 1), Effect.fail(new Upstream({ input }))))
      const cached = failing.pipe(Cache.wrap({ cacheFailures: true, ttl: "1 minute", memoryOnly: true }))
      const a = yield* Effect.flip(cached.run("x"))
      const b = yield* Effect.flip(cached.run("x"))
      assert.strictEqual(a._tag, "Upstream")
      assert.strictEqual(a.input, "x")
      assert.strictEqual(b, a)
      assert.strictEqual(yield* Ref.get(calls), 1)
      yield* TestClock.adjust("1 minute")
      yield* Effect.exit(cached.run("x"))
      assert.strictEqual(yield* Ref.get(calls), 2)
    }).pipe(Effect.provide(Memory)))

  it.effect("the guide's normalizer: three phrasings share one entry", () =>
    Effect.gen(function*() {
      assert.strictEqual(Cache.normalizeText("What is Python?"), "is python what")
      assert.strictEqual(Cache.normalizeText("  what   is\tpython "), "is python what")
      assert.strictEqual(Cache.normalizeText("python what is"), "is python what")
      assert.strictEqual(Cache.normalizeText("Ça va, Zoë?"), "va zoë ça")
      const { calls, primitive } = yield* counted("ask", 0)
      const cached = primitive.pipe(Cache.wrap({ key: Cache.normalizedKey }))
      const a = yield* cached.run("What is Python?")
      const b = yield* cached.run("what is python")
      const c = yield* cached.run("python what is")
      assert.strictEqual(yield* Ref.get(calls), 1)
      assert.strictEqual(a, "answer to What is Python?")
      assert.strictEqual(b, a)
      assert.strictEqual(c, a)
    }).pipe(Effect.provide(Memory)))

  it.effect("the default key ignores object key order but not values", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const p = Primitive.make("obj", (input: { readonly q: string; readonly n: number; readonly o?: unknown }) =>
        Effect.as(
          Ref.update(calls, (n) =>
            n + 1),
          input.q
        ))
      const cached = p.pipe(Cache.wrap({}))
      yield* cached.run({ q: "a", n: 1, o: { x: [1, 2], y: null } })
      yield* cached.run({ o: { y: null, x: [1, 2] }, n: 1, q: "a" })
      assert.strictEqual(yield* Ref.get(calls), 1)
      yield* cached.run({ q: "a", n: 2 })
      yield* cached.run({ q: "a", n: 1, o: { x: [2, 1], y: null } })
      assert.strictEqual(yield* Ref.get(calls), 3)
      assert.strictEqual(Cache.defaultKey({ a: 1, b: undefined }), Cache.defaultKey({ a: 1 }))
      assert.notStrictEqual(Cache.defaultKey("1"), Cache.defaultKey(1))
      assert.isTrue(Cache.defaultKey("x".repeat(1000)).startsWith("#sha256:"))
      assert.isAtMost(Cache.defaultKey("x".repeat(1000)).length, 60)
    }).pipe(Effect.provide(Memory)))

  it.effect("a new version never serves the old version's entries", () =>
    Effect.gen(function*() {
      const { calls, primitive } = yield* counted("prompt", 0)
      yield* primitive.pipe(Cache.wrap({ namespace: "answers", version: 1 })).run("q")
      yield* primitive.pipe(Cache.wrap({ namespace: "answers", version: 1 })).run("q")
      assert.strictEqual(yield* Ref.get(calls), 1)
      yield* primitive.pipe(Cache.wrap({ namespace: "answers", version: 2 })).run("q")
      assert.strictEqual(yield* Ref.get(calls), 2)
    }).pipe(Effect.provide(Memory)))

  it.effect("invalidate removes one input; clear removes a namespace", () =>
    Effect.gen(function*() {
      const { calls, primitive } = yield* counted("inv", 0)
      const cached = primitive.pipe(Cache.wrap({}))
      yield* cached.run("a")
      yield* cached.run("b")
      yield* Cache.invalidate(cached, "a")
      yield* cached.run("a")
      yield* cached.run("b")
      assert.strictEqual(yield* Ref.get(calls), 3)
      yield* Cache.clear("inv")
      yield* cached.run("a")
      yield* cached.run("b")
      assert.strictEqual(yield* Ref.get(calls), 5)
    }).pipe(Effect.provide(Memory)))

  it.effect("1000 concurrent identical calls make one upstream call", () =>
    Effect.gen(function*() {
      const { calls, primitive } = yield* counted("sf")
      const cached = primitive.pipe(Cache.wrap({}))
      const fiber = yield* Effect.fork(
        Effect.forEach(Array.from({ length: 1000 }), () => cached.run("same"), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust("2 seconds")
      const results = yield* Fiber.join(fiber)
      assert.strictEqual(results.length, 1000)
      assert.isTrue(results.every((r) => r === "answer to same"))
      assert.strictEqual(yield* Ref.get(calls), 1)
      const stats = yield* Cache.stats(cached)
      assert.strictEqual(stats.misses, 1)
      assert.strictEqual(stats.coalesced, 999)
      assert.closeTo(stats.costSaved, 9.99, 1e-9)
    }).pipe(Effect.provide(Memory)))

  it.effect("an interrupted caller does not cancel the computation for the others; the last one leaving does", () =>
    Effect.gen(function*() {
      const started = yield* Ref.make(0)
      const interrupted = yield* Ref.make(0)
      const p = Primitive.make(
        "slow",
        (input: string) =>
          Effect.zipRight(Ref.update(started, (n) => n + 1), Effect.sleep("10 seconds")).pipe(
            Effect.as(input),
            Effect.onInterrupt(() => Ref.update(interrupted, (n) => n + 1))
          )
      )
      const cached = p.pipe(Cache.wrap({}))
      const a = yield* Effect.fork(cached.run("k"))
      const b = yield* Effect.fork(cached.run("k"))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(a)
      yield* TestClock.adjust("9 seconds")
      assert.strictEqual(yield* Fiber.join(b), "k")
      assert.strictEqual(yield* Ref.get(started), 1)
      assert.strictEqual(yield* Ref.get(interrupted), 0)

      const c = yield* Effect.fork(cached.run("other"))
      const d = yield* Effect.fork(cached.run("other"))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(c)
      yield* Fiber.interrupt(d)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* Ref.get(started), 2)
      assert.strictEqual(yield* Ref.get(interrupted), 1)
      // The abandoned computation left nothing behind: the next call starts afresh.
      const e = yield* Effect.fork(cached.run("other"))
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(yield* Fiber.join(e), "other")
      assert.strictEqual(yield* Ref.get(started), 3)
    }).pipe(Effect.provide(Memory)))

  it.effect("records misses on the run's timeline, and L1 hits only when asked (checkpoints: true)", () =>
    Effect.gen(function*() {
      const { primitive } = yield* counted("cp", 0)
      const cached = primitive.pipe(Cache.wrap({ checkpoints: true }))
      const names = yield* Effect.gen(function*() {
        yield* cached.run("a")
        yield* cached.run("a")
        return (yield* WorkflowContext.timeline).map((c) => c.name)
      }).pipe(WorkflowContext.withContext())
      assert.deepStrictEqual(names, ["cache.miss", "cache.l1.hit"])
      // The default: an L1 hit costs less than its checkpoint would (issue 16), so none is recorded.
      const quiet = primitive.pipe(Cache.wrap({ namespace: "cp-quiet" }))
      const quietNames = yield* Effect.gen(function*() {
        yield* quiet.run("a")
        yield* quiet.run("a")
        return (yield* WorkflowContext.timeline).map((c) => c.name)
      }).pipe(WorkflowContext.withContext())
      assert.deepStrictEqual(quietNames, ["cache.miss"])
    }).pipe(Effect.provide(Memory)))

  it.effect("exports Effect metrics tagged with the primitive and tier", () =>
    Effect.gen(function*() {
      const { primitive } = yield* counted("metered", 0)
      const cached = primitive.pipe(Cache.wrap({}))
      yield* cached.run("a")
      yield* cached.run("a")
      yield* cached.run("a")
      const hits = yield* Metric.value(
        Cache.metrics.hits.pipe(Metric.tagged("primitive", "metered"), Metric.tagged("tier", "memory"))
      )
      const misses = yield* Metric.value(Cache.metrics.misses.pipe(Metric.tagged("primitive", "metered")))
      const saved = yield* Metric.value(Cache.metrics.costSaved.pipe(Metric.tagged("primitive", "metered")))
      assert.strictEqual(hits.count, 2)
      assert.strictEqual(misses.count, 1)
      assert.closeTo(saved.count, 0.02, 1e-9)
    }).pipe(Effect.provide(Memory)))

  it.effect("makeStore: a keyed view with get, set, invalidate and getOrCompute", () =>
    Effect.gen(function*() {
      const store = yield* Cache.makeStore({
        namespace: "replay",
        schema: Schema.Array(Schema.String),
        ttl: "1 minute"
      })
      assert.deepStrictEqual(yield* store.get("k"), Option.none())
      yield* store.set("k", ["a", "b"])
      assert.deepStrictEqual(yield* store.get("k"), Option.some(["a", "b"]))
      yield* store.set("short", ["x"], "1 second")
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* store.get("short"), Option.none())
      yield* store.invalidate("k")
      assert.deepStrictEqual(yield* store.get("k"), Option.none())
      const computed = yield* Deferred.make<void>()
      const v = yield* store.getOrCompute("c", Effect.as(Deferred.succeed(computed, undefined), ["c"]))
      const w = yield* store.getOrCompute("c", Effect.die("not called"))
      assert.deepStrictEqual(v, ["c"])
      assert.deepStrictEqual(w, ["c"])
      const stats = yield* store.stats
      assert.strictEqual(stats.hits["memory"], 2)
      assert.strictEqual(stats.expirations, 1)
    }).pipe(Effect.provide(Memory)))

  it.effect("a run is a span named cache(<name>) around the wrapped one's; none when tracing is off", () =>
    Effect.gen(function*() {
      const parents: Array<string> = []
      const step = Primitive.make("traced", (q: string) =>
        Effect.map(Effect.currentSpan, (span) => {
          parents.push(span.parent._tag === "Some" ? (span.parent.value as any).name : "")
          return q
        }))
      const cached = step.pipe(Cache.wrap({}))
      yield* cached.run("a")
      assert.deepStrictEqual(parents, ["cache(traced)"])
      const probe = Primitive.make("probe", (_: string) => Effect.option(Effect.currentSpan))
      const quiet = yield* probe.pipe(Cache.wrap({})).run("x").pipe(Effect.withTracerEnabled(false))
      assert.strictEqual(quiet._tag, "None")
    }).pipe(Effect.provide(Memory), Effect.provide(Tracing.layerMemory())))

  it.effect("a cached primitive without CacheTiers is a defect naming the missing service", () =>
    Effect.gen(function*() {
      const { primitive } = yield* counted("orphan", 0)
      const exit = yield* Effect.exit(primitive.pipe(Cache.wrap({})).run("a") as Effect.Effect<string>)
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
      assert.include(String(Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""), "CacheTiers")
    }))

  it("an invalid capacity or TTL is reported where the cache is defined", () => {
    const p = Primitive.fromFunction("p", (s: string) => s)
    assert.throws(() => Cache.wrap(p, { capacity: 0 }), /option "capacity" must be an integer >= 1, got 0/)
    assert.throws(() => Cache.wrap(p, { ttl: 0 }), /option "ttl" must be a positive duration/)
  })
})
