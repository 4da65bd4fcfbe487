/**
 * Pooled PostgreSQL queries as primitives (the guide's min 10 / max 20 pool,
 * 5 s statement timeout), then the same query on embedded SQLite:
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx examples/database-pg.ts
 *
 * Then a full pool whose callers time out (the statements are cancelled on
 * the server), and a connection failure that says why.
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

// A full pool: 3 connections, 3 statements of 8 s, each under a 300 ms timeout. The callers get control back
// after ~0.3-0.6 s and the statements are cancelled on the server (outside the pool), so the next query runs.
const fullPool = Effect.gen(function*() {
  const timed = Primitive.timeout(slow, "300 millis")
  const [took, errors] = yield* Effect.timed(
    Effect.forEach([8, 8, 8], (s) => Effect.flip(Primitive.run(timed, s)), { concurrency: 3 })
  )
  yield* Effect.log(`3 timeouts on a full pool: ${errors.map((e) => e._tag).join(", ")} after ${Duration.format(took)}`)
  const [next] = yield* Effect.timed(Primitive.run(square, 7))
  yield* Effect.log(`the next query ran in ${Duration.format(next)}`)
}).pipe(
  Effect.provide(Database.layerPgConfig({ min: 3, max: 3, applicationName: "flowtune-example-full" })),
  Effect.orDie
)

// A connection failure says why: here nothing listens on port 1.
const refused = Layer.build(Database.layerPg({ url: "postgres://postgres@127.0.0.1:1/app", min: 1 })).pipe(
  Effect.scoped,
  Effect.flip,
  Effect.flatMap((error) => Effect.log(error.message))
)

const sqlite = Effect.gen(function*() {
  const rows = yield* Primitive.run(Database.query("answer", (_: void, sql) => sql`SELECT 42 AS answer`), undefined)
  yield* Effect.log(`sqlite says ${JSON.stringify(rows)}`)
})

const PgLive = Database.layerPgConfig({ applicationName: "flowtune-example" }).pipe(Layer.orDie)

const postgres = process.env["DATABASE_URL"] === undefined
  ? Effect.log("DATABASE_URL is not set: skipping the PostgreSQL pool, running SQLite only")
  : Effect.provide(program, PgLive).pipe(Effect.zipRight(fullPool), Effect.zipRight(refused))

Effect.runPromise(
  Effect.zipRight(postgres, sqlite.pipe(Effect.provide(Database.layerSqlite({ filename: ":memory:" }))))
)
