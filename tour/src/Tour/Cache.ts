/**
 * Step 4 of the guide: cache. 100 queries, half of them repeats, against a
 * 2 s / $0.01 call: without a cache every call pays; with `Cache.wrap` over
 * an in-memory L1 and a SQL L3 (SQLite by default, PostgreSQL with
 * `DATABASE_URL`; a Redis L2 with `REDIS_URL`) the repeats are answered from
 * memory. Then the guide's key normalization (three phrasings, one
 * computation) and a lookup that misses L1 and is answered by the shared
 * tiers.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Cache from "flowtune/Cache"
import * as CacheRedis from "flowtune/Cache/Redis"
import * as CacheSql from "flowtune/Cache/Sql"
import type * as Model from "flowtune/Model"
import * as Primitive from "flowtune/Primitive"
import type * as Tour from "../Tour.js"
import {
  claim,
  Completion,
  costed,
  mean,
  model,
  runTag,
  sqlLayer,
  type Step,
  sum,
  timed,
  TourEnv,
  traced
} from "./Common.js"
import * as World from "./World.js"

/** 50 distinct questions, then each of them again. */
const queries = [
  ...Array.from({ length: 50 }, (_, i) => `question ${i}`),
  ...Array.from({ length: 50 }, (_, i) => `question ${i}`)
]

const tiersLayer = (env: typeof TourEnv.Service) => {
  const sql = sqlLayer(env.databaseUrl)
  return {
    names: ["memory (L1)", ...(env.redisUrl !== undefined ? ["Redis (L2)"] : []), `${sql.name} (L3)`],
    sql,
    // Each build has its own (empty) memory tier over the same shared tiers.
    layer: () =>
      env.redisUrl !== undefined
        ? Cache.layer(
          Cache.memory({ capacity: 10_000 }),
          CacheRedis.tier({ url: env.redisUrl }),
          CacheSql.tier({ table: env.cacheTable })
        )
        : Cache.layer(Cache.memory({ capacity: 10_000 }), CacheSql.tier({ table: env.cacheTable }))
  }
}

/**
 * @since 0.1.0
 * @category steps
 */
