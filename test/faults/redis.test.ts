/**
 * The Redis tier under faults, on a redis-server this suite starts itself
 * (never the shared one): frozen (SIGSTOP) at start and mid-run, partitioned
 * (a black hole at start, a proxy that holds every byte mid-run), killed,
 * and leases left behind without expiry. Each case asserts a bound on every
 * call's time and that every answer is right.
 *
 * The frozen cases also assert what only a frozen server does: entries
 * written to Redis beforehand (by a layer of their own) are not found, the
 * tier's operations fail or time out and its circuit stays open (counted).
 * A freeze that did nothing would find them, and fail these cases.
 *
 * Real time on purpose: the faults are real processes and sockets. Bounds
 * carry a slack for a loaded 2-core CI machine; the defect they guard
 * against kept calls running for seconds (until Redis came back).
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import { Redis } from "ioredis"
import * as Cache from "../../src/Cache.js"
import * as CacheRedis from "../../src/Cache/Redis.js"
import * as Primitive from "../../src/Primitive.js"
import { type RedisServer as OwnRedis, startRedis as startOwnRedis } from "../support/cacheRedisServer.js"
import { type BlackHole, type Proxy, startBlackHole, startProxy } from "../support/redisFaults.js"

const started: { redis: Array<OwnRedis>; proxies: Array<Proxy>; holes: Array<BlackHole> } = {
  redis: [],
  proxies: [],
  holes: []
}
afterAll(async () => {
  for (const p of started.proxies) await p.close()
  for (const h of started.holes) await h.close()
  // `kill` sends SIGCONT first, so a frozen server can exit.
  for (const r of started.redis) await r.kill()
})

const ownRedis = () => Effect.promise(() => startOwnRedis().then((r) => (started.redis.push(r), r)))
const proxyTo = (port: number) => Effect.promise(() => startProxy(port).then((p) => (started.proxies.push(p), p)))
const blackHole = () => Effect.promise(() => startBlackHole().then((h) => (started.holes.push(h), h)))

const tierTimeoutMs = 250
const computeMs = 20
// Scheduling slack: the suite was written on 2 cores with a load average above 20, where a burst of 100
// calls with no Redis at all took 0.5-1.4 s. So a burst is bounded against a baseline burst measured
// just before on a memory-only layer: at most twice it, plus one tier timeout, plus this slack. The
// defect this guards against kept calls running until Redis came back (here it stays frozen).
const slackMs = 500
const bound = (baselineMs: number) => 2 * baselineMs + tierTimeoutMs + slackMs

let namespaces = 0
const fixture = (latency = computeMs) =>
  Effect.map(Ref.make(0), (computed) => ({
    computed,
    cached: Primitive.make(
      "faulty",
      (q: string) =>
        Effect.zipRight(Ref.update(computed, (n) => n + 1), Effect.as(Effect.sleep(latency), `answer ${q}`))
    ).pipe(Cache.wrap({ schema: Schema.String, namespace: `redis-faults-${process.pid}-${namespaces++}` }))
  }))

const tiers = (url: string, timeoutMs = tierTimeoutMs) =>
  Cache.layer(
    Cache.memory(),
    CacheRedis.tier({ url, timeout: `${timeoutMs} millis`, lease: { ttl: "2 seconds", poll: "10 millis" } })
  )

type Cached = Effect.Effect.Success<ReturnType<typeof fixture>>["cached"]
type Result = { readonly ms: number; readonly right: boolean }

/** Runs `inputs` concurrently; returns each call's time and whether its answer was right. */
const burst = (cached: Cached, inputs: ReadonlyArray<string>) =>
  Effect.forEach(inputs, (q) =>
    Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      const answer = yield* cached.run(q)
      return { ms: (yield* Clock.currentTimeMillis) - start, right: answer === `answer ${q}` }
    }), { concurrency: "unbounded" })

const slowest = (results: ReadonlyArray<Result>) => Math.max(...results.map((r) => r.ms))

/**
 * Computes `inputs` through a layer of their own (its memory tier closed
 * after), so that another layer can find them only in Redis; checks with a
 * client of the test's own that every entry is there. Returns how many.
 */
const inRedis = (cached: Cached, inputs: ReadonlyArray<string>, url: string) =>
  Effect.gen(function*() {
    // A tier time no load reaches (the suite's 250 ms was seen to open the circuit here, under load).
    assert.isTrue((yield* Effect.provide(burst(cached, inputs), tiers(url, 10_000))).every((r) => r.right))
    const keys = [...new Set(inputs)].map((q) => `flowtune:cache:${cached[Cache.TypeId].namespace}:1:${q}`)
    const found = yield* Effect.acquireUseRelease(
      Effect.sync(() => new Redis(url, { maxRetriesPerRequest: 1 })),
      (raw) => Effect.promise(() => raw.exists(...keys)),
      (raw) => Effect.sync(() => raw.disconnect())
    )
    assert.strictEqual(found, keys.length, "entries written to Redis before the freeze")
    return found
  })

