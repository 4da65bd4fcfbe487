/**
 * Errors keep their cause (issue 14): a PostgreSQL pool that cannot connect
 * says why (refused port, missing database, failed authentication, malformed
 * URL, unknown host), with the driver's error as `cause` and never the
 * password; a missing DATABASE_URL says what is missing. And every option of
 * the Database constructors is checked where it is given (issue 12.7).
 */
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { type AddressInfo, createServer, type Server, type Socket } from "node:net"
import * as Database from "../src/Database.js"
import * as Primitive from "../src/Primitive.js"
import { postgresUrl, uniquePrefix } from "./support/services.js"

/** A port nothing listens on: bound once by us, then released. */
const closedPort = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const withPath = (path: string, user?: string) => {
  const url = new URL(postgresUrl)
  url.pathname = path
  if (user !== undefined) url.username = user
  return url.toString()
}

const connectError = (url: string) =>
  Layer.build(Database.layerPg({ url: Redacted.make(url), min: 1, max: 1, connectTimeout: "3 seconds" })).pipe(
    Effect.scoped,
    Effect.flip,
    Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => "the layer hung" }),
    Effect.map((error) => {
      assert.strictEqual(error._tag, "ConnectionLost")
      return error as Database.ConnectionLost
    })
  )

describe("Database.layerPg: why a connection failed", () => {
  it.live("a closed port: Refused, naming host and port, with the driver's ECONNREFUSED as cause", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const error = yield* connectError(`postgres://postgres:s3cret@127.0.0.1:${port}/test`)
      assert.strictEqual(error.reason, "Refused")
      assert.include(error.message, `127.0.0.1:${port}`)
      assert.strictEqual((error.cause as { code?: string }).code, "ECONNREFUSED")
      assert.notInclude(error.message, "s3cret")
    }))

  it.live("a missing database: DatabaseMissing, naming it (SQLSTATE 3D000)", () =>
    Effect.gen(function*() {
      const database = uniquePrefix("nodb")
      const error = yield* connectError(withPath(`/${database}`))
      assert.strictEqual(error.reason, "DatabaseMissing")
      assert.include(error.description, `database "${database}" does not exist`)
      assert.strictEqual((error.cause as { code?: string }).code, "3D000")
    }))

  it.live("an unknown role: AuthFailed (SQLSTATE 28000), with the server's explanation", () =>
    Effect.gen(function*() {
      const role = uniquePrefix("norole")
      const error = yield* connectError(withPath("/test", role))
      assert.strictEqual(error.reason, "AuthFailed")
      assert.include(error.description, role)
      assert.include(error.description, "28000")
    }))

  it.live("a malformed URL: InvalidUrl, saying what is wrong without echoing the URL", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["postgres//user:hunter2@localhost/db", "it is not a URL"],
        ["http://user:hunter2@localhost/db", `the scheme is "http:"`],
        ["", "it is empty"]
      ]
      for (const [url, why] of cases) {
        const error = yield* connectError(url)
        assert.strictEqual(error.reason, "InvalidUrl")
        assert.include(error.description, why)
        assert.notInclude(error.message, "hunter2")
      }
    }))

  it.live("an unknown host: HostNotFound (or Timeout where DNS does not answer), within the connect timeout", () =>
    Effect.gen(function*() {
      const started = Date.now()
      const error = yield* connectError("postgres://postgres@flowtune-no-such-host.invalid:5432/test")
      assert.include(["HostNotFound", "Timeout"], error.reason)
      assert.isBelow(Date.now() - started, 4_000)
    }))

  it.live("a server that accepts and never answers (partition): Timeout within connectTimeout", () =>
    Effect.gen(function*() {
      const sockets: Array<Socket> = []
      const server = yield* Effect.acquireRelease(
        Effect.async<Server>((resume) => {
          const server = createServer((socket) => sockets.push(socket))
          server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
        }),
        (server) =>
          Effect.async<void>((resume) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => resume(Effect.void))
          })
      )
      const port = (server.address() as AddressInfo).port
      const started = Date.now()
      const error = yield* Layer.build(
        Database.layerPg({
          url: `postgres://postgres@127.0.0.1:${port}/test`,
          min: 1,
          max: 1,
          connectTimeout: "500 millis"
        })
      ).pipe(Effect.scoped, Effect.flip)
      const took = Date.now() - started
      assert.strictEqual(error._tag, "ConnectionLost")
      assert.strictEqual(error._tag === "ConnectionLost" ? error.reason : undefined, "Timeout")
      assert.isAtLeast(took, 450)
      assert.isBelow(took, 500 + 1_500, `the layer failed after ${took} ms`)
    }).pipe(Effect.scoped))

  it.live("a missing DATABASE_URL says what is missing and what it is for", () =>
    Effect.gen(function*() {
      const error = yield* Layer.build(Database.layerPgConfig()).pipe(
        Effect.scoped,
        Effect.flip,
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
      )
      assert.include(String(error), "DATABASE_URL is not set")
      assert.include(String(error), "postgres://user:password@host:port/database")
    }))

  it.live("an empty DATABASE_URL is an InvalidUrl, not a redacted mystery", () =>
    Effect.gen(function*() {
      const error = yield* Layer.build(Database.layerPgConfig()).pipe(
        Effect.scoped,
        Effect.flip,
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["DATABASE_URL", " "]])))
      )
      assert.strictEqual(error._tag, "ConnectionLost")
      assert.include(String(error.message), "malformed")
    }))
})

