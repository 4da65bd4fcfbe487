// CommonJS: flowtune is an ESM package; Node 20.19+, 22.12+ and 24 load it from `require` (require(esm)).
const { Primitive } = require("flowtune")
const Cache = require("flowtune/Cache")
const { Effect } = require("effect")

const step = Primitive.make("cjs", (n) => Effect.succeed(n + 1))
Effect.runPromise(Primitive.run(step, 1)).then((n) => {
  if (n !== 2 || typeof Cache.wrap !== "function") throw new Error(`unexpected: ${n}`)
  console.log("  require(\"flowtune\") works")
})
