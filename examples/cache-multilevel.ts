/**
 * The guide's multi-level cache: L1 memory -> L2 Redis -> L3 PostgreSQL, on
 * the real services when they answer, and memory -> SQLite otherwise.
 *
 * The first run computes and writes every tier. A second stack (a fresh L1,
 * like another process or a restart) finds the entry in L2 and backfills L1
 * with the remaining time to live. Each lookup leaves a checkpoint on the
 * run's timeline (cache.l1.hit, cache.l2.hit, cache.miss).
 *
 * Run: npx tsx examples/cache-multilevel.ts
 * Env: REDIS_URL (default redis://127.0.0.1:6379), DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test)
 */
import { PgClient } from "@effect/sql-pg"
import { SqliteClient } from "@effect/sql-sqlite-node"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as FlowCache from "flowtune/Cache"
import * as CacheRedis from "flowtune/Cache/Redis"
import * as CacheSql from "flowtune/Cache/Sql"
import * as Primitive from "flowtune/Primitive"
import * as WorkflowContext from "flowtune/WorkflowContext"
import { Redis } from "ioredis"
import { tmpdir } from "node:os"
import { join } from "node:path"

const ms = (d: Duration.Duration) => `${Math.round(Duration.toMillis(d))} ms`

const redisUrl = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379"
const postgresUrl = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"

const Analysis = Schema.Struct({ summary: Schema.String, score: Schema.Number })

const analyze = Primitive.make(
  "analyze",
  (text: string) => Effect.as(Effect.sleep("500 millis"), { summary: text.slice(0, 20), score: text.length })
).pipe(
  Primitive.annotate({ costPerCall: 0.01 })
)
// `checkpoints: true`: mark L1 hits on the timeline too (off by default: a checkpoint costs more than the hit).
const cached = analyze.pipe(
  FlowCache.wrap({ schema: Analysis, ttl: "10 minutes", namespace: "example-analyze", checkpoints: true })
)

const redisAnswers = Effect.tryPromise(async () => {
  const client = new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: 500,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null
  })
  try {
    await client.connect()
    return (await client.ping()) === "PONG"
  } finally {
    client.disconnect()
  }
}).pipe(Effect.timeout("1 second"), Effect.orElseSucceed(() => false))

const Postgres = PgClient.layer({ url: Redacted.make(postgresUrl) })
const postgresAnswers = Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 1`).pipe(
  Effect.provide(Postgres),
  Effect.timeout("2 seconds"),
  Effect.as(true),
  Effect.orElseSucceed(() => false)
)

const program = Effect.gen(function*() {
  const useServices = (yield* redisAnswers) && (yield* postgresAnswers)
  const stack: Layer.Layer<FlowCache.CacheTiers, unknown> = useServices
    ? FlowCache.layer(FlowCache.memory({ capacity: 10_000 }), CacheRedis.tier({ url: redisUrl }), CacheSql.tier()).pipe(
      Layer.provide(Postgres)
    )
    : FlowCache.layer(FlowCache.memory({ capacity: 10_000 }), CacheSql.tier()).pipe(
      Layer.provide(SqliteClient.layer({ filename: join(tmpdir(), "flowtune-cache-example.sqlite") }))
    )
  console.log(
    useServices ? "tiers: memory -> Redis -> PostgreSQL" : "tiers: memory -> SQLite (Redis/PostgreSQL not answering)"
  )

  const session = (label: string) =>
    Effect.gen(function*() {
      const [elapsed] = yield* Effect.timed(Primitive.run(cached, "Effect makes AI workflows fast"))
      yield* Primitive.run(cached, "Effect makes AI workflows fast")
      const stats = yield* FlowCache.stats(cached)
      const marks = (yield* WorkflowContext.timeline).map((c) => c.name)
      console.log(`${label}: first call ${ms(elapsed)}`, marks, stats.hits)
    }).pipe(WorkflowContext.withContext(), Effect.provide(stack))

  yield* FlowCache.clear("example-analyze").pipe(Effect.provide(stack))
  yield* session("process 1")
  yield* session("process 2 (fresh L1)")
})

Effect.runPromise(program)
