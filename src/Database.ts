/**
 * Pooled SQL queries as workflow primitives, over `@effect/sql`: the guide's
 * "Connection Pooling" step. A PostgreSQL layer keeps a warm pool (the
 * guide's min 10 / max 20), enforces a statement timeout on the server (the
 * guide's 5 s command timeout) and bounds how long a query waits for a free
 * connection; SQLite is the embedded default.
 *
 * Every failure is typed: `QueryTimeout`, `PoolExhausted` (the wait for a
 * connection exceeded `acquireTimeout`), `ConnectionLost` (the server went
 * away; the pool replaces the connection and the query is retried),
 * `QueryFailed` (anything the server rejected).
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { Database, Primitive } from "flowtune"
 *
 * const userById = Database.query("userById", (id: number, sql) =>
 *   sql<{ id: number; name: string }>`SELECT id, name FROM users WHERE id = ${id}`)
 *
 * const program = Primitive.run(userById, 42).pipe(
 *   Effect.provide(Database.layerPg({ url: Redacted.make("postgres://localhost/app") }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import type * as PgClient from "@effect/sql-pg/PgClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Metric from "effect/Metric"
import type * as MetricKeyType from "effect/MetricKeyType"
import type * as MetricState from "effect/MetricState"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as internal from "./internal/database.js"
import type { MissingPeerDependency } from "./internal/peer.js"
import type * as Primitive from "./Primitive.js"

// -----------------------------------------------------------------------------
// service
// -----------------------------------------------------------------------------

/**
 * What `query` runs on: the SQL client, and the pool's limits.
 *
 * @since 0.1.0
 * @category models
 */
