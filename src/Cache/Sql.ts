/**
 * The SQL tier (L3) over an `@effect/sql` `SqlClient`, so the same code runs
 * on PostgreSQL (`@effect/sql-pg`) and SQLite (`@effect/sql-sqlite-node`, the
 * embedded default). The table is created on first use; an entry past its
 * `expires_at` is never returned, and a background fiber purges them.
 *
 * @example
 * ```ts
 * import { SqliteClient } from "@effect/sql-sqlite-node"
 * import { Layer } from "effect"
 * import * as CacheSql from "flowtune/Cache/Sql"
 *
 * const Tiers = CacheSql.layer().pipe(Layer.provide(SqliteClient.layer({ filename: "cache.db" })))
 * ```
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Cache from "../Cache.js"
import * as Opts from "../internal/options.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Default: "flowtune_cache". */
  readonly table?: string | undefined
  /**
   * The longest one cached call spends on this tier in all: reads and writes
   * share it (see `Cache.RemoteTier`). Default: 500 millis.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /** The tier's name in stats and metrics. Default: "sql". */
  readonly name?: string | undefined
  /** How often expired rows are deleted. Positive and finite. Default: 1 minute. */
  readonly purgeInterval?: Duration.DurationInput | undefined
}

// "Never expires", as a BIGINT both databases store exactly (the largest Date).
const never = 8_640_000_000_000_000

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`)

const owner = "CacheSql.tier"

/**
 * The SQL tier, for `Cache.layer(...)`. Options are checked when it is called
 * (`Primitive.InvalidPrimitive` naming the option, the value and the range).
 *
 * @since 0.1.0
 * @category tiers
 */
export const tier = (
  options: Options = {}
): Effect.Effect<Cache.RemoteTier, never, SqlClient.SqlClient | Scope.Scope> => {
  if (typeof options !== "object" || options === null) Opts.invalidShape(owner, "options must be an object")
  const name = options.name === undefined ? "sql" : Opts.nonEmptyString(owner, "name", options.name)
  const table = options.table ?? "flowtune_cache"
  if (typeof table !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) {
    Opts.invalid(owner, "table", "an SQL identifier (letters, digits, _; not starting with a digit)", table)
  }
  const timeout = Opts.durationOr(owner, "timeout", options.timeout, "500 millis")
  // 0, NaN or a negative interval would purge in a tight loop (100% CPU): refused here.
  const purgeInterval = Opts.durationOr(owner, "purgeInterval", options.purgeInterval, "1 minute")
  return Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const fail = (operation: string) => (cause: unknown) => new Cache.CacheTierError({ tier: name, operation, cause })

    // Created on first use rather than at startup, so a database that is down
    // when the program starts only degrades the tier until it is back.
    let ready = false
    const lock = yield* Effect.makeSemaphore(1)
    const ensureTable = Effect.suspend(() =>
      ready ? Effect.void : lock.withPermits(1)(
        Effect.suspend(() =>
          ready ? Effect.void : Effect.gen(function*() {
            yield* sql`CREATE TABLE IF NOT EXISTS ${sql(table)} (
              cache_key TEXT PRIMARY KEY,
              value TEXT NOT NULL,
              expires_at BIGINT NOT NULL
            )`
            yield* sql`CREATE INDEX IF NOT EXISTS ${sql(`${table}_expires_at`)} ON ${sql(table)} (expires_at)`
            ready = true
          })
        )
      )
    )
    const run = <A, E>(operation: string, effect: Effect.Effect<A, E>) =>
      Effect.zipRight(ensureTable, effect).pipe(Effect.mapError(fail(operation)))

    const purge = Effect.suspend(() =>
      ready
        ? Effect.flatMap(
          Effect.clockWith((c) => c.currentTimeMillis),
          (now) => sql`DELETE FROM ${sql(table)} WHERE expires_at <= ${now}`
        )
        : Effect.void
    ).pipe(Effect.ignore)
    yield* Effect.forkScoped(
      Effect.repeat(purge, Schedule.spaced(purgeInterval))
    )

    const remote: Cache.RemoteTier = {
      _tag: "Remote",
      name,
      timeout,
      get: (key, now) =>
        run(
          "get",
          Effect.map(
            sql<{ value: string }>`SELECT value FROM ${sql(table)} WHERE cache_key = ${key} AND expires_at > ${now}`,
            (rows) => Option.fromNullable(rows[0]?.value)
          )
        ),
      set: (key, payload, expiresAt) =>
        run(
          "set",
          sql`INSERT INTO ${sql(table)} (cache_key, value, expires_at)
            VALUES (${key}, ${payload}, ${expiresAt === Infinity ? never : Math.ceil(expiresAt)})
            ON CONFLICT (cache_key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`
        ),
      delete: (key) => run("delete", sql`DELETE FROM ${sql(table)} WHERE cache_key = ${key}`),
      clear: (prefix) =>
        run("clear", sql`DELETE FROM ${sql(table)} WHERE cache_key LIKE ${`${likeEscape(prefix)}%`} ESCAPE '\\'`)
    }
    return remote
  })
}

/**
 * A one-tier stack: SQL only, on whatever `SqlClient` is provided.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Cache.CacheTiers, never, SqlClient.SqlClient> =>
  Cache.layer(tier(options))
