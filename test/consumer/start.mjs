// The 10-line program whose start-up time BENCHMARKS.md reports (plain node, compiled package).
import * as Effect from "effect/Effect"
import { Primitive } from "flowtune"

const fetchDoc = Primitive.make("fetch", (id) => Effect.succeed(`doc ${id}`))
const count = Primitive.fromFunction("count", (doc) => doc.length)
const workflow = Primitive.sequence(fetchDoc, count)
const n = await Effect.runPromise(Primitive.run(workflow, 42))
if (n !== 6) process.exit(1)
console.log(n)