describe("Database: options are checked where they are given", () => {
  const thrown = (f: () => unknown): Primitive.InvalidPrimitive => {
    try {
      f()
    } catch (e) {
      assert.instanceOf(e, Primitive.InvalidPrimitive)
      return e as Primitive.InvalidPrimitive
    }
    return assert.fail("no error thrown")
  }
  const url = "postgres://postgres@127.0.0.1:5432/test"

  const pgBad: ReadonlyArray<readonly [keyof Database.PgOptions, ReadonlyArray<unknown>]> = [
    ["url", [undefined, 5]],
    ["min", [-1, 1.5, NaN, Infinity, "2"]],
    ["max", [0, -1, 2.5, NaN, Infinity, "20"]],
    ["connectTimeout", [0, -1, NaN, "-5 millis", Infinity, "soon"]],
    ["statementTimeout", [0, -1, NaN, "-5 millis", "soon"]],
    ["acquireTimeout", [0, -1, NaN, "-5 millis", Infinity]],
    ["idleTimeout", [0, -1, NaN, "-5 millis", Infinity]],
    ["applicationName", ["", 3]]
  ]
  for (const [option, values] of pgBad) {
    it(`layerPg ${option}: ${values.map(String).join(", ")} are rejected naming the option`, () => {
      for (const value of values) {
        // `as`: the options break the declared types on purpose.
        const error = thrown(() => Database.layerPg({ url, [option]: value } as Database.PgOptions))
        assert.strictEqual(error.option, option, `${option} = ${String(value)}`)
        assert.strictEqual(error.primitive, "Database.layerPg")
      }
    })
  }

  it("layerPg: min above max is rejected; Infinity turns the statement timeout off", () => {
    assert.include(thrown(() => Database.layerPg({ url, min: 5, max: 3 })).reason, "at most max (3)")
    assert.isTrue(Layer.isLayer(Database.layerPg({ url, statementTimeout: Infinity })))
  })

  it("layerFromSqlClient, layerSqlite and query check theirs", () => {
    assert.strictEqual(thrown(() => Database.layerFromSqlClient({ maxConnections: 0 })).option, "maxConnections")
    assert.strictEqual(thrown(() => Database.layerFromSqlClient({ acquireTimeout: NaN })).option, "acquireTimeout")
    assert.strictEqual(thrown(() => Database.layerSqlite({ filename: "" })).option, "filename")
    const f = (_: void, sql: Parameters<Parameters<typeof Database.query>[1]>[1]) => sql`SELECT 1`
    assert.strictEqual(thrown(() => Database.query("", f)).option, "name")
    assert.strictEqual(thrown(() => Database.query("q", f, { costPerCall: -1 })).option, "costPerCall")
    // `as`: a wrong type on purpose.
    assert.strictEqual(
      thrown(() => Database.query("q", f, { retryOnConnectionLoss: "yes" as unknown as boolean })).option,
      "retryOnConnectionLoss"
    )
  })
})
