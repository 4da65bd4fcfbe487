/**
 * Step 7 of the guide: pool database connections. The same query on real
 * connections, opening a connection for each query and then on a warm pool
 * (`Database.query`): SQLite, the embedded default, always; PostgreSQL with
 * `DATABASE_URL` (its login as configured, trust on a default local server);
 * and PostgreSQL logging in with a password (scram-sha-256) with
 * `TOUR_PASSWORD_DATABASE_URL`. The guide's "~100x faster acquisition" is
 * shown beside each measured ratio, whatever it is, and not checked: the
 * guide's figure is for a remote server, and a local one connects in
 * milliseconds. These are real milliseconds, so under the `TestClock` they
 * are `n/a`.
 *
 * A simulated database (connecting costs the guide's 100 ms) stays as an
 * illustration for the Gantt chart: its figures are the inputs, so it makes
 * no claim.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Pool from "effect/Pool"
import type * as Scope from "effect/Scope"
import * as Database from "flowtune/Database"
import { mkdirSync } from "node:fs"
import type * as Tour from "../Tour.js"
import { claim, mean, sleepGuide, type Step, timed, TourEnv, traced } from "./Common.js"

interface Connection {
  readonly id: number
}

const queries = Array.from({ length: 20 }, (_, i) => i)

const ping = Database.query("ping", (_: void, sql) => sql<{ one: number }>`SELECT 1 AS one`)

/**
 * A real database the step measures: its name and how to open it, with one
 * connection or as a pool.
 *
 * @since 0.1.0
 * @category measuring
 */
export interface Backend {
  readonly name: string
  readonly layer: (pooled: boolean) => Layer.Layer<Database.Database, unknown>
}

/**
 * The backends of this run: SQLite always, PostgreSQL with each configured URL.
 *
 * @since 0.1.0
 * @category measuring
 */
export const backends = Effect.map(TourEnv, (env): ReadonlyArray<Backend> => [
  {
    name: "SQLite",
    layer: () =>
      Layer.unwrapEffect(Effect.sync(() => {
        mkdirSync(".flowtune", { recursive: true })
        return Database.layerSqlite({ filename: ".flowtune/tour.db" })
      }))
  },
  ...(env.databaseUrl === undefined ? [] : [{
    name: "PostgreSQL (DATABASE_URL login)",
    layer: (pooled: boolean) =>
      Database.layerPg({ url: env.databaseUrl!, min: 1, max: pooled ? 10 : 1, applicationName: "flowtune-tour" })
  }]),
  ...(env.passwordDatabaseUrl === undefined ? [] : [{
    name: "PostgreSQL (password login)",
    layer: (pooled: boolean) =>
      Database.layerPg({
        url: env.passwordDatabaseUrl!,
        min: 1,
        max: pooled ? 10 : 1,
        applicationName: "flowtune-tour"
      })
  }])
])

/**
 * One backend, `count` queries each way: a connection opened, used and
 * closed per query, then the same query on a pool that is already open.
 * Real milliseconds (0 under the `TestClock`).
 *
 * @since 0.1.0
 * @category measuring
 */
export const measureBackend = (backend: Backend, count = 10) =>
  Effect.gen(function*() {
    const { scale } = yield* TourEnv
    const realMs = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.map(timed(self), ([, ms]) => ms * scale)
    const runs = Array.from({ length: count })
    const opening = yield* Effect.forEach(runs, () =>
      realMs(Effect.scoped(
        Effect.flatMap(Layer.build(backend.layer(false)), (ctx) => Effect.provide(ping.run(), ctx))
      )))
    const pool = yield* Layer.build(backend.layer(true))
    // The first query on the pool opens its connection: the guide's pool is opened up front.
    yield* Effect.provide(ping.run(), pool)
    const pooled = yield* Effect.forEach(runs, () => realMs(Effect.provide(ping.run(), pool)))
    return { name: backend.name, count, perQueryMs: mean(opening), pooledMs: mean(pooled) }
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
    const { virtualTime } = yield* TourEnv
    // The illustration: a simulated database where connecting takes the guide's 100 ms.
    let opened = 0
    const connect: Effect.Effect<Connection, never, TourEnv | Scope.Scope> = Effect.acquireRelease(
      sleepGuide(100).pipe(Effect.map(() => ({ id: ++opened })), Effect.withSpan("connect")),
      () => Effect.void
    )
    const query = (_conn: Connection) => sleepGuide(5).pipe(Effect.withSpan("query"))
    const perQuery = yield* traced(
      "simulated: connect per query",
      Effect.forEach(queries, () => Effect.scoped(Effect.flatMap(connect, query)))
    )
    const openedPerQuery = opened
    opened = 0
    const pool = yield* Pool.make({ acquire: connect, size: 10 })
    yield* Effect.scoped(Effect.forEach(queries.slice(0, 10), () => pool.get, { concurrency: "unbounded" }))
    const pooled = yield* traced(
      "simulated: pooled",
      Effect.forEach(queries, () => Effect.scoped(Effect.flatMap(pool.get.pipe(Effect.withSpan("acquire")), query)))
    )

    const real = yield* Effect.forEach(yield* backends, (b) => measureBackend(b))
    const claims: Array<Tour.Claim> = real.flatMap((r) => [
      claim(`${r.name}: query with its own connection (real ms)`, Number.NaN, r.perQueryMs, "ms", {
        check: "info",
        realTime: true
      }),
      claim(`${r.name}: query on a warm pool (real ms)`, Number.NaN, r.pooledMs, "ms", {
        check: "info",
        realTime: true
      }),
      claim(`${r.name}: faster with the pool`, 100, r.pooledMs === 0 ? Number.NaN : r.perQueryMs / r.pooledMs, "x", {
        check: "info",
        realTime: true
      })
    ])
    return {
      // Short: it is the step's line in the summary table; the per-backend milliseconds are in the claims.
      headline: virtualTime
        ? `real connections are measured in real time only (${real.map((r) => r.name).join(", ")})`
        : `a query on its own connection vs on a warm pool: ${
          real.map((r) => `${r.name} ${(r.perQueryMs / r.pooledMs).toFixed(0)}x`).join(", ")
        }; guide ~100x`,
      claims,
      assumptions: [
        { label: "illustration: simulated connect, query", value: "100 ms, 5 ms (guide time)" },
        { label: "illustration: pool size (Effect Pool)", value: "10, opened up front" },
        { label: "real queries each way, per backend", value: String(real[0]?.count ?? 0) }
      ],
      timelines: [perQuery.timeline, pooled.timeline],
      distributions: [],
      notes: [
        `illustration (no claim): 20 simulated queries take ${
          (perQuery.ms / 1000).toFixed(2)
        } s connecting per query, ${
          (pooled.ms / 1000).toFixed(2)
        } s on the pool; ${openedPerQuery} connections opened without it, ${opened} with it`,
        "real rows: Database.query opening a connection per query (connect, log in, query, close) vs on a warm pool"
      ]
    }
  })
}