/** Redis hits of a cached primitive (none recorded reads as 0). */
const redisHits = (cached: Cached) => Effect.map(Cache.stats(cached), (stats) => stats.hits["redis"] ?? 0)

/** The slowest of `inputs` on a memory-only layer, now: what the machine's load alone costs a burst. */
const baseline = (inputs: ReadonlyArray<string>) =>
  Effect.flatMap(
    fixture(),
    ({ cached }) => Effect.map(Effect.provide(burst(cached, inputs), Cache.layerMemory()), slowest)
  )

/** Asserts a burst's answers and its bound, and logs the figures (for the report). */
const check = (label: string, results: ReadonlyArray<Result>, baselineMs: number) => {
  const maxMs = slowest(results)
  console.log(`redis fault "${label}": slowest ${maxMs} ms (baseline ${baselineMs} ms, bound ${bound(baselineMs)} ms)`)
  assert.strictEqual(results.filter((r) => !r.right).length, 0, `${label}: wrong answers`)
  assert.isBelow(maxMs, bound(baselineMs), `${label}: slowest call ${maxMs} ms`)
}

// 100 calls, 50 keys twice: callers that join a computation in flight must be bounded too.
const hundred = (tag: string) => Array.from({ length: 100 }, (_, i) => `${tag}-${i % 50}`)

