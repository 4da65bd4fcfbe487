/**
 * The PostgreSQL pool behind `Database.layerPg`: a `pg` pool handed to
 * `@effect/sql-pg` (`layerFromPool`), with two things the driver lacks.
 *
 * 1. Cancelling outside the pool. When a statement is interrupted, the driver
 *    cancels it with `SELECT pg_cancel_backend(pid)` through the same pool: on a
 *    full pool that waits for a free connection (and gives up after 5 s), so
 *    the caller gets control back late, the statement keeps running, and the
 *    queued cancel may later hit whatever query that backend runs next. Here
 *    that one statement is answered instead with PostgreSQL's cancel protocol
 *    on a fresh socket (no pool slot, no login, no backend), then waits for
 *    the server to end the statement; if it has not within `cancelGrace`, the
 *    connection is closed and dropped from the pool.
 * 2. Connection failures that keep their cause: refused port, unknown host,
 *    missing database, failed authentication, malformed URL, timeout.
 *
 * @internal
 */
import type * as PgClient from "@effect/sql-pg/PgClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { createRequire } from "node:module"
import * as Database from "../Database.js"
import { importPeer, MissingPeerDependency } from "./peer.js"

// -----------------------------------------------------------------------------
// the few members of `pg` used here (it ships no types, and @types/pg is not a dependency)
// -----------------------------------------------------------------------------

interface PgEmitter {
  // `any`: pg's EventEmitter and query signatures are untyped; mirrored as they are
  on(event: string, listener: (...args: ReadonlyArray<any>) => void): unknown
  // `any`: pg's EventEmitter and query signatures are untyped; mirrored as they are
  once(event: string, listener: (...args: ReadonlyArray<any>) => void): unknown
  // `any`: pg's EventEmitter and query signatures are untyped; mirrored as they are
  off(event: string, listener: (...args: ReadonlyArray<any>) => void): unknown
}

interface PgConnection extends PgEmitter {
  // `any`: pg's EventEmitter and query signatures are untyped; mirrored as they are
  prependListener(event: string, listener: (...args: ReadonlyArray<any>) => void): unknown
  readonly stream: { destroy(): void }
  connect(portOrPath: number | string, host?: string): void
  cancel(processID: number, secretKey: number): void
}

/** @internal */
export interface PgPoolClient extends PgEmitter {
  readonly processID: number | null
  readonly secretKey: number | null
  readonly host: string
  readonly port: number
  readonly ssl: unknown
  readonly connection: PgConnection
  /** The statement running now (`activeQuery` is the deprecated public getter for it). */
  readonly _activeQuery: object | null
  /** pg-pool drops a released client that is not queryable instead of reusing it. */
  _queryable: boolean
  end(): Promise<void>
}

/** @internal */
export interface PgPool extends PgEmitter {
  // `any`: pg's EventEmitter and query signatures are untyped; mirrored as they are
  query: (...args: ReadonlyArray<any>) => any
  end(): Promise<void>
  readonly totalCount: number
}

interface PgModule {
  readonly Pool: new(config: Record<string, unknown>) => PgPool
  readonly Connection: new(config: Record<string, unknown>) => PgConnection
}

// The same `pg` that @effect/sql-pg uses (its dependency, resolved from it), loaded when a pool is built.
const loadPg = (): PgModule => {
  const require = createRequire(import.meta.url)
  return createRequire(require.resolve("@effect/sql-pg/PgClient"))("pg") as PgModule
}

// -----------------------------------------------------------------------------
// cancelling outside the pool
// -----------------------------------------------------------------------------

/** The statement `@effect/sql-pg` sends through the pool to cancel an interrupted query. */
const driverCancel = /^SELECT pg_cancel_backend\((\d+)\)$/

/** Sends a CancelRequest for `client`'s backend on a new socket (best effort: errors are ignored). */
const sendCancel = (pg: PgModule, client: PgPoolClient, grace: number) => {
  if (client.processID === null || client.secretKey === null) return
  const { processID, secretKey } = client
  const con = new pg.Connection({ ssl: client.ssl })
  con.on("error", () => {})
  con.once(client.ssl ? "sslconnect" : "connect", () => con.cancel(processID, secretKey))
  // the server closes a cancel connection at once; never leave one behind
  const timer = setTimeout(() => con.stream.destroy(), grace)
  con.once("end", () => clearTimeout(timer))
  if (client.host.startsWith("/")) con.connect(`${client.host}/.s.PGSQL.${client.port}`)
  else con.connect(client.port, client.host)
}

