/**
 * Structured output, then routing on it: a model extracts a typed support
 * ticket from free text (`Model.generateObject` with a Schema), and the
 * ticket's `urgency` field picks the model that answers it (`Router`).
 * A tool loop (`Model.generateWithTools`) looks the order up for the
 * urgent ones.
 *
 *   npx tsx examples/model-structured.ts
 *
 * Runs on the simulated model (a tenth of real time), with a 30% rate of
 * invalid answers so the retry-with-feedback path shows; on a real server,
 * provide `Model.layerOpenAiConfig()` instead of the simulated layer.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Model from "flowtune/Model"
import * as Primitive from "flowtune/Primitive"
import * as Router from "flowtune/Router"

// The record we want out of the text.
const Ticket = Schema.Struct({
  customer: Schema.String,
  orderId: Schema.String.pipe(Schema.pattern(/^A-\d{4}$/)),
  urgency: Schema.Literal("low", "high"),
  summary: Schema.String
}).annotations({ identifier: "Ticket" })

const extract = Model.generateObject({
  name: "extract-ticket",
  schema: Ticket,
  system: "Extract the support ticket from the customer's message.",
  temperature: 0,
  decodeRetries: 2
})

// A tool the urgent route may call: a (simulated) order lookup, a primitive like any other step.
const orders: Record<string, string> = { "A-1042": "shipped yesterday, arriving Friday", "A-2001": "payment failed" }
const lookupOrder = Model.tool({
  description: "The status of an order",
  parameters: Schema.Struct({ orderId: Schema.String }),
  primitive: Primitive.make(
    "lookup-order",
    ({ orderId }: { readonly orderId: string }) =>
      Effect.as(Effect.sleep("20 millis"), orders[orderId] ?? "unknown order")
  )
})

type Extracted = Model.ObjectCompletion<typeof Ticket.Type>

const reply = Router.make({
  name: "reply",
  routes: {
    // Low urgency: a plain answer.
    low: Primitive.make("reply-low", (t: Extracted) =>
      Effect.map(
        Primitive.run(Model.generate({ name: "answer-low" }), `Reply kindly to: ${t.value.summary}`),
        (c) => c.text
      )),
    // High urgency: the model may look the order up first.
    high: Primitive.make("reply-high", (t: Extracted) =>
      Effect.map(
        Primitive.run(
          Model.generateWithTools({ name: "answer-high", tools: { lookupOrder }, maxRounds: 2 }),
          `Order ${t.value.orderId}: ${t.value.summary}`
        ),
        (c) =>
          `${c.text} (after ${c.toolCalls.length} tool call(s): ${JSON.stringify(c.toolCalls.map((x) => x.result))})`
      ))
  },
  select: (t: Extracted) => t.value.urgency
})

const messages = [
  "Hi, this is Ada. Order A-1042 hasn't arrived and I need it for Friday!!",
  "Grace here; order A-2001: could you send the invoice again when you have a minute?"
]

// The simulated model: tickets drawn from the messages (30% of answers broken), and an
// urgent reply that first calls the lookup tool once.
const tickets = (_last: string, userMessages: ReadonlyArray<string>) => {
  // The first user message is the customer's (later ones are the retry feedback).
  const prompt = userMessages[0] ?? ""
  const urgent = prompt.includes("!!")
  return {
    customer: prompt.includes("Ada") ? "Ada" : "Grace",
    orderId: /A-\d{4}/.exec(prompt)?.[0] ?? "A-0000",
    urgency: urgent ? "high" : "low",
    summary: urgent ? "order late, needed Friday" : "invoice requested again"
  }
}

const ModelLive = Model.layerSimulated(Model.profiles.fast, {
  scale: 0.1,
  seed: 1,
  structured: { objects: tickets, invalidRate: 0.3 },
  tools: ({ prompt, round }) =>
    round === 1 ? [{ name: "lookupOrder", params: { orderId: /A-\d{4}/.exec(prompt)?.[0] ?? "" } }] : []
})

const program = Effect.gen(function*() {
  for (const message of messages) {
    const ticket = yield* Primitive.run(extract, message)
    yield* Effect.log(
      `ticket ${JSON.stringify(ticket.value)} in ${ticket.attempts} attempt(s), $${ticket.costUsd.toFixed(4)}`
    )
    const answer = yield* Primitive.run(reply, ticket)
    yield* Effect.log(`-> ${ticket.value.urgency}: ${answer}`)
  }
  const stats = yield* Router.stats(reply)
  yield* Effect.log(`routing mix: ${JSON.stringify(stats.mix)}`)
}).pipe(
  Effect.catchTag(
    "InvalidOutput",
    (e) => Effect.logError(`no valid ticket after ${e.attempts} attempts: ${e.issue}\nlast answer: ${e.text}`)
  ),
  Effect.provide(ModelLive)
)

Effect.runPromise(program)