describe("Redis frozen, partitioned, killed: every call bounded, every answer right", () => {
  it.live("frozen (SIGSTOP) at start", () =>
    Effect.gen(function*() {
      const redis = yield* ownRedis()
      const { cached, computed } = yield* fixture()
      // The 50 answers are in Redis: a live Redis would answer every call of the burst below.
      yield* inRedis(cached, hundred("a"), redis.url)
      redis.freeze()
      const t0 = yield* Clock.currentTimeMillis
      const runtime = ManagedRuntime.make(tiers(redis.url))
      yield* Effect.addFinalizer(() => Effect.promise(() => runtime.dispose()))
      yield* Effect.promise(() => runtime.runPromise(Effect.void))
      // The first connection is awaited 1 s and no more: a frozen server never answers its ready check.
      const startMs = (yield* Clock.currentTimeMillis) - t0
      assert.isAtLeast(startMs, 950, "the layer waited for a ready check")
      assert.isBelow(startMs, 1_000 + slackMs)
      const base = yield* baseline(hundred("a"))
      check("frozen at start", yield* Effect.promise(() => runtime.runPromise(burst(cached, hundred("a")))), base)
      const stats = yield* Effect.promise(() => runtime.runPromise(Cache.stats(cached)))
      // Redis answered nothing: every key computed again; the tier's first operations failed (not connected,
      // no offline queue) and opened its circuit, which no probe closed, so the rest were skipped.
      assert.strictEqual(stats.hits["redis"] ?? 0, 0)
      assert.strictEqual(yield* Ref.get(computed), 50 + 50)
      assert.isAtLeast(stats.tierErrors["redis"]!, 1)
      assert.isAtLeast(stats.tierSkipped["redis"]!, 50)
    }).pipe(Effect.scoped), { timeout: 20_000 })

  it.live(
    "frozen (SIGSTOP) mid-run, then thawed: bounded while frozen, the tier is used again after",
    () =>
      Effect.gen(function*() {
        const redis = yield* ownRedis()
        const { cached, computed } = yield* fixture()
        yield* Effect.gen(function*() {
          const warm = yield* burst(cached, ["w-1", "w-2", "w-3"])
          assert.isTrue(warm.every((r) => r.right))
          // The "b" answers are in Redis only (not in this layer's memory): a live Redis would answer them.
          yield* inRedis(cached, hundred("b"), redis.url)
          const base = yield* baseline(hundred("b"))
          redis.freeze()
          check("frozen mid-run", yield* burst(cached, [...hundred("b"), "w-1", "w-2"]), base)
          // The circuit is open now: the next calls do not wait for Redis at all.
          check("frozen, circuit open", yield* burst(cached, hundred("c")), base)
          const stats = yield* Cache.stats(cached)
          // Frozen, Redis answered nothing: "b" computed again (w-1 and w-2 from memory), reads timed out
          // (counted) and opened the circuit; no probe closed it, so the "c" calls skipped the tier.
          assert.strictEqual(stats.hits["redis"] ?? 0, 0)
          assert.strictEqual(stats.hits["memory"], 2)
          assert.strictEqual(yield* Ref.get(computed), 3 + 50 + 50 + 50)
          assert.isAtLeast(stats.tierErrors["redis"]!, 1)
          assert.isAtLeast(stats.tierSkipped["redis"]!, 50)
          redis.thaw()
          assert.isAtLeast(yield* backInUse(cached, "d", redis.url), 0)
        }).pipe(Effect.provide(tiers(redis.url)))
      }).pipe(Effect.scoped),
    { timeout: 30_000 }
  )

  it.live(
    "frozen while the lease holder computes: the holder and the callers that joined it are bounded",
    () =>
      Effect.gen(function*() {
        const redis = yield* ownRedis()
        const { cached, computed } = yield* fixture(300)
        yield* inRedis(cached, ["known"], redis.url)
        yield* Effect.gen(function*() {
          const first = yield* Effect.fork(burst(cached, ["slow"]))
          yield* Effect.sleep("100 millis")
          redis.freeze()
          const joined = yield* burst(cached, ["slow", "slow", "known"])
          const holder = yield* Fiber.join(first)
          // Compute (300 ms) + the write's share of the tier time; the lease release does not wait for Redis.
          check("frozen while computing", [...holder, ...joined], 300)
          // "slow" computed once (the callers joined the holder); "known", in Redis, computed again: frozen,
          // Redis answered none of its reads.
          assert.strictEqual(yield* redisHits(cached), 0)
          assert.strictEqual(yield* Ref.get(computed), 1 + 1 + 1)
          assert.isAtLeast((yield* Cache.stats(cached)).tierErrors["redis"]!, 1)
        }).pipe(Effect.provide(tiers(redis.url)))
      }).pipe(Effect.scoped),
    { timeout: 20_000 }
  )

  it.live("partitioned at start (a listener that accepts and never answers)", () =>
    Effect.gen(function*() {
      const hole = yield* blackHole()
      const { cached } = yield* fixture()
      const runtime = ManagedRuntime.make(tiers(hole.url))
      yield* Effect.addFinalizer(() => Effect.promise(() => runtime.dispose()))
      const t0 = yield* Clock.currentTimeMillis
      yield* Effect.promise(() => runtime.runPromise(Effect.void))
      assert.isBelow((yield* Clock.currentTimeMillis) - t0, 1_000 + slackMs)
      const base = yield* baseline(hundred("e"))
      check("partitioned at start", yield* Effect.promise(() => runtime.runPromise(burst(cached, hundred("e")))), base)
    }).pipe(Effect.scoped), { timeout: 20_000 })

  it.live("partitioned mid-run (every byte held), then healed", () =>
    Effect.gen(function*() {
      const redis = yield* ownRedis()
      const proxy = yield* proxyTo(redis.port)
      const { cached } = yield* fixture()
      yield* Effect.gen(function*() {
        assert.isTrue((yield* burst(cached, ["p-1", "p-2"])).every((r) => r.right))
        const base = yield* baseline(hundred("f"))
        proxy.partition()
        check("partitioned mid-run", yield* burst(cached, hundred("f")), base)
        proxy.heal()
        assert.isAtLeast(yield* backInUse(cached, "g", redis.url), 0)
        // Replies held during the partition arrive late and in order: no answer is mixed up.
        assert.isTrue((yield* burst(cached, hundred("f"))).every((r) => r.right))
      }).pipe(Effect.provide(tiers(proxy.url)))
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.live("killed mid-run", () =>
    Effect.gen(function*() {
      const redis = yield* ownRedis()
      const { cached } = yield* fixture()
      yield* Effect.gen(function*() {
        assert.isTrue((yield* burst(cached, ["k-1"])).every((r) => r.right))
        const base = yield* baseline(hundred("h"))
        yield* Effect.promise(() => redis.kill())
        check("killed mid-run", yield* burst(cached, hundred("h")), base)
      }).pipe(Effect.provide(tiers(redis.url)))
    }).pipe(Effect.scoped), { timeout: 20_000 })
})

/**
 * Calls fresh keys until one is found written in Redis (read with a client of
 * the test's own): the circuit closed again. Returns the attempt, or -1.
 */
const backInUse = (cached: Cached, tag: string, url: string) =>
  Effect.acquireUseRelease(
    Effect.sync(() => new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 })),
    (raw) =>
      Effect.gen(function*() {
        const namespace = cached[Cache.TypeId].namespace
        for (let i = 0; i < 100; i++) {
          yield* cached.run(`${tag}-${i}`)
          const written = yield* Effect.promise(() => raw.exists(`flowtune:cache:${namespace}:1:${tag}-${i}`))
          if (written === 1) return i
          yield* Effect.sleep("50 millis")
        }
        return -1
      }),
    (raw) => Effect.sync(() => raw.disconnect())
  )