export interface DatabaseShape {
  readonly sql: SqlClient.SqlClient
  /** `"postgresql"`, `"sqlite"`, ...: the `db.system` span attribute. */
  readonly system: string
  /** Queries in flight at once (the pool's size); `undefined` when unbounded. */
  readonly maxConnections: number | undefined
  /** How long a query may wait for a free connection before `PoolExhausted`. */
  readonly acquireTimeout: Duration.Duration
  /** The server-side statement timeout, when there is one. */
  readonly statementTimeout: Duration.Duration | undefined
  /** Takes a connection slot for the effect's duration (bounded wait). */
  readonly withConnection: <A, E, R>(
    query: string,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | PoolExhausted, R>
}

/**
 * The database service.
 *
 * @since 0.1.0
 * @category services
 */
export class Database extends Context.Tag("flowtune/Database")<Database, DatabaseShape>() {}

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

/**
 * The statement ran past the statement timeout and was cancelled.
 *
 * @since 0.1.0
 * @category errors
 */
export class QueryTimeout extends Schema.TaggedError<QueryTimeout>("flowtune/Database/QueryTimeout")("QueryTimeout", {
  query: Schema.String,
  timeout: Schema.optional(Schema.DurationFromMillis)
}) {}

/**
 * Every connection stayed busy for longer than `acquireTimeout`.
 *
 * @since 0.1.0
 * @category errors
 */
export class PoolExhausted extends Schema.TaggedError<PoolExhausted>("flowtune/Database/PoolExhausted")(
  "PoolExhausted",
  {
    query: Schema.String,
    waited: Schema.DurationFromMillis,
    maxConnections: Schema.optional(Schema.Number)
  }
) {}

/**
 * Why a connection could not be made (or was lost), when it is known:
 * `Refused` (nothing listens on the port), `HostNotFound`, `Unreachable`,
 * `Timeout`, `DatabaseMissing` (SQLSTATE 3D000), `AuthFailed` (28P01, 28000),
 * `InvalidUrl` (the URL is malformed; it is never echoed, it holds the
 * password), `Terminated` (the backend or the server went away mid-query),
 * `Other`.
 *
 * @since 0.1.0
 * @category errors
 */
export const ConnectionFailure = Schema.Literal(
  "Refused",
  "HostNotFound",
  "Unreachable",
  "Timeout",
  "DatabaseMissing",
  "AuthFailed",
  "InvalidUrl",
  "Terminated",
  "Other"
)

/**
 * The connection could not be made, or broke during the query (server
 * restarted, backend terminated, network gone). `reason` says which, when it
 * is known; `description` says it in words (what was refused, which database
 * is missing...); `cause` is the driver's error.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionLost extends Schema.TaggedError<ConnectionLost>("flowtune/Database/ConnectionLost")(
  "ConnectionLost",
  {
    query: Schema.String,
    description: Schema.String,
    reason: Schema.optional(ConnectionFailure),
    cause: Schema.optional(Schema.Defect)
  }
) {
  override get message() {
    return `${this.query === "connect" ? "PostgreSQL connection failed" : `Query "${this.query}" lost its connection`}${
      this.reason === undefined ? "" : ` (${this.reason})`
    }: ${this.description}`
  }
}

/**
 * The server rejected the statement (syntax, constraint, permission...).
 * `code` is the SQLSTATE (PostgreSQL) or the driver's code (SQLite).
 *
 * @since 0.1.0
 * @category errors
 */
export class QueryFailed extends Schema.TaggedError<QueryFailed>("flowtune/Database/QueryFailed")("QueryFailed", {
  query: Schema.String,
  code: Schema.optional(Schema.String),
  description: Schema.String
}) {}

/**
 * Every failure of a database primitive.
 *
 * @since 0.1.0
 * @category errors
 */
export type DatabaseError = QueryTimeout | PoolExhausted | ConnectionLost | QueryFailed

/**
 * Classifies an `@effect/sql` error (PostgreSQL SQLSTATE 57014 ->
 * `QueryTimeout`, 57P0x / 08xxx / socket errors -> `ConnectionLost`, ...).
 *
 * @since 0.1.0
 * @category errors
 */
export const fromSqlError: (error: SqlError.SqlError, query: string, timeout?: Duration.Duration) => DatabaseError =
  internal.fromSqlError

// -----------------------------------------------------------------------------
// primitives
// -----------------------------------------------------------------------------

/**
 * Options of `query`.
 *
 * @since 0.1.0
 * @category models
 */
export interface QueryOptions {
  /**
   * Run the statement again on a fresh connection after `ConnectionLost`
   * (up to twice, after 10 ms and 50 ms). Safe for reads and idempotent writes (a statement cut
   * off mid-flight was rolled back unless its commit had already landed).
   * Default: true.
   */
  readonly retryOnConnectionLoss?: boolean | undefined
  /** The fixed price of one call, as the primitive's `costPerCall` annotation. */
  readonly costPerCall?: number | undefined
}

/**
 * A query as a primitive: the input becomes a statement (use the `sql`
 * template, whose interpolations are bound parameters), run on a pooled
 * connection, in a span named after the primitive.
 *
 * @since 0.1.0
 * @category primitives
 */
export const query: <In, A = Record<string, unknown>>(
  name: string,
  f: (input: In, sql: SqlClient.SqlClient) => Effect.Effect<ReadonlyArray<A>, SqlError.SqlError>,
  options?: QueryOptions
) => Primitive.Primitive<In, ReadonlyArray<A>, DatabaseError, Database> = internal.query

// -----------------------------------------------------------------------------
// layers
// -----------------------------------------------------------------------------

/**
 * Options of `layerPg`. Defaults are the guide's.
 *
 * @since 0.1.0
 * @category models
 */
export interface PgOptions {
  readonly url: Redacted.Redacted | string
  /** Connections kept open (and opened when the layer starts). Default: 10. */
  readonly min?: number | undefined
  /** The pool's bound. Default: 20. */
  readonly max?: number | undefined
  /** Time to open one connection. Default: 5 seconds. */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /** Server-side `statement_timeout`. Default: 5 seconds (the guide's `command_timeout`). */
  readonly statementTimeout?: Duration.DurationInput | undefined
  /** Longest wait for a free connection before `PoolExhausted`. Default: 5 seconds. */
  readonly acquireTimeout?: Duration.DurationInput | undefined
  /** Idle connections above `min` close after this. Default: 30 seconds. */
  readonly idleTimeout?: Duration.DurationInput | undefined
  /** `application_name`, visible in `pg_stat_activity`. Default: `"flowtune"`. */
  readonly applicationName?: string | undefined
}

/**
 * A PostgreSQL pool (`@effect/sql-pg` over `pg`) and the `Database` service on
 * it. The layer fails with `ConnectionLost` when the server cannot be
 * reached, its `reason` saying why (refused, missing database, failed
 * authentication, malformed URL...). A statement interrupted while it runs is
 * cancelled on the server through PostgreSQL's cancel protocol on a new
 * socket outside the pool, so a full pool does not delay it: the caller gets
 * control back within 400 ms. Options are checked here: a bad one throws
 * `Primitive.InvalidPrimitive`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPg: (
  options: PgOptions
) => Layer.Layer<Database | SqlClient.SqlClient | PgClient.PgClient, ConnectionLost | MissingPeerDependency> =
  internal.layerPg

/**
 * `layerPg` with the URL from `DATABASE_URL` (read as a secret).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPgConfig: (
  options?: Omit<PgOptions, "url">
) => Layer.Layer<
  Database | SqlClient.SqlClient | PgClient.PgClient,
  ConnectionLost | ConfigError.ConfigError | MissingPeerDependency
> = internal.layerPgConfig

/**
 * Options of `layerSqlite`.
 *
 * @since 0.1.0
 * @category models
 */
export interface SqliteOptions {
  /** A file path, or `":memory:"`. */
  readonly filename: string
}

/**
 * SQLite (`@effect/sql-sqlite-node`, better-sqlite3): the embedded default,
 * one synchronous connection, no server and so no statement timeout.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSqlite: (
  options: SqliteOptions
) => Layer.Layer<Database | SqlClient.SqlClient, ConfigError.ConfigError | MissingPeerDependency> = internal.layerSqlite

/**
 * The `Database` service on any `SqlClient` already in context (MySQL, a
 * custom pool...), bounding concurrent queries to `maxConnections`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromSqlClient: (options?: {
  readonly system?: string | undefined
  readonly maxConnections?: number | undefined
  readonly acquireTimeout?: Duration.DurationInput | undefined
}) => Layer.Layer<Database, never, SqlClient.SqlClient> = internal.layerFromSqlClient

// -----------------------------------------------------------------------------
// metrics
// -----------------------------------------------------------------------------

/**
 * Metrics of the database primitives, tagged with `primitive` (and
 * `outcome` for queries: `success` or the error's tag).
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics: {
  readonly queries: Metric.Metric.Counter<number>
  readonly queryMs: Metric.Metric<MetricKeyType.MetricKeyType.Histogram, number, MetricState.MetricState.Histogram>
  readonly poolWaitMs: Metric.Metric<MetricKeyType.MetricKeyType.Histogram, number, MetricState.MetricState.Histogram>
  readonly reconnects: Metric.Metric.Counter<number>
} = internal.metrics