export const step: Step = {
  id: "cache",
  title: "4. Cache",
  section: "Step 4: Apply Caching",
  run: Effect.gen(function*() {
    const env = yield* TourEnv
    const tag = yield* runTag
    // The guide's ExpensiveLLMCall: 2 s and $0.01 a call in the guide's world.
    const expensive = yield* model(env.world.models.expensive, "expensive_llm_call")
    const setup = tiersLayer(env)
    const sql = yield* Layer.build(setup.sql.layer)
    const tiers = yield* Layer.build(setup.layer().pipe(Layer.provide(Layer.succeedContext(sql))))

    const cached = Cache.wrap(expensive, {
      schema: Completion,
      ttl: "1 hour",
      capacity: 10_000,
      namespace: `tour-${tag}`,
      key: env.world.cacheKey
    })
    // The guide's workload: 50 distinct questions, then each of them again. The
    // repeats start once the first round is answered, as in the guide; with
    // both rounds in one stream of 10 in flight, a repeat can join its original
    // while that one is still computing (single-flight) and wait part of it.
    const oneByOne = <E, R>(p: Primitive.Primitive<string, Model.Completion, E, R>) =>
      Effect.zipWith(
        Effect.forEach(queries.slice(0, 50), (q) => timed(Primitive.run(p, q)), { concurrency: 10 }),
        Effect.forEach(queries.slice(50), (q) => timed(Primitive.run(p, q)), { concurrency: 10 }),
        (first, repeats) => [...first, ...repeats]
      )

    // Costs are what the completions of each run cost, added up as the model layer charged them.
    const [before, spentBefore] = yield* costed(traced("without cache", oneByOne(expensive)))
    const [after, spentAfter] = yield* costed(traced("with cache", oneByOne(cached)).pipe(Effect.provide(tiers)))
    const stats = yield* Cache.stats(cached).pipe(Effect.provide(tiers))

    const beforeMs = before.value.map(([, ms]) => ms)
    const afterMs = after.value.map(([, ms]) => ms)
    const hitMs = afterMs.slice(50)
    const costBefore = spentBefore.costUsd
    const costAfter = spentAfter.costUsd
    // `Cache.Stats.hitRate`: calls answered by a tier (a caller that joined a computation in flight is not a hit).
    const hitRate = 100 * stats.hitRate

    // The guide's key normalization: three phrasings, one computation.
    const normalized = Cache.wrap(expensive, {
      schema: Completion,
      key: env.world.cacheKey ?? Cache.normalizedKey,
      namespace: `tour-${tag}-normalized`
    })
    yield* Effect.forEach(["What is Python?", "what is python", "python what is"], (q) => Primitive.run(normalized, q))
      .pipe(Effect.provide(tiers))
    const normalizedStats = yield* Cache.stats(normalized).pipe(Effect.provide(tiers))

    // A process with a cold L1 over the same shared tiers: the lookup is answered by L2/L3.
    const cold = yield* Layer.build(setup.layer().pipe(Layer.provide(Layer.succeedContext(sql))))
    const realScale = env.scale
    const [, sharedMs] = yield* timed(Primitive.run(cached, "question 7")).pipe(Effect.provide(cold))
    const coldStats = yield* Cache.stats(cached).pipe(Effect.provide(cold))
    const sharedHits = Object.entries(coldStats.hits).filter(([tier]) => tier !== "memory")
    const sharedTier = sharedHits.find(([, n]) => n > 0)?.[0] ?? "none"

    const claims: Array<Tour.Claim> = [
      claim("100 calls without cache (sum of latencies)", 200, sum(beforeMs) / 1000, "s"),
      claim("100 calls with cache (sum of latencies)", 100, sum(afterMs) / 1000, "s"),
      claim("speedup", 2, sum(beforeMs) / sum(afterMs), "x"),
      claim("cost without cache", 1, costBefore, "usd"),
      claim("cost with cache", 0.5, costAfter, "usd"),
      claim("cost saved", 50, costBefore === 0 ? 0 : (100 * (costBefore - costAfter)) / costBefore, "%"),
      claim("hit rate", 50, hitRate, "%"),
      claim("computations for 3 phrasings (normalized key)", 1, normalizedStats.misses, "count"),
      claim("cold L1: answered by a shared tier", 1, sharedHits.reduce((n, [, hits]) => n + hits, 0), "count"),
      // Real work, not simulated: compared in real milliseconds, with no allowance to hide in.
      claim("repeat latency, mean (real ms)", 1, mean(hitMs) * realScale, "ms", {
        check: "at-most",
        slack: 0,
        realTime: true
      }),
      claim(
        `shared-tier hit (${sharedTier}, real ms)`,
        env.redisUrl !== undefined ? 10 : 50,
        sharedMs * realScale,
        "ms",
        {
          check: "at-most",
          slack: 0,
          realTime: true
        }
      )
    ]
    return {
      headline: `${(sum(beforeMs) / 1000).toFixed(0)} s -> ${(sum(afterMs) / 1000).toFixed(0)} s of model time, $${
        costBefore.toFixed(2)
      } -> $${costAfter.toFixed(2)}, hit rate ${hitRate.toFixed(0)}%`,
      claims,
      assumptions: [
        { label: "expensive_llm_call (simulated model)", value: World.describeModel(env.world.models.expensive) },
        { label: "workload", value: "50 distinct questions, then each again; 10 in flight" },
        { label: "cache key", value: env.world.cacheKey === undefined ? "the exact text" : "the world's key function" }
      ],
      timelines: [before.timeline, after.timeline],
      distributions: [{ label: "without cache", values: beforeMs }, { label: "with cache", values: afterMs }],
      notes: [
        `tiers: ${setup.names.join(" -> ")}; 10 queries in flight at a time, repeats after their first answer`,
        `model calls: ${spentBefore.calls} without the cache, ${spentAfter.calls} with it`,
        `wall time ${(before.ms / 1000).toFixed(1)} s -> ${(after.ms / 1000).toFixed(1)} s; hits by tier: ${
          JSON.stringify(stats.hits)
        }, misses ${stats.misses}, coalesced ${stats.coalesced}`
      ]
    }
  })
}
