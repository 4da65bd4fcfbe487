/**
 * Step 7 of the guide: pool database connections. 20 queries (5 ms each)
 * against a database where opening a connection costs 100 ms: connecting per
 * query pays it every time; an Effect `Pool` of 10 connections, opened up
 * front, hands one out without waiting. Then the same comparison on the
 * real database through `Database.query` (SQLite by default, the PostgreSQL
 * pool with `DATABASE_URL`), in real milliseconds.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Pool from "effect/Pool"
import type * as Scope from "effect/Scope"
import { mkdirSync } from "node:fs"
import * as Database from "../Database.js"
import type * as Tour from "../Tour.js"
import { claim, mean, sleepGuide, type Step, timed, TourEnv, traced } from "./Common.js"

interface Connection {
  readonly id: number
}

const queries = Array.from({ length: 20 }, (_, i) => i)

const ping = Database.query("ping", (_: void, sql) => sql<{ one: number }>`SELECT 1 AS one`)

/**
 * The same query on the real database of the tour (SQLite by default,
 * PostgreSQL with `DATABASE_URL`), opening a connection per query and then
 * on one pool. Real milliseconds (0 under the `TestClock`).
 *
 * @since 0.1.0
 * @category measuring
 */
export const realDatabase = Effect.gen(function*() {
  const env = yield* TourEnv
  const queries = 10
  const layer = (pooled: boolean): Layer.Layer<Database.Database, unknown> =>
    env.databaseUrl !== undefined
      ? Database.layerPg(pooled ? { url: env.databaseUrl } : { url: env.databaseUrl, min: 1, max: 1 })
      : Layer.unwrapEffect(Effect.sync(() => {
        mkdirSync(".flowtune", { recursive: true })
        return Database.layerSqlite({ filename: ".flowtune/tour.db" })
      }))
  const realMs = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.map(timed(self), ([, ms]) => ms * env.scale)
  const opening = yield* Effect.forEach(
    Array.from({ length: queries }),
    () => realMs(Effect.scoped(Effect.flatMap(Layer.build(layer(false)), (ctx) => Effect.provide(ping.run(), ctx))))
  )
  const pool = yield* Layer.build(layer(true))
  yield* Effect.provide(ping.run(), pool)
  const pooled = yield* Effect.forEach(Array.from({ length: queries }), () => realMs(Effect.provide(ping.run(), pool)))
  return {
    system: env.databaseUrl !== undefined ? "PostgreSQL" : "SQLite",
    queries,
    perQueryMs: mean(opening),
    pooledMs: mean(pooled)
  }
})

/**
 * @since 0.1.0
 * @category steps
 */
export const step: Step = {
  id: "pool",
  title: "8. Pool",
  section: "Step 7: Database Optimization",
  run: Effect.gen(function*() {
    const { scale } = yield* TourEnv
    let opened = 0
    const connect: Effect.Effect<Connection, never, TourEnv | Scope.Scope> = Effect.acquireRelease(
      sleepGuide(100).pipe(Effect.map(() => ({ id: ++opened })), Effect.withSpan("connect")),
      () => Effect.void
    )
    const query = (_conn: Connection) => sleepGuide(5).pipe(Effect.withSpan("query"))
    const acquisitions: { perQuery: Array<number>; pooled: Array<number> } = { perQuery: [], pooled: [] }

    const perQuery = yield* traced(
      "connect per query",
      Effect.forEach(queries, () =>
        Effect.scoped(Effect.gen(function*() {
          const [conn, ms] = yield* timed(connect)
          acquisitions.perQuery.push(ms)
          yield* query(conn)
        })))
    )
    const openedPerQuery = opened
    opened = 0

    const pool = yield* Pool.make({ acquire: connect, size: 10 })
    // The guide's min_size: every connection is open before the first query.
    const [, warmupMs] = yield* timed(
      Effect.scoped(Effect.forEach(queries.slice(0, 10), () => pool.get, { concurrency: "unbounded" }))
    )
    const pooled = yield* traced(
      "pooled",
      Effect.forEach(queries, () =>
        Effect.scoped(Effect.gen(function*() {
          const [conn, ms] = yield* timed(pool.get.pipe(Effect.withSpan("acquire")))
          acquisitions.pooled.push(ms)
          yield* query(conn)
        })))
    )
    const real = yield* realDatabase
    const connectMs = mean(acquisitions.perQuery)
    // Checking out a pooled connection is real work, not simulated: it is compared in real milliseconds.
    const acquireMs = mean(acquisitions.pooled) * scale
    const claims: Array<Tour.Claim> = [
      claim("acquisition, connect per query", 100, connectMs, "ms"),
      claim("acquisition, pooled (real ms)", 1, acquireMs, "ms", { check: "at-most" }),
      claim("acquisition speedup", 100, acquireMs === 0 ? Infinity : connectMs / acquireMs, "x", { check: "at-least" }),
      claim("connections opened for 20 queries, pooled", 10, opened, "count"),
      claim(`${real.system}: connect + query (real ms)`, real.perQueryMs, real.perQueryMs, "ms", { check: "info" }),
      claim(`${real.system}: pooled query (real ms)`, real.pooledMs, real.pooledMs, "ms", { check: "info" }),
      claim(
        `${real.system}: speedup from pooling`,
        real.pooledMs === 0 ? 1 : real.perQueryMs / real.pooledMs,
        real.pooledMs === 0 ? 1 : real.perQueryMs / real.pooledMs,
        "x",
        { check: "info" }
      )
    ]
    return {
      headline: `connection acquisition ${connectMs.toFixed(0)} ms -> ${acquireMs.toFixed(3)} ms; 20 queries ${
        (perQuery.ms / 1000).toFixed(2)
      } s -> ${(pooled.ms / 1000).toFixed(2)} s`,
      claims,
      timelines: [perQuery.timeline, pooled.timeline],
      distributions: [
        { label: "connect per query", values: acquisitions.perQuery },
        { label: "pooled", values: acquisitions.pooled.map((ms) => ms * scale) }
      ],
      notes: [
        `simulated database: connecting costs the guide's 100 ms, a query 5 ms; pool of 10 (Effect Pool)`,
        `real ${real.system} (Database.query, real time, ${real.queries} queries each way): ${
          real.perQueryMs.toFixed(2)
        } ms a query opening its own connection, ${real.pooledMs.toFixed(3)} ms on the pool`,
        `${openedPerQuery} connections opened without a pool, ${opened} with it (opened up front in ${
          warmupMs.toFixed(0)
        } ms)`
      ]
    }
  })
}
