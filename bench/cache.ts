/**
 * `npm run bench -- cache`: what a cache hit costs.
 *
 * - L1 hit through a cached primitive vs `lru-cache` `get` and LangChain's
 *   `InMemoryCache.lookup` (and Effect's own `Cache.get`), in one run.
 * - Hits through Redis, PostgreSQL and SQLite alone (no L1), per hit.
 * - Cross-runtime single-flight: bursts of 2 x 100 identical calls on two
 *   stacks with their own Redis connections; upstream calls are counted.
 * - Memory: bytes per entry for 1M small entries, ours vs lru-cache, measured
 *   in a child process run with `--expose-gc`.
 */
import { PgClient } from "@effect/sql-pg"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { InMemoryCache } from "@langchain/core/caches"
import * as EffectCache from "effect/Cache"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { LRUCache } from "lru-cache"
import { rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Cache from "../src/Cache.js"
import * as CacheRedis from "../src/Cache/Redis.js"
import * as CacheSql from "../src/Cache/Sql.js"
import * as Lru from "../src/internal/cacheLru.js"
import * as Primitive from "../src/Primitive.js"
import { measure, measureAll, pairedRatios, runChild, settings, settledHeap, type Suite } from "./harness.js"

const redisUrl = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379"
const postgresUrl = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"

const KEYS = 1024
const keys = Array.from({ length: KEYS }, (_, i) => `What is the capital of country number ${i}?`)

const upstream = Primitive.make("llm", (q: string) => Effect.succeed(`answer to ${q}`))

// -----------------------------------------------------------------------------
// memory per entry (child process)
// -----------------------------------------------------------------------------

const MEMORY_CHILD = "FLOWTUNE_CACHE_BENCH_MEMORY"

const memoryChild = async (which: string, entries: number) => {
  let keep: unknown
  const before = settledHeap()
  if (which === "flowtune") {
    // The L1 structure a store or cached primitive fills, filled directly: the
    // Effect API adds nothing per entry, and a million `store.set` calls take
    // ~15 s on a loaded 2-core machine, too long for this suite.
    const l1 = Lru.make(entries)
    const expiresAt = Date.now() + 3_600_000
    for (let i = 0; i < entries; i++) l1.set(`key:${i}`, `value ${i}`, expiresAt, 0)
    keep = l1
  } else {
    const lru = new LRUCache<string, string>(
      which === "lru-cache+ttl" ? { max: entries, ttl: 3_600_000 } : { max: entries }
    )
    for (let i = 0; i < entries; i++) lru.set(`key:${i}`, `value ${i}`)
    keep = lru
  }
  const after = settledHeap()
  process.stdout.write(JSON.stringify({ bytesPerEntry: (after - before) / entries, kept: keep !== undefined }))
}

if (process.env[MEMORY_CHILD]) {
  const [which, entries] = process.env[MEMORY_CHILD]!.split(":")
  await memoryChild(which!, Number(entries))
  process.exit(0)
}

const bytesPerEntry = (which: string, entries: number): number => {
  const out = runChild(import.meta.url, { [MEMORY_CHILD]: `${which}:${entries}` }, 600_000) as { bytesPerEntry: number }
  return out.bytesPerEntry
}

// -----------------------------------------------------------------------------
// the suite
// -----------------------------------------------------------------------------

const suite: Suite = {
  name: "cache",
  description: "Cache: L1 hit vs lru-cache and LangChain InMemoryCache; Redis/PostgreSQL/SQLite hits; " +
    "cross-runtime single-flight; memory per entry (1M entries)",
  run: async (options) => {
    const cached = upstream.pipe(Cache.wrap({ schema: Schema.String, ttl: "1 hour", capacity: 10_000 }))
    const NoTracing = Layer.setTracerEnabled(false)
    const memoryRt = ManagedRuntime.make(Layer.merge(Cache.layerMemory({ capacity: 10_000 }), NoTracing))
    const tracedRt = ManagedRuntime.make(Cache.layerMemory({ capacity: 10_000 }))
    const sqliteFile = join(tmpdir(), `flowtune_cache_bench_${process.pid}.sqlite`)
    const table = `flowtune_cache_bench_${process.pid}`
    const redisPrefix = `flowtune:bench:${process.pid}:`
    const redisRt = ManagedRuntime.make(
      Layer.merge(CacheRedis.layer({ url: redisUrl, prefix: redisPrefix, timeout: "1 second" }), NoTracing)
    )
    const pgRt = ManagedRuntime.make(
      Layer.merge(
        CacheSql.layer({ table, timeout: "1 second" }).pipe(
          Layer.provide(PgClient.layer({ url: Redacted.make(postgresUrl) }))
        ),
        NoTracing
      )
    )
    const sqliteRt = ManagedRuntime.make(
      Layer.merge(
        CacheSql.layer({ table, timeout: "1 second" }).pipe(
          Layer.provide(SqliteClient.layer({ filename: sqliteFile }))
        ),
        NoTracing
      )
    )

    // Warm every tier with every key.
    for (const rt of [memoryRt, tracedRt, redisRt, pgRt, sqliteRt] as const) {
      await rt.runPromise(Effect.forEach(keys, (k) => cached.run(k), { discard: true }))
    }
    const lru = new LRUCache<string, string>({ max: 10_000 })
    const langchain = new InMemoryCache<string>()
    for (const k of keys) {
      lru.set(k, `answer to ${k}`)
      await langchain.update(k, "llm", `answer to ${k}`)
    }
    const effectCache = await Effect.runPromise(
      EffectCache.make({
        capacity: 10_000,
        timeToLive: "1 hour",
        lookup: (k: string) => Effect.succeed(`answer to ${k}`)
      })
    )
    await Effect.runPromise(Effect.forEach(keys, (k) => effectCache.get(k), { discard: true }))

    const runSync = memoryRt.runSync
    const runSyncTraced = tracedRt.runSync
    const IN_RUN = 1000
    const hitsInRun = Effect.suspend(() => {
      let effect: Effect.Effect<unknown, never, Cache.CacheTiers> = Effect.void
      for (let j = 0; j < IN_RUN; j++) effect = Effect.zipRight(effect, cached.run(keys[j & (KEYS - 1)]!))
      return effect
    })
    // The floor for any hit that is an Effect: one `withFiberRuntime` step returning the value.
    const floorInRun = Effect.suspend(() => {
      let effect: Effect.Effect<unknown> = Effect.void
      for (let j = 0; j < IN_RUN; j++) {
        const value = keys[j & (KEYS - 1)]!
        effect = Effect.zipRight(effect, Effect.withFiberRuntime(() => Effect.succeed(value)))
      }
      return effect
    })
    // Like for like with the above: Effect's own Cache.get in the same loop shape and runtime.
    const effectHitsInRun = Effect.suspend(() => {
      let effect: Effect.Effect<unknown> = Effect.void
      for (let j = 0; j < IN_RUN; j++) effect = Effect.zipRight(effect, effectCache.get(keys[j & (KEYS - 1)]!))
      return effect
    })
    // The user's path: `Primitive.run` of a primitive whose body makes 1,000 hits, on the
    // default runtime (Effect's default tracer on), beside the one-step floor in the same shape.
    const inPrimitive = <E, R>(name: string, effect: Effect.Effect<unknown, E, R>) =>
      Primitive.make(name, (_: void) => effect)
    const userHitsInRun = Primitive.run(inPrimitive("hits", hitsInRun), undefined)
    const userFloorInRun = Primitive.run(inPrimitive("floor", floorInRun), undefined)
    // Keys over 200 characters (a prompt with its context): the shared tiers see their hash, L1 the text.
    const longKeys = keys.map((k) => `${"You are a helpful assistant. ".repeat(8)}${k}`)
    const longHitsInRun = Primitive.run(
      inPrimitive(
        "long-hits",
        Effect.suspend(() => {
          let effect: Effect.Effect<unknown, never, Cache.CacheTiers> = Effect.void
          for (let j = 0; j < IN_RUN; j++) effect = Effect.zipRight(effect, cached.run(longKeys[j & (KEYS - 1)]!))
          return effect
        })
      ),
      undefined
    )
    for (const k of longKeys) lru.set(k, `answer to ${k}`)
    await tracedRt.runPromise(Effect.forEach(longKeys, (k) => cached.run(k), { discard: true }))
    let i = 0
    const next = () => keys[(i++) & (KEYS - 1)]!
    const nextLong = () => longKeys[(i++) & (KEYS - 1)]!
    const l1Measured = await measureAll([
      {
        name: "flowtune L1 hit (user path: Primitive.run, default tracer)",
        run: () => runSyncTraced(userHitsInRun),
        ops: IN_RUN
      },
      {
        name: "floor: one Effect step (user path: Primitive.run, default tracer)",
        run: () => runSyncTraced(userFloorInRun),
        ops: IN_RUN
      },
      {
        name: "flowtune L1 hit, ~275-char keys (user path)",
        run: () => runSyncTraced(longHitsInRun),
        ops: IN_RUN
      },
      { name: "lru-cache get, ~275-char keys", run: () => lru.get(nextLong()) },
      { name: "effect Cache.get (in a workflow)", run: () => runSync(effectHitsInRun), ops: IN_RUN },
      { name: "effect Cache.get (runSync per hit)", run: () => runSync(effectCache.get(next())) },
      { name: "lru-cache get", run: () => lru.get(next()) },
      { name: "flowtune L1 hit (runSync per hit)", run: () => runSync(cached.run(next())) },
      { name: "flowtune L1 hit (in a workflow)", run: () => runSync(hitsInRun), ops: IN_RUN },
      { name: "floor: one Effect step (in a workflow)", run: () => runSync(floorInRun), ops: IN_RUN },
      { name: "flowtune L1 hit (runSync, tracing on)", run: () => runSyncTraced(cached.run(next())) },
      { name: "langchain InMemoryCache lookup", run: () => langchain.lookup(next(), "llm") },
      { name: "effect Cache.get (runPromise)", run: () => Effect.runPromise(effectCache.get(next())) }
    ], settings(options))
    const l1 = l1Measured.cpu

    const remoteSettings = options.quick
      ? { rounds: 2, timePerRoundMs: 100, warmupMs: 50 }
      : { rounds: 3, timePerRoundMs: 400, warmupMs: 100 }
    const remote = await measure([
      { name: "redis hit", run: () => redisRt.runPromise(cached.run(next())) },
      { name: "postgres hit", run: () => pgRt.runPromise(cached.run(next())) },
      { name: "sqlite hit", run: () => sqliteRt.runPromise(cached.run(next())) }
    ], remoteSettings)

    // Cross-runtime single-flight: each burst is a new key asked 100 times on each of two stacks at once.
    let upstreamCalls = 0
    const slow = Primitive.make(
      "slow-llm",
      (q: string) =>
        Effect.sync(() => upstreamCalls++).pipe(Effect.zipRight(Effect.sleep("20 millis")), Effect.as(`answer ${q}`))
    )
    const slowCached = slow.pipe(Cache.wrap({ schema: Schema.String, namespace: `bench-sf-${process.pid}` }))
    const stack = () =>
      ManagedRuntime.make(Layer.merge(
        Cache.layer(
          Cache.memory(),
          CacheRedis.tier({ url: redisUrl, prefix: redisPrefix, timeout: "1 second", lease: { poll: "5 millis" } })
        ),
        NoTracing
      ))
    const [a, b] = [stack(), stack()]
    let burst = 0
    const bursts = options.quick ? 5 : 20
    const burstOnce = () => {
      const key = `burst ${burst++}`
      const hundred = Effect.forEach(Array.from({ length: 100 }), () => slowCached.run(key), {
        concurrency: "unbounded",
        discard: true
      })
      return Promise.all([a.runPromise(hundred), b.runPromise(hundred)])
    }
    await burstOnce()
    upstreamCalls = 0
    burst = 1
    const start = process.hrtime.bigint()
    for (let n = 0; n < bursts; n++) await burstOnce()
    const burstNs = Number(process.hrtime.bigint() - start) / bursts

    const entries = options.quick ? 100_000 : 1_000_000
    const memory = {
      "_flowtune bytes/entry": Math.round(bytesPerEntry("flowtune", entries)),
      "_lru-cache bytes/entry": Math.round(bytesPerEntry("lru-cache", entries)),
      "_lru-cache+ttl bytes/entry": Math.round(bytesPerEntry("lru-cache+ttl", entries))
    }

    await Promise.all([memoryRt, tracedRt, redisRt, pgRt, sqliteRt, a, b].map((rt) => rt.dispose()))
    await Effect.runPromise(
      Effect.gen(function*() {
        const redis = yield* CacheRedis.tier({ url: redisUrl, prefix: redisPrefix })
        yield* redis.clear("")
      }).pipe(Effect.scoped, Effect.ignore)
    )
    await Effect.runPromise(
      Effect.gen(function*() {
        const { SqlClient } = yield* Effect.promise(() => import("@effect/sql/SqlClient"))
        const sql = yield* SqlClient
        yield* sql`DROP TABLE IF EXISTS ${sql(table)}`
      }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(postgresUrl) })), Effect.ignore)
    )
    rmSync(sqliteFile, { force: true })

    const results = {
      ...l1,
      ...remote,
      "cross-runtime burst, 2 x 100 identical calls (20 ms upstream)": burstNs,
      "_cross-runtime upstream calls per burst (target 1)": upstreamCalls / bursts,
      ...memory
    }
    const paired = pairedRatios(l1Measured, [
      ["flowtune L1 hit (user path: Primitive.run, default tracer)", "lru-cache get"],
      [
        "flowtune L1 hit (user path: Primitive.run, default tracer)",
        "floor: one Effect step (user path: Primitive.run, default tracer)"
      ],
      ["floor: one Effect step (user path: Primitive.run, default tracer)", "lru-cache get"],
      ["flowtune L1 hit, ~275-char keys (user path)", "lru-cache get, ~275-char keys"],
      ["flowtune L1 hit (in a workflow)", "effect Cache.get (in a workflow)"],
      ["flowtune L1 hit (runSync per hit)", "effect Cache.get (runSync per hit)"],
      ["flowtune L1 hit (in a workflow)", "lru-cache get"],
      ["flowtune L1 hit (in a workflow)", "floor: one Effect step (in a workflow)"],
      ["floor: one Effect step (in a workflow)", "lru-cache get"],
      ["flowtune L1 hit (runSync per hit)", "lru-cache get"],
      ["langchain InMemoryCache lookup", "lru-cache get"],
      ["effect Cache.get (runPromise)", "lru-cache get"],
      ["langchain InMemoryCache lookup", "flowtune L1 hit (runSync per hit)"]
    ])
    return {
      results,
      wall: l1Measured.wall,
      ratios: {
        ...paired.ratios,
        "flowtune/lru-cache+ttl bytes per entry": memory["_flowtune bytes/entry"] / memory["_lru-cache+ttl bytes/entry"]
      },
      spreads: paired.spreads,
      notes: [
        `Cross-runtime single-flight: ${upstreamCalls} upstream call(s) for ${bursts} bursts of 2 x 100 identical calls ` +
        `(two stacks, separate Redis connections; target 1 per burst).`,
        `Memory: ${
          entries.toLocaleString("en-US")
        } entries of ~10-character keys and values, heap after GC in a child process.`
      ]
    }
  }
}

export default suite
