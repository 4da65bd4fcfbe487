/**
 * Where the integration suites find Redis and PostgreSQL. They never skip:
 * a missing service fails the suite (CI's `.ci/run` starts both first).
 */
export const redisUrl = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379"
export const postgresUrl = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"

/** A prefix unique to one test file run, so parallel files never share keys or tables. */
export const uniquePrefix = (name: string): string =>
  `ft_${name}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
