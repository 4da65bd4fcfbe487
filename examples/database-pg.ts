/**
 * Pooled PostgreSQL queries as primitives (the guide's min 10 / max 20 pool,
 * 5 s statement timeout), then the same query on embedded SQLite:
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx examples/database-pg.ts
 *
 * Without DATABASE_URL only the SQLite part runs.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Database from "flowtune/Database"
import * as Primitive from "flowtune/Primitive"

const square = Database.query("square", (n: number, sql) => sql<{ n: number }>`SELECT ${n}::int * ${n}::int AS n`)
const slow = Database.query("slow", (seconds: number, sql) => sql`SELECT pg_sleep(${seconds})`)

const program = Effect.gen(function*() {
  // 50 queries, at most 20 at a time on the pool's 20 connections.
  const [took, rows] = yield* Effect.timed(
    Primitive.run(Primitive.forEach(square, { concurrency: 20 }), Array.from({ length: 50 }, (_, i) => i))
  )
  yield* Effect.log(`50 queries in ${Duration.format(took)}; last = ${rows.at(-1)?.[0]?.n}`)
  const error = yield* Effect.flip(Primitive.run(slow, 10))
  yield* Effect.log(`a 10 s query: ${error._tag}`)
})

const sqlite = Effect.gen(function*() {
  const rows = yield* Primitive.run(Database.query("answer", (_: void, sql) => sql`SELECT 42 AS answer`), undefined)
  yield* Effect.log(`sqlite says ${JSON.stringify(rows)}`)
})

const PgLive = Database.layerPgConfig({ applicationName: "flowtune-example" }).pipe(Layer.orDie)

const postgres = process.env["DATABASE_URL"] === undefined
  ? Effect.log("DATABASE_URL is not set: skipping the PostgreSQL pool, running SQLite only")
  : Effect.provide(program, PgLive)

Effect.runPromise(
  Effect.zipRight(postgres, sqlite.pipe(Effect.provide(Database.layerSqlite({ filename: ":memory:" }))))
)
