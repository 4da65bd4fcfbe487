/**
 * The database primitives against the real PostgreSQL (and SQLite). Each
 * test uses its own `application_name`, so it only counts and kills its own
 * connections in `pg_stat_activity`; the shared server is never restarted.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Database from "../src/Database.js"
import * as Primitive from "../src/Primitive.js"
import * as Tracing from "../src/Tracing.js"
import { postgresUrl, uniquePrefix } from "./support/services.js"

/** Runs `f` on a separate, single-connection admin pool. */
const admin = <A, E>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, E>) =>
  Effect.flatMap(SqlClient.SqlClient, f).pipe(
    Effect.provide(PgClient.layer({
      url: Redacted.make(postgresUrl),
      maxConnections: 1,
      applicationName: uniquePrefix("admin")
    }))
  )

const backends = (app: string) =>
  admin((sql) =>
    sql<{ pid: number }>`SELECT pid FROM pg_stat_activity WHERE application_name = ${app}`.pipe(
      Effect.map((rows) => rows.map((r) => r.pid))
    )
  )

const sleepQuery = Database.query("sleep", (seconds: number, sql) => sql`SELECT pg_sleep(${seconds}) AS slept`)
const one = Database.query("one", (_: void, sql) => sql<{ one: number }>`SELECT 1 AS one`)

const pg = (app: string, options?: Partial<Database.PgOptions>) =>
  Database.layerPg({ url: Redacted.make(postgresUrl), applicationName: app, min: 2, max: 4, ...options })

describe("Database.layerPg (real PostgreSQL)", () => {
  it.live("opens `min` connections up front and never exceeds `max` under load", () =>
    Effect.gen(function*() {
      const app = uniquePrefix("pool")
      yield* Effect.gen(function*() {
        assert.strictEqual((yield* backends(app)).length, 2)
        const observed = yield* Ref.make(0)
        const sampler = yield* backends(app).pipe(
          Effect.flatMap((pids) => Ref.update(observed, (n) => Math.max(n, pids.length))),
          Effect.repeat(Schedule.spaced("20 millis")),
          Effect.fork
        )
        const started = Date.now()
        yield* Primitive.run(Primitive.forEach(sleepQuery, { concurrency: 16 }), Array(12).fill(0.15))
        const took = Date.now() - started
        yield* Fiber.interrupt(sampler)
        const max = yield* Ref.get(observed)
        assert.strictEqual(max, 4, `observed ${max} connections`)
        // 12 queries of 150 ms through 4 connections: three waves, not one.
        assert.isAtLeast(took, 3 * 150)
      }).pipe(Effect.provide(pg(app)))
    }))

  it.live("a statement past the statement timeout fails with QueryTimeout", () =>
    Effect.gen(function*() {
      const app = uniquePrefix("timeout")
      const started = Date.now()
      const error = yield* Effect.flip(Primitive.run(sleepQuery, 3)).pipe(
        Effect.provide(pg(app, { statementTimeout: "200 millis" }))
      )
      assert.strictEqual(error._tag, "QueryTimeout")
      assert.isTrue(error._tag === "QueryTimeout" && Duration.toMillis(error.timeout!) === 200)
      assert.isBelow(Date.now() - started, 2_000)
    }))

  it.live("pool exhaustion waits up to acquireTimeout, then fails with PoolExhausted", () =>
    Effect.gen(function*() {
      const app = uniquePrefix("exhaust")
      yield* Effect.gen(function*() {
        // A short wait for a slot succeeds...
        const [a, b] = yield* Effect.all([Primitive.run(sleepQuery, 0.2), Primitive.run(sleepQuery, 0.2)], {
          concurrency: 2
        })
        assert.strictEqual(a.length + b.length, 2)
        // ...a long one does not.
        const busy = yield* Effect.fork(Primitive.run(sleepQuery, 1))
        yield* Effect.sleep("100 millis")
        const started = Date.now()
        const error = yield* Effect.flip(Primitive.run(one, undefined))
        const waited = Date.now() - started
        assert.strictEqual(error._tag, "PoolExhausted")
        assert.isAtLeast(waited, 280)
        assert.isBelow(waited, 900)
        yield* Fiber.join(busy)
        assert.deepStrictEqual(yield* Primitive.run(one, undefined), [{ one: 1 }])
      }).pipe(Effect.provide(pg(app, { min: 1, max: 1, acquireTimeout: "300 millis" })))
    }))

  it.live("a terminated backend is replaced and the next query succeeds", () =>
    Effect.gen(function*() {
      const app = uniquePrefix("reconnect")
      yield* Effect.gen(function*() {
        assert.deepStrictEqual(yield* Primitive.run(one, undefined), [{ one: 1 }])
        const before = yield* backends(app)
        assert.strictEqual(before.length, 2)
        yield* admin((sql) =>
          sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ${app}`
        )
        assert.strictEqual((yield* backends(app)).length, 0)
        assert.deepStrictEqual(yield* Primitive.run(one, undefined), [{ one: 1 }])
        assert.deepStrictEqual(
          yield* Primitive.run(Primitive.forEach(one, { concurrency: 2 }), [undefined, undefined]),
          [[{ one: 1 }], [{ one: 1 }]]
        )
        const after = yield* backends(app)
        assert.isAbove(after.length, 0)
        assert.isTrue(after.every((pid) => !before.includes(pid)), "the old backends are gone")
      }).pipe(Effect.provide(pg(app, { min: 2, max: 2 })))
    }))

  it.live("a connection killed mid-query is ConnectionLost without retry, and retried by default", () =>
    Effect.gen(function*() {
      const app = uniquePrefix("midquery")
      const noRetry = Database.query("noRetry", (s: number, sql) => sql`SELECT pg_sleep(${s})`, {
        retryOnConnectionLoss: false
      })
      yield* Effect.gen(function*() {
        const kill = Effect.sleep("150 millis").pipe(
          Effect.zipRight(
            admin((sql) =>
              sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                  WHERE application_name = ${app} AND query LIKE '%pg_sleep%' AND state = 'active'`
            )
          )
        )
        const [error] = yield* Effect.all([Effect.flip(Primitive.run(noRetry, 1)), kill], { concurrency: 2 })
        assert.strictEqual(error._tag, "ConnectionLost")
        const [rows] = yield* Effect.all([Primitive.run(sleepQuery, 0.5), kill], { concurrency: 2 })
        assert.strictEqual(rows.length, 1)
        const reconnects = yield* Metric.value(Metric.tagged(Database.metrics.reconnects, "primitive", "sleep"))
        assert.isAtLeast(reconnects.count, 1)
      }).pipe(Effect.provide(pg(app, { min: 1, max: 1 })))
    }))

  it.live("SQL errors are QueryFailed with the SQLSTATE", () =>
    Effect.gen(function*() {
      const bad = Database.query("bad", (_: void, sql) => sql`SELECT * FROM ${sql("no_such_table_" + Date.now())}`)
      const error = yield* Effect.flip(Primitive.run(bad, undefined)).pipe(
        Effect.provide(pg(uniquePrefix("bad"), { min: 1, max: 1 }))
      )
      assert.strictEqual(error._tag, "QueryFailed")
      assert.isTrue(error._tag === "QueryFailed" && error.code === "42P01")
    }))

  it.live("an unreachable server fails the layer with ConnectionLost", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Layer.build(Database.layerPg({ url: "postgres://postgres@127.0.0.1:1/test", connectTimeout: "1 second" }))
      ).pipe(Effect.scoped)
      assert.strictEqual(error._tag, "ConnectionLost")
    }))

  it.live("layerPgConfig reads DATABASE_URL", () =>
    Effect.gen(function*() {
      const rows = yield* Primitive.run(one, undefined).pipe(
        Effect.provide(
          Database.layerPgConfig({ min: 1, max: 1, applicationName: uniquePrefix("config") }).pipe(
            Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["DATABASE_URL", postgresUrl]]))))
          )
        )
      )
      assert.deepStrictEqual(rows, [{ one: 1 }])
    }))
})

