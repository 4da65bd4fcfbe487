/**
 * `npm run bench -- pool`: the guide's "Connection Pooling" claim on the real
 * PostgreSQL (a query through the warm pool vs opening a connection for each
 * query), and the same question for the model client against the local
 * OpenAI-compatible server (HTTP keep-alive vs a new TCP connection per
 * request).
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Database from "../src/Database.js"
import * as Model from "../src/Model.js"
import * as Primitive from "../src/Primitive.js"
import * as OpenAiServer from "../test/support/openAiServer.js"
import { postgresUrl, uniquePrefix } from "../test/support/services.js"
import { measure, ratios, settings, type Suite } from "./harness.js"

const suite: Suite = {
  name: "pool",
  description: "Pooling: PostgreSQL query through the pool vs a connection per query; " +
    "model HTTP client with keep-alive vs a connection per request (local server)",
  run: async (options) => {
    const app = uniquePrefix("bench_pool")
    const pooled = ManagedRuntime.make(
      Database.layerPg({ url: Redacted.make(postgresUrl), applicationName: app, min: 10, max: 20 })
    )
    const selectOne = Database.query("selectOne", (_: void, sql) => sql`SELECT 1 AS one`)
    // What the guide's "without pooling" does: connect, query, disconnect.
    const unpooled = Effect.scoped(
      Effect.flatMap(
        PgClient.make({ url: Redacted.make(postgresUrl), applicationName: `${app}_fresh`, maxConnections: 1 }),
        (sql) => sql`SELECT 1 AS one`
      )
    ).pipe(Effect.provide(Reactivity.layer))

    const server = await OpenAiServer.start()
    const keepAlive = ManagedRuntime.make(
      Model.layerOpenAi({ baseUrl: server.url, model: "gpt-4o-mini", keepAlive: true })
    )
    const fresh = ManagedRuntime.make(
      Model.layerOpenAi({ baseUrl: server.url, model: "gpt-4o-mini", keepAlive: false })
    )
    const ask = Model.generate({ retries: 0 })
    try {
      await pooled.runPromise(Primitive.run(selectOne, undefined))
      const before = server.connections()
      const results = await measure([
        { name: "pg: pooled query", run: () => pooled.runPromise(Primitive.run(selectOne, undefined)) },
        { name: "pg: new connection per query", run: () => Effect.runPromise(unpooled) },
        { name: "model: keep-alive", run: () => keepAlive.runPromise(Primitive.run(ask, "hi")) },
        { name: "model: new connection per request", run: () => fresh.runPromise(Primitive.run(ask, "hi")) }
      ], settings(options))
      return {
        results,
        ratios: ratios(results, [
          ["pg: new connection per query", "pg: pooled query"],
          ["model: new connection per request", "model: keep-alive"]
        ]),
        notes: [
          `PostgreSQL at ${new URL(postgresUrl).host} (local socket, trust auth: no TLS, no password exchange, ` +
          "so connecting is far cheaper here than over a network); pool min 10 / max 20. " +
          "Model server on 127.0.0.1 (no TLS); " +
          `${server.requests.length} requests over ${server.connections() - before} TCP connections in total.`
        ]
      }
    } finally {
      await pooled.dispose()
      await keepAlive.dispose()
      await fresh.dispose()
      await server.close()
    }
  }
}

export default suite