/**
 * Cancels `client`'s running statement on the server and resolves once the
 * server has ended it, or after `grace` ms, when the connection is closed (the
 * pool then drops it instead of reusing a connection still busy with it).
 */
const cancelOutside = (pg: PgModule, client: PgPoolClient | undefined, grace: number): Promise<void> =>
  new Promise((resolve) => {
    const target = client?._activeQuery
    if (client === undefined || target === null || target === undefined) return resolve()
    const finish = () => {
      clearTimeout(timer)
      client.connection.off("readyForQuery", check)
      resolve()
    }
    // registered after the client's own listener, so the statement's callback has run
    const check = () => {
      if (client._activeQuery !== target) finish()
    }
    const timer = setTimeout(() => {
      client.end().catch(() => {})
      finish()
    }, grace)
    client.connection.on("readyForQuery", check)
    sendCancel(pg, client, grace)
  })

const installCancel = (pg: PgModule, pool: PgPool, grace: number) => {
  const clients = new Map<number, PgPoolClient>()
  pool.on("connect", (client: PgPoolClient) => {
    if (client.processID !== null) clients.set(client.processID, client)
    // A FATAL error (backend terminated, server shutting down) ends the session, but the statement's
    // callback hands the client back to the pool before the socket closes: without this, a retry
    // right after `pg_terminate_backend` could be given the dead connection again.
    client.connection.prependListener("errorMessage", (message: { readonly severity?: unknown }) => {
      if (message.severity === "FATAL" || message.severity === "PANIC") client._queryable = false
    })
  })
  pool.on("remove", (client: PgPoolClient) => {
    if (client.processID !== null) clients.delete(client.processID)
  })
  const query = pool.query.bind(pool)
  // `any`: pg's EventEmitter and query signatures are untyped; mirrored as they are
  pool.query = (...args: ReadonlyArray<any>) => {
    const [text, callback] = args
    const match = typeof text === "string" && typeof callback === "function" ? driverCancel.exec(text) : null
    if (match === null) return query(...args)
    cancelOutside(pg, clients.get(Number(match[1])), grace).then(() => callback(null))
    return undefined
  }
}

// -----------------------------------------------------------------------------
// connection failures
// -----------------------------------------------------------------------------

/** Where the pool connects, without the password (for messages). */
interface Target {
  readonly host: string
  readonly port: string
  readonly database: string
  readonly user: string
}

const describeTarget = (t: Target) => `${t.user === "" ? "" : `${t.user}@`}${t.host}:${t.port}/${t.database}`

/** @internal */
export const connectFailure = (error: unknown, target: Target, timeout: Duration.Duration): Database.ConnectionLost => {
  const cause = error as { readonly code?: unknown; readonly message?: unknown } | undefined
  const code = typeof cause?.code === "string" ? cause.code : undefined
  const message = typeof cause?.message === "string" ? cause.message : String(error)
  const where = describeTarget(target)
  const lost = (reason: Database.ConnectionLost["reason"], description: string) =>
    new Database.ConnectionLost({ query: "connect", reason, description, cause: error })
  switch (code) {
    case "ECONNREFUSED":
      return lost("Refused", `connection refused by ${target.host}:${target.port}: no PostgreSQL listens there`)
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return lost("HostNotFound", `host "${target.host}" could not be resolved (${code})`)
    case "ETIMEDOUT":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return lost("Unreachable", `${target.host}:${target.port} is unreachable (${code})`)
    case "3D000":
      return lost("DatabaseMissing", `database "${target.database}" does not exist on ${where} (SQLSTATE 3D000)`)
    case "28P01":
    case "28000":
      return lost("AuthFailed", `authentication failed for ${where} (SQLSTATE ${code}): ${message}`)
  }
  if (/timeout|timed out/i.test(message)) {
    return lost("Timeout", `no connection to ${where} within ${Duration.format(timeout)}: ${message}`)
  }
  return lost("Other", `could not connect to ${where}: ${code === undefined ? message : `${message} (${code})`}`)
}

