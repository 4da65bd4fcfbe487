// Durable workflows in memory: an idempotency key, activities that are never confused with each other,
// and a replay that skips what was already done.
//   npx tsx examples/durable-memory.ts
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Durable from "flowtune/Durable"
import * as Primitive from "flowtune/Primitive"

let modelCalls = 0
const summarize = Primitive.make("summarize", (text: string) =>
  Effect.sync(() => {
    modelCalls++
    return `summary of "${text}"`
  })).pipe(Durable.activity({ success: Schema.String }))

const digest = Durable.workflow(Primitive.forEach(summarize, { concurrency: 3 }), {
  name: "digest",
  payload: Schema.Array(Schema.String),
  success: Schema.Array(Schema.String),
  error: Schema.instanceOf(Durable.UnkeyableInput),
  idempotencyKey: (texts) => texts.join("\n")
})

const program = Effect.gen(function*() {
  const first = yield* digest.run(["alpha", "beta", "gamma"])
  console.log(first) // three different summaries: one activity per item
  const again = yield* digest.run(["alpha", "beta", "gamma"])
  console.log(`same key again -> same result: ${again.join() === first.join()}; model calls: ${modelCalls}`)
})

Effect.runPromise(program.pipe(Effect.provide(digest.layer), Effect.provide(Durable.layerMemory)))
