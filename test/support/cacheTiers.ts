/**
 * Cache tier layers for the behaviour suites: every backend, each with keys
 * or tables of its own so parallel test files never meet.
 */
import { PgClient } from "@effect/sql-pg"
import { SqliteClient } from "@effect/sql-sqlite-node"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { Redis } from "ioredis"
import { rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Cache from "../../src/Cache.js"
import * as CacheRedis from "../../src/Cache/Redis.js"
import * as CacheSql from "../../src/Cache/Sql.js"
import { postgresUrl, redisUrl, uniquePrefix } from "./services.js"

export interface TierCase {
  readonly name: string
  /** A fresh stack each time it is provided (a fresh L1). */
  readonly layer: Layer.Layer<Cache.CacheTiers, unknown>
  /** Entries outlive the layer (a second layer instance sees them). */
  readonly shared: boolean
  /** The name under which the first tier that holds a value counts its hits. */
  readonly firstTier: string
}

export const makeEnv = (suite: string) => {
  const id = uniquePrefix(suite)
  const redisPrefix = `${id}:`
  const table = id
  const sqliteFile = join(tmpdir(), `${id}.sqlite`)
  const Pg = PgClient.layer({ url: Redacted.make(postgresUrl) })
  const Sqlite = SqliteClient.layer({ filename: sqliteFile })
  const redisTier = (options: Partial<CacheRedis.Options> = {}) =>
    CacheRedis.tier({ url: redisUrl, prefix: redisPrefix, ...options })
  const pgTier = (options: Partial<CacheSql.Options> = {}) => CacheSql.tier({ table, name: "postgres", ...options })
  const sqliteTier = (options: Partial<CacheSql.Options> = {}) => CacheSql.tier({ table, name: "sqlite", ...options })
  const cases: ReadonlyArray<TierCase> = [
    { name: "memory", layer: Cache.layerMemory({ capacity: 100 }), shared: false, firstTier: "memory" },
    { name: "redis", layer: Cache.layer(redisTier()), shared: true, firstTier: "redis" },
    { name: "postgres", layer: Cache.layer(pgTier()).pipe(Layer.provide(Pg)), shared: true, firstTier: "postgres" },
    { name: "sqlite", layer: Cache.layer(sqliteTier()).pipe(Layer.provide(Sqlite)), shared: true, firstTier: "sqlite" },
    {
      name: "memory + redis + postgres",
      layer: Cache.layer(Cache.memory({ capacity: 100 }), redisTier(), pgTier()).pipe(Layer.provide(Pg)),
      shared: true,
      firstTier: "memory"
    }
  ]
  /** A raw Redis connection, for writing corrupt entries and reading TTLs. */
  const rawRedis = () => new Redis(redisUrl)
  const cleanup = async () => {
    const redis = rawRedis()
    let cursor = "0"
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${redisPrefix}*`, "COUNT", 1000)
      if (keys.length > 0) await redis.unlink(...keys)
      cursor = next
    } while (cursor !== "0")
    redis.disconnect()
    await Effect.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DROP TABLE IF EXISTS ${sql(table)}`).pipe(
        Effect.provide(Pg),
        Effect.ignore
      )
    )
    rmSync(sqliteFile, { force: true })
  }
  return { id, redisPrefix, table, sqliteFile, Pg, Sqlite, redisTier, pgTier, sqliteTier, cases, rawRedis, cleanup }
}
