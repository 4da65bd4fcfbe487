import type * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Database from "../Database.js"
import * as Primitive from "../Primitive.js"
import { layerPool } from "./databasePg.js"
import * as check from "./options.js"
import { importPeer, type MissingPeerDependency } from "./peer.js"
import { annotateSpan } from "./tracing.js"

// -----------------------------------------------------------------------------
// metrics
// -----------------------------------------------------------------------------

const boundaries = MetricBoundaries.exponential({ start: 0.25, factor: 2, count: 16 })

/** @internal */
export const metrics = {
  queries: Metric.counter("flowtune_database_queries_total", { description: "Queries, by outcome" }),
  queryMs: Metric.histogram("flowtune_database_query_ms", boundaries, "Query latency, pool wait included (ms)"),
  poolWaitMs: Metric.histogram("flowtune_database_pool_wait_ms", boundaries, "Wait for a free connection (ms)"),
  reconnects: Metric.counter("flowtune_database_reconnects_total", {
    description: "Queries retried after a lost connection"
  })
}

const queryCounter = (primitive: string, outcome: string) =>
  // `tagged` keeps the metric's kind but its signature forgets it.
  metrics.queries.pipe(
    Metric.tagged("primitive", primitive),
    Metric.tagged("outcome", outcome)
  ) as typeof metrics.queries

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

const connectionCodes = new Set(["57P01", "57P02", "57P03", "ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT"])
const connectionMessage =
  /connection terminated|connection timeout|connection error|not queryable|terminating connection|ECONNRE|socket/i

/** @internal */
export const fromSqlError = (
  error: SqlError.SqlError,
  query: string,
  timeout?: Duration.Duration
): Database.DatabaseError => {
  // The driver's error (pg's DatabaseError, a socket error, better-sqlite3's
  // SqliteError) is the cause; its `code` is what tells them apart.
  const cause = error.cause as { readonly code?: unknown; readonly message?: unknown } | undefined
  const code = typeof cause?.code === "string" ? cause.code : undefined
  const message = typeof cause?.message === "string" ? cause.message : error.message
  if (code === "57014") {
    return new Database.QueryTimeout(timeout === undefined ? { query } : { query, timeout })
  }
  if (message === "timeout exceeded when trying to connect") {
    return new Database.PoolExhausted({ query, waited: timeout ?? Duration.zero })
  }
  if ((code !== undefined && (connectionCodes.has(code) || code.startsWith("08"))) || connectionMessage.test(message)) {
    return new Database.ConnectionLost({
      query,
      reason: code === "ECONNREFUSED" ? "Refused" : "Terminated",
      description: message,
      cause: error.cause
    })
  }
  return new Database.QueryFailed(
    code === undefined ? { query, description: message } : { query, code, description: message }
  )
}

// -----------------------------------------------------------------------------
// service
// -----------------------------------------------------------------------------

const make = (options: {
  readonly system: string
  readonly maxConnections?: number | undefined
  readonly acquireTimeout?: Duration.DurationInput | undefined
  readonly statementTimeout?: Duration.Duration | undefined
}) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const acquireTimeout = Duration.decode(options.acquireTimeout ?? "5 seconds")
    const max = options.maxConnections
    // The pool's own queue shares one timeout with connecting; our own permits
    // make "waited too long for a slot" a distinct, typed failure.
    const permits = max === undefined ? undefined : yield* Effect.makeSemaphore(max)
    const withConnection = <A, E, R>(
      query: string,
      effect: Effect.Effect<A, E, R>
    ): Effect.Effect<A, E | Database.PoolExhausted, R> =>
      permits === undefined ? effect : Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          const start = yield* Clock.currentTimeMillis
          yield* restore(permits.take(1)).pipe(
            Effect.timeoutFail({
              duration: acquireTimeout,
              onTimeout: () => new Database.PoolExhausted({ query, waited: acquireTimeout, maxConnections: max })
            })
          )
          const end = yield* Clock.currentTimeMillis
          yield* Metric.update(Metric.tagged(metrics.poolWaitMs, "primitive", query), end - start)
          return yield* restore(effect).pipe(Effect.ensuring(permits.release(1)))
        })
      )
    return Database.Database.of({
      sql,
      system: options.system,
      maxConnections: max,
      acquireTimeout,
      statementTimeout: options.statementTimeout,
      withConnection
    })
  })

