// Imports flowtune and each public module with every optional peer made unresolvable: only the modules that are
// named after a backend (Cache/Redis needs ioredis) may fail, and a layer that needs a missing peer fails with
// MissingPeerDependency naming it.
import { register } from "node:module"

register(
  "data:text/javascript," + encodeURIComponent(`
  const optional = ["ioredis", "@effect/sql-pg", "@effect/sql-sqlite-node", "better-sqlite3", "pg", "@effect/opentelemetry",
    "@opentelemetry/sdk-trace-base", "@opentelemetry/sdk-metrics", "@opentelemetry/sdk-trace-node", "@effect/platform-node", "@effect/cluster", "@effect/workflow", "@effect/rpc"]
  export async function resolve(specifier, context, next) {
    if (optional.some((p) => specifier === p || specifier.startsWith(p + "/"))) {
      const error = new Error("Cannot find package '" + specifier + "' (hidden by the consumer test)")
      error.code = "ERR_MODULE_NOT_FOUND"
      throw error
    }
    return next(specifier, context)
  }`)
)

const pkg = (await import("flowtune/package.json", { with: { type: "json" } })).default
const modules = Object.keys(pkg.exports).filter((k) => k !== "./package.json" && !k.includes("*"))
// Modules named after their backend: importing them without it may fail, with Node's error naming the package.
const backendModules = new Set(["./Cache/Redis", "./RateLimit/Redis", "./Durable", "./Durable/Pg", "./Durable/Batch"])
let needPeer = 0
for (const key of modules) {
  const specifier = key === "." ? "flowtune" : `flowtune/${key.slice(2)}`
  try {
    await import(specifier)
  } catch (error) {
    if (!backendModules.has(key) || error.code !== "ERR_MODULE_NOT_FOUND") throw error
    needPeer++
  }
}
const { Effect, Layer } = await import("effect")
const { Database, Tracing } = await import("flowtune")
for (
  const [layer, name] of [[Database.layerSqlite({ filename: ":memory:" }), "@effect/sql-sqlite-node"], [
    Tracing.layerConsole(),
    "@effect/opentelemetry"
  ]]
) {
  const error = await Effect.runPromise(Effect.flip(Layer.build(layer).pipe(Effect.scoped)))
  if (error._tag !== "MissingPeerDependency" || error.packageName !== name) throw new Error(`unexpected: ${error}`)
}
console.log(
  `  ${modules.length - needPeer} of ${modules.length} entry points import without the optional peers ` +
    `(${needPeer} backend modules need theirs); layers name the missing package`
)