/** Reads the URL; a malformed one fails without echoing it (it holds the password). */
const parseUrl = (url: string): URL | Database.ConnectionLost => {
  const invalid = (why: string, cause?: unknown) =>
    new Database.ConnectionLost({
      query: "connect",
      reason: "InvalidUrl",
      description: `the PostgreSQL URL is malformed: ${why} (expected postgres://user:password@host:port/database)`,
      cause
    })
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch (error) {
    return invalid(url.trim() === "" ? "it is empty" : "it is not a URL", error)
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    return invalid(`the scheme is "${parsed.protocol}"`)
  }
  if (parsed.hostname === "" && !parsed.searchParams.has("host")) return invalid("it names no host")
  return parsed
}

// -----------------------------------------------------------------------------
// the layer
// -----------------------------------------------------------------------------

/** @internal */
export interface PoolConfig {
  readonly url: string
  readonly min: number
  readonly max: number
  readonly connectTimeout: Duration.Duration
  readonly idleTimeout: Duration.Duration
  readonly statementTimeout: Duration.Duration
  readonly applicationName: string
  /** How long an interrupted statement may take to end after its cancel request. */
  readonly cancelGrace: Duration.Duration
}

const makePool = (
  config: PoolConfig
): Effect.Effect<PgPool, Database.ConnectionLost | MissingPeerDependency, Scope.Scope> =>
  Effect.gen(function*() {
    const url = parseUrl(config.url)
    if (url instanceof Database.ConnectionLost) return yield* url
    const target: Target = {
      host: url.hostname || (url.searchParams.get("host") ?? ""),
      port: url.port || "5432",
      database: decodeURIComponent(url.pathname.slice(1)) || decodeURIComponent(url.username),
      user: decodeURIComponent(url.username)
    }
    const pg = yield* Effect.try({
      try: loadPg,
      catch: (cause) =>
        new MissingPeerDependency({ packageName: "@effect/sql-pg", neededBy: "Database.layerPg", cause })
    })
    const pool = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const pool = new pg.Pool({
          connectionString: config.url,
          connectionTimeoutMillis: Duration.toMillis(config.connectTimeout),
          idleTimeoutMillis: Duration.toMillis(config.idleTimeout),
          max: config.max,
          min: config.min,
          application_name: config.applicationName,
          // 0 is PostgreSQL's "no statement timeout"
          statement_timeout: Duration.isFinite(config.statementTimeout) ? Duration.toMillis(config.statementTimeout) : 0
        })
        // an idle connection that breaks is dropped by the pool; without a listener it would crash the process
        pool.on("error", () => {})
        installCancel(pg, pool, Duration.toMillis(config.cancelGrace))
        return pool
      }),
      (pool) => Effect.promise(() => pool.end()).pipe(Effect.timeoutOption("1 second"))
    )
    yield* Effect.tryPromise({
      try: (signal) =>
        new Promise<void>((resolve, reject) => {
          signal.addEventListener("abort", () => reject(new Error("connection timed out")))
          pool.query("SELECT 1").then(() => resolve(), reject)
        }),
      catch: (error) => connectFailure(error, target, config.connectTimeout)
    }).pipe(
      Effect.timeoutFail({
        duration: config.connectTimeout,
        onTimeout: () => connectFailure(new Error("connection timed out"), target, config.connectTimeout)
      })
    )
    return pool
  })

/** @internal */
export const layerPool = (
  config: PoolConfig
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, Database.ConnectionLost | MissingPeerDependency> =>
  Layer.unwrapScoped(
    Effect.gen(function*() {
      // an optional peer, loaded when a pool is built, so SQLite users need not install it
      const PgClient = yield* importPeer("@effect/sql-pg", "Database.layerPg", () => import("@effect/sql-pg/PgClient"))
      const pool = yield* makePool(config)
      return PgClient.layerFromPool({
        // `any`: layerFromPool is typed against @types/pg, which flowtune does not install.
        acquire: Effect.succeed(pool as any),
        applicationName: config.applicationName
      }).pipe(
        Layer.mapError((error) =>
          new Database.ConnectionLost({ query: "connect", reason: "Other", description: error.message, cause: error })
        )
      )
    })
  )