/** @internal */
export const layerFromSqlClient = (options?: {
  readonly system?: string | undefined
  readonly maxConnections?: number | undefined
  readonly acquireTimeout?: Duration.DurationInput | undefined
}): Layer.Layer<Database.Database, never, SqlClient.SqlClient> => {
  const owner = "Database.layerFromSqlClient"
  const system = options?.system === undefined ? "other_sql" : check.nonEmptyString(owner, "system", options.system)
  const maxConnections = options?.maxConnections === undefined
    ? undefined
    : check.positiveInt(owner, "maxConnections", options.maxConnections)
  const acquireTimeout = check.durationOr(owner, "acquireTimeout", options?.acquireTimeout, "5 seconds")
  return Layer.effect(Database.Database, make({ system, maxConnections, acquireTimeout }))
}

/** How long an interrupted statement may take to end after its cancel request (see internal/databasePg.ts). */
const cancelGrace = Duration.millis(400)

const checkPgOptions = (options: Database.PgOptions) => {
  const owner = "Database.layerPg"
  if (typeof options !== "object" || options === null) {
    return check.invalidShape(owner, `the options must be an object, got ${check.show(options)}`)
  }
  if (typeof options.url !== "string" && !Redacted.isRedacted(options.url)) {
    check.invalid(owner, "url", "a string or a Redacted string", typeof options.url)
  }
  const min = check.numberOr(owner, "min", options.min, 10, { integer: true, min: 0 })
  const max = check.numberOr(owner, "max", options.max, 20, { integer: true, min: 1 })
  if (min > max) check.invalid(owner, "min", `at most max (${max})`, min)
  return {
    min,
    max,
    connectTimeout: check.durationOr(owner, "connectTimeout", options.connectTimeout, "5 seconds"),
    // Infinity: no statement timeout (PostgreSQL's 0)
    statementTimeout: check.durationOr(owner, "statementTimeout", options.statementTimeout, "5 seconds", {
      infinite: true
    }),
    acquireTimeout: check.durationOr(owner, "acquireTimeout", options.acquireTimeout, "5 seconds"),
    idleTimeout: check.durationOr(owner, "idleTimeout", options.idleTimeout, "30 seconds"),
    applicationName: options.applicationName === undefined
      ? "flowtune"
      : check.nonEmptyString(owner, "applicationName", options.applicationName)
  }
}

/** @internal */
export const layerPg = (
  options: Database.PgOptions
): Layer.Layer<
  Database.Database | SqlClient.SqlClient | PgClient.PgClient,
  Database.ConnectionLost | MissingPeerDependency
> => {
  const checked = checkPgOptions(options)
  const { max, min, statementTimeout } = checked
  const client = layerPool({
    ...checked,
    url: typeof options.url === "string" ? options.url : Redacted.value(options.url),
    cancelGrace
  })
  const service = Layer.effect(
    Database.Database,
    Effect.gen(function*() {
      const db = yield* make({
        system: "postgresql",
        maxConnections: max,
        acquireTimeout: checked.acquireTimeout,
        statementTimeout: Duration.isFinite(statementTimeout) ? statementTimeout : undefined
      })
      // Open `min` connections now, so the first requests find a warm pool.
      if (min > 1) {
        yield* Effect.forEach(Array.from({ length: min }), () => db.sql`SELECT 1`, {
          concurrency: min,
          discard: true
        }).pipe(
          Effect.mapError((error) => {
            const lost = fromSqlError(error, "connect")
            return lost._tag === "ConnectionLost"
              ? lost
              : new Database.ConnectionLost({ query: "connect", description: error.message, cause: error.cause })
          })
        )
      }
      return db
    })
  )
  return Layer.provideMerge(service, client)
}

const missingUrl =
  "DATABASE_URL is not set: Database.layerPgConfig reads the PostgreSQL URL from it (postgres://user:password@host:port/database)"

