import { execFileSync } from "node:child_process"
/**
 * Where the integration suites find Redis and PostgreSQL. They never skip:
 * a missing service fails the suite (CI's `.ci/run` starts both first).
 */
export const redisUrl = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379"
export const postgresUrl = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"

/** A prefix unique to one test file run, so parallel files never share keys or tables. */
export const uniquePrefix = (name: string): string =>
  `ft_${name}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`

/** Runs one SQL statement through `psql` (for process-level test and bench setup); its output, trimmed. */
export const psql = (url: string, sql: string): string =>
  execFileSync("psql", [url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], { encoding: "utf8" }).trim()

/** Drops every table whose name starts with `<prefix>_` (a test's or a bench's own cluster tables). */
export const dropPrefixedTables = (url: string, prefix: string): void => {
  const tables = psql(
    url,
    `select string_agg(quote_ident(tablename), ',') from pg_tables where tablename like '${prefix}\\_%'`
  )
  if (tables) psql(url, `drop table if exists ${tables} cascade`)
}
