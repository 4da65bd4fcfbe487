import * as NodeContext from "@effect/platform-node/NodeContext"
import * as PgClient from "@effect/sql-pg/PgClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Tour from "../src/Tour.js"
import { postgresUrl, redisUrl, uniquePrefix } from "./support/services.js"

// Real Redis and PostgreSQL, in real time at a small scale: the figures that do
// not depend on timing must come out exactly, and the tiers must be the real ones.
describe("Tour with Redis and PostgreSQL", () => {
  it.live("uses the Redis L2, the PostgreSQL L3 and the PostgreSQL pool", () => {
    const table = uniquePrefix("tour_cache")
    return Effect.gen(function*() {
      const result = yield* Tour.run({
        scale: 0.01,
        steps: ["cache", "pool"],
        report: false,
        warmup: false,
        redisUrl,
        databaseUrl: postgresUrl,
        cacheTable: table
      })
      const [cache, pool] = result.steps
      const figure = (step: Tour.StepResult | undefined, label: string) =>
        step?.claims.find((c) => c.label.startsWith(label))
      expect(cache!.notes[0]).toContain("Redis (L2)")
      expect(cache!.notes[0]).toContain("PostgreSQL (L3)")
      expect(figure(cache, "cost with cache")!.measured).toBeCloseTo(0.5, 9)
      expect(figure(cache, "hit rate")!.measured).toBe(50)
      expect(figure(cache, "computations for 3 phrasings")!.measured).toBe(1)
      // A cold L1 finds the entry in the next tier: Redis.
      expect(figure(cache, "shared-tier hit (redis")).toBeDefined()
      expect(figure(pool, "PostgreSQL: connect + query")!.measured).toBeGreaterThan(0)
      expect(figure(pool, "connections opened for 20 queries, pooled")!.measured).toBe(10)
    }).pipe(
      Effect.ensuring(
        Effect.gen(function*() {
          const sql = yield* PgClient.PgClient
          yield* sql`DROP TABLE IF EXISTS ${sql(table)}`
        }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(postgresUrl) })), Effect.orDie)
      ),
      Effect.provide(NodeContext.layer)
    )
  }, 60_000)
})