/** @internal */
export const layerPgConfig = (
  options?: Omit<Database.PgOptions, "url">
): Layer.Layer<
  Database.Database | SqlClient.SqlClient | PgClient.PgClient,
  Database.ConnectionLost | ConfigError.ConfigError | MissingPeerDependency
> =>
  Layer.unwrapEffect(
    Config.redacted("DATABASE_URL").pipe(
      // the stock message ("Expected DATABASE_URL to exist...") says nothing of what the value is for
      Effect.mapError((error) =>
        ConfigError.isMissingDataOnly(error) ? ConfigError.MissingData(["DATABASE_URL"], missingUrl) : error
      ),
      Effect.map((url) => layerPg({ ...options, url }))
    )
  )

/** @internal */
export const layerSqlite = (
  options: Database.SqliteOptions
): Layer.Layer<Database.Database | SqlClient.SqlClient, ConfigError.ConfigError | MissingPeerDependency> => {
  const filename = check.nonEmptyString("Database.layerSqlite", "filename", options?.filename)
  return Layer.provideMerge(
    Layer.effect(Database.Database, make({ system: "sqlite" })),
    // An optional peer (it brings the native better-sqlite3), loaded only when SQLite is used.
    Layer.unwrapEffect(Effect.map(
      importPeer(
        "@effect/sql-sqlite-node",
        "Database.layerSqlite",
        () => import("@effect/sql-sqlite-node/SqliteClient")
      ),
      (SqliteClient) => SqliteClient.layer({ filename })
    ))
  )
}

// -----------------------------------------------------------------------------
// primitives
// -----------------------------------------------------------------------------

/** @internal */
export const query = <In, A = Record<string, unknown>>(
  name: string,
  f: (input: In, sql: SqlClient.SqlClient) => Effect.Effect<ReadonlyArray<A>, SqlError.SqlError>,
  options?: Database.QueryOptions
): Primitive.Primitive<In, ReadonlyArray<A>, Database.DatabaseError, Database.Database> => {
  check.nonEmptyString("Database.query", "name", name)
  check.func(name, "f", f)
  const retry = check.booleanOr(name, "retryOnConnectionLoss", options?.retryOnConnectionLoss, true)
  const costPerCall = options?.costPerCall === undefined
    ? undefined
    : check.number(name, "costPerCall", options.costPerCall, { min: 0 })
  const body = (input: In) =>
    Effect.gen(function*() {
      const db = yield* Database.Database
      const start = yield* Clock.currentTimeMillis
      const once = db.withConnection(
        name,
        Effect.suspend(() => f(input, db.sql)).pipe(
          Effect.mapError((error) => fromSqlError(error, name, db.statementTimeout))
        )
      )
      const attempt = retry
        ? Effect.retry(
          Effect.tapErrorTag(once, "ConnectionLost", () =>
            Metric.increment(Metric.tagged(metrics.reconnects, "primitive", name))),
          {
            // A backend killed mid-query fails the query before the driver has
            // seen the socket close, so the pool may hand the dead connection
            // straight back: a short pause lets it notice and replace it.
            schedule: Schedule.exponential("10 millis", 5).pipe(Schedule.intersect(Schedule.recurs(2))),
            while: (error) =>
              error._tag === "ConnectionLost"
          }
        )
        : once
      const rows = yield* attempt.pipe(
        Effect.tapError((error) =>
          Effect.zipRight(
            Metric.increment(queryCounter(name, error._tag)),
            annotateSpan(() => ({ "db.system": db.system, "error.type": error._tag }))
          )
        )
      )
      const end = yield* Clock.currentTimeMillis
      yield* Metric.increment(queryCounter(name, "success"))
      yield* Metric.update(Metric.tagged(metrics.queryMs, "primitive", name), end - start)
      yield* annotateSpan(() => ({ "db.system": db.system, "db.response.returned_rows": rows.length }))
      return rows
    })
  return Primitive.make(name, body, {
    annotations: costPerCall === undefined ? {} : { costPerCall }
  })
}