describe("Database.layerSqlite", () => {
  it.live("runs parameterised queries on an embedded file", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "flowtune-db-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const setup = Database.query("setup", (_: void, sql) =>
        sql`CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT)`.pipe(
          Effect.zipRight(sql`INSERT INTO docs (id, body) VALUES (1, 'one'), (2, 'two')`)
        ))
      const byId = Database.query("byId", (id: number, sql) =>
        sql<{ body: string }>`SELECT body FROM docs WHERE id = ${id}`)
      const rows = yield* Effect.gen(function*() {
        yield* Primitive.run(setup, undefined)
        return yield* Primitive.run(Primitive.forEach(byId, { concurrency: 4 }), [2, 1, 3])
      }).pipe(Effect.provide(Database.layerSqlite({ filename: join(dir, "test.db") })))
      assert.deepStrictEqual(rows, [[{ body: "two" }], [{ body: "one" }], []])
    }).pipe(Effect.scoped))

  it.live("annotates the query's span under a recording tracer, and runs without one", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "flowtune-db-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const select = Database.query("select", (_: void, sql) => sql<{ n: number }>`SELECT 1 AS n UNION SELECT 2`)
      const broken = Database.query("broken", (_: void, sql) => sql`SELECT * FROM no_such_table`)
      const db = Database.layerSqlite({ filename: join(dir, "test.db") })
      const [, spans] = yield* Tracing.record(
        Effect.zip(Primitive.run(select, undefined), Effect.exit(Primitive.run(broken, undefined)))
      ).pipe(Effect.provide(db))
      const byName = Object.fromEntries(spans.map((s) => [s.name, s.attributes]))
      assert.strictEqual(byName["select"]!["db.system"], "sqlite")
      assert.strictEqual(byName["select"]!["db.response.returned_rows"], 2)
      assert.strictEqual(byName["broken"]!["error.type"], "QueryFailed")
      // Under Effect's default tracer no span is open: the same queries answer.
      assert.deepStrictEqual(yield* Primitive.run(select, undefined).pipe(Effect.provide(db)), [{ n: 1 }, { n: 2 }])
    }).pipe(Effect.scoped))
})
