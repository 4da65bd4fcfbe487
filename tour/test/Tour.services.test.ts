import * as NodeContext from "@effect/platform-node/NodeContext"
import * as PgClient from "@effect/sql-pg/PgClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { execFileSync } from "node:child_process"
import { chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { join } from "node:path"
import { postgresUrl, redisUrl, uniquePrefix } from "../../test/support/services.js"
import * as Tour from "../src/Tour.js"

const freePort = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/**
 * A PostgreSQL server of our own whose every login needs a password
 * (scram-sha-256): the shared server trusts 127.0.0.1, so a password login
 * there would never check the password. Started as the `postgres` user
 * (initdb refuses root), stopped and deleted afterwards.
 */
const scramServer = Effect.acquireRelease(
  Effect.flatMap(freePort, (port) =>
    Effect.sync(() => {
      const dir = mkdtempSync("/tmp/flowtune-tour-pg-")
      const password = `pw${process.pid}`
      writeFileSync(join(dir, "pw"), password)
      chownSync(dir, 101, 104)
      chownSync(join(dir, "pw"), 101, 104)
      const asPostgres = (cmd: string, args: ReadonlyArray<string>) =>
        execFileSync("runuser", ["-u", "postgres", "--", cmd, ...args], { stdio: "ignore", timeout: 60_000 })
      asPostgres("initdb", [
        "-D",
        join(dir, "data"),
        "--auth=scram-sha-256",
        `--pwfile=${join(dir, "pw")}`,
        "-U",
        "postgres"
      ])
      asPostgres("pg_ctl", [
        "-D",
        join(dir, "data"),
        "-o",
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
        "-w",
        "start"
      ])
      return { dir, url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, port }
    })),
  ({ dir }) =>
    Effect.sync(() => {
      execFileSync("runuser", ["-u", "postgres", "--", "pg_ctl", "-D", join(dir, "data"), "-m", "immediate", "stop"], {
        stdio: "ignore"
      })
      rmSync(dir, { recursive: true, force: true })
    })
)

// Real Redis and PostgreSQL, in real time at a small scale: the figures that do
// not depend on timing must come out exactly, and the tiers must be the real ones.
describe("Tour with Redis and PostgreSQL", () => {
  it.live("uses the Redis L2, the PostgreSQL L3, and real connections with trust and password logins", () => {
    const table = uniquePrefix("tour_cache")
    return Effect.gen(function*() {
      const scram = yield* scramServer
      // The server really asks for the password: without it, the login is refused.
      const refused = yield* Effect.exit(
        Effect.scoped(Layer.build(PgClient.layer({ url: Redacted.make(scram.url.replace(/:pw\d+@/, "@")) })))
      )
      expect(refused._tag).toBe("Failure")
      const t0 = Date.now()
      const result = yield* Tour.run({
        scale: 0.01,
        steps: ["cache", "pool"],
        report: false,
        warmup: false,
        redisUrl,
        databaseUrl: postgresUrl,
        passwordDatabaseUrl: scram.url,
        cacheTable: table
      })
      expect(Date.now() - t0).toBeLessThan(60_000)
      expect(result.virtualTime).toBe(false)
      const [cache, pool] = result.steps
      const figure = (step: Tour.StepResult | undefined, label: string) =>
        step?.claims.find((c) => c.label.startsWith(label))
      expect(cache!.notes[0]).toContain("Redis (L2)")
      expect(cache!.notes[0]).toContain("PostgreSQL (L3)")
      expect(figure(cache, "cost with cache")!.measured).toBeCloseTo(0.5, 9)
      expect(figure(cache, "hit rate")!.measured).toBe(50)
      expect(figure(cache, "computations for 3 phrasings")!.measured).toBe(1)
      // The shared-tier lookup is real time: checked, not n/a. (Which tier answers depends on the
      // tiers' 200 ms timeouts, which a loaded machine can exceed, so the test does not pin it.)
      expect(figure(cache, "shared-tier hit")!.check).toBe("at-most")
      // Real connections, three ways; each ratio is shown beside the guide's 100x, unchecked.
      for (const backend of ["SQLite", "PostgreSQL (DATABASE_URL login)", "PostgreSQL (password login)"]) {
        const own = figure(pool, `${backend}: query with its own connection`)!
        const pooled = figure(pool, `${backend}: query on a warm pool`)!
        const ratio = figure(pool, `${backend}: faster with the pool`)!
        expect(own.measured, backend).toBeGreaterThan(0)
        expect(pooled.measured, backend).toBeGreaterThan(0)
        expect(ratio.guide).toBe(100)
        expect(ratio.check).toBe("info")
        expect(ratio.measured).toBeCloseTo(own.measured / pooled.measured, 6)
      }
      // Opening a PostgreSQL connection (and logging in) costs more than a query on an open one.
      expect(figure(pool, "PostgreSQL (password login): faster with the pool")!.measured).toBeGreaterThan(1)
      expect(figure(pool, "PostgreSQL (DATABASE_URL login): faster with the pool")!.measured).toBeGreaterThan(1)
    }).pipe(
      Effect.scoped,
      Effect.ensuring(
        Effect.gen(function*() {
          const sql = yield* PgClient.PgClient
          yield* sql`DROP TABLE IF EXISTS ${sql(table)}`
        }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(postgresUrl) })), Effect.orDie)
      ),
      Effect.provide(NodeContext.layer)
    )
  }, 120_000)
})
