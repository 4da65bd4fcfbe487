/**
 * The tool loop (`Model.generateWithTools`) on the simulated model (TestClock)
 * and on the local OpenAI-compatible server: two rounds with parallel calls,
 * the bound on rounds, a tool failure, and what each round costs.
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { assert, describe, it } from "@effect/vitest"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as EffectStream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as CostLedger from "../src/internal/costLedger.js"
import * as Model from "../src/Model.js"
import * as Primitive from "../src/Primitive.js"
import * as OpenAiServer from "./support/openAiServer.js"

class CityUnknown extends Data.TaggedError("CityUnknown")<{ readonly city: string }> {}

const temperatures: Record<string, number> = { Paris: 18, Rome: 24 }

/** A tool that takes one second (on the TestClock) and fails for a city it does not know. */
const weather = Model.tool({
  description: "The temperature in a city, in degrees Celsius",
  parameters: Schema.Struct({ city: Schema.String }),
  primitive: Primitive.make("weather", ({ city }: { readonly city: string }) =>
    Effect.sleep("1 second").pipe(
      Effect.zipRight(
        temperatures[city] === undefined ? Effect.fail(new CityUnknown({ city })) : Effect.succeed(temperatures[city]!)
      )
    ))
})

const clock = Model.tool({
  description: "The local time in a city",
  parameters: Schema.Struct({ city: Schema.String }),
  primitive: Primitive.make(
    "clock",
    ({ city }: { readonly city: string }) =>
      Effect.sleep("1 second").pipe(Effect.as(city === "Paris" ? "14:00" : "15:00"))
  )
})

const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2)}`

const spent = (primitive: string, model: string) =>
  Effect.gen(function*() {
    const tagged = <M extends Metric.Metric<any, any, any>>(m: M) =>
      m.pipe(Metric.tagged("primitive", primitive), Metric.tagged("model", model))
    const calls = yield* Metric.value(tagged(Model.metrics.calls).pipe(Metric.tagged("outcome", "success")))
    const cost = yield* Metric.value(tagged(Model.metrics.costUsd))
    return { calls: calls.count, costUsd: cost.count }
  })

/** A model (0.8 s a call, $0.0005) that asks for both temperatures, then the time in Paris, then answers. */
const scripted = (script: NonNullable<Model.SimulatedOptions["tools"]>) =>
  Model.layerSimulated(Model.profiles.fast, { tools: script })

const twoRounds: NonNullable<Model.SimulatedOptions["tools"]> = ({ round }) =>
  round === 1
    ? [{ name: "weather", params: { city: "Paris" } }, { name: "weather", params: { city: "Rome" } }]
    : round === 2
    ? [{ name: "clock", params: { city: "Paris" } }]
    : []

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Effect.timed(effect))
    yield* TestClock.adjust("1 minute")
    const [took, result] = yield* Fiber.join(fiber)
    return { ms: Duration.toMillis(took), result }
  })

describe("Model.generateWithTools on the simulated model", () => {
  it.effect("two rounds: the calls of one answer run in parallel, every round is paid", () =>
    Effect.gen(function*() {
      const name = unique("agent")
      const agent = Model.generateWithTools({ name, tools: { weather, clock } })
      const { ms, result } = yield* timed(Primitive.run(agent, "Warmer in Paris or Rome? And the time in Paris?"))
      assert.strictEqual(result.modelCalls, 3)
      assert.deepStrictEqual(
        result.toolCalls.map(({ name, params, result, round }) => [round, name, params, result]),
        [
          [1, "weather", { city: "Paris" }, 18],
          [1, "weather", { city: "Rome" }, 24],
          [2, "clock", { city: "Paris" }, "14:00"]
        ]
      )
      // Three model calls (0.8 s each) and two rounds of tools (1 s each: the two weather calls overlap).
      assert.strictEqual(ms, 3 * 800 + 2 * 1000)
      assert.closeTo(result.costUsd, 3 * 0.0005, 1e-12)
      assert.deepStrictEqual(yield* spent(name, "fast"), { calls: 3, costUsd: 0.0015 })
    }).pipe(Effect.provide(scripted(twoRounds))))

  it.effect("the model sees every tool result", () =>
    Effect.gen(function*() {
      const seen: Array<ReadonlyArray<{ readonly name: string; readonly result: unknown }>> = []
      yield* timed(Primitive.run(Model.generateWithTools({ tools: { weather, clock } }), "go")).pipe(
        Effect.provide(scripted((request) => {
          seen.push(request.results)
          assert.deepStrictEqual(request.tools, ["weather", "clock"])
          return twoRounds(request)
        }))
      )
      assert.deepStrictEqual(seen.map((results) => results.map((r) => r.result)), [[], [18, 24], [18, 24, "14:00"]])
    }))

  it.effect("a model that keeps calling tools fails with ToolRoundsExceeded after maxRounds, each call paid", () =>
    Effect.gen(function*() {
      const name = unique("looping")
      let toolRuns = 0
      const counting = Model.tool({
        parameters: Schema.Struct({ n: Schema.Number }),
        primitive: Primitive.make("counting", (_: { readonly n: number }) => Effect.sync(() => ++toolRuns))
      })
      const { result } = yield* timed(
        Effect.flip(Primitive.run(Model.generateWithTools({ name, tools: { counting }, maxRounds: 2 }), "loop"))
      ).pipe(Effect.provide(scripted(({ round }) => [{ name: "counting", params: { n: round } }])))
      assert.strictEqual(result._tag, "ToolRoundsExceeded")
      assert.isTrue(result._tag === "ToolRoundsExceeded" && result.maxRounds === 2)
      assert.strictEqual(toolRuns, 2)
      assert.deepStrictEqual(yield* spent(name, "fast"), { calls: 3, costUsd: 0.0015 })
    }))

  it.effect("a failing tool is a ToolFailed carrying its typed error", () =>
    Effect.gen(function*() {
      const { result } = yield* timed(
        Effect.flip(Primitive.run(Model.generateWithTools({ tools: { weather } }), "Oslo?"))
      ).pipe(Effect.provide(scripted(() => [{ name: "weather", params: { city: "Oslo" } }])))
      assert.strictEqual(result._tag, "ToolFailed")
      if (result._tag !== "ToolFailed") return
      assert.strictEqual(result.tool, "weather")
      assert.deepStrictEqual(result.params, { city: "Oslo" })
      assert.instanceOf(result.error, CityUnknown)
    }))

  it.effect("each tool run is a traced primitive under the model call's span", () =>
    Effect.gen(function*() {
      const exporter = new InMemorySpanExporter()
      const spans = yield* timed(
        Primitive.run(Model.generateWithTools({ name: "agent", tools: { weather, clock } }), "go")
      ).pipe(
        Effect.zipRight(Effect.sync(() => exporter.getFinishedSpans())),
        Effect.provide(scripted(twoRounds)),
        Effect.provide(NodeSdk.layer(() => ({ spanProcessor: new SimpleSpanProcessor(exporter) })))
      )
      const agent = spans.find((s) => s.name === "agent")!
      const tools = spans.filter((s) => s.name === "weather" || s.name === "clock")
      assert.strictEqual(tools.length, 3)
      for (const span of tools) assert.strictEqual(span.parentSpanContext?.spanId, agent.spanContext().spanId)
    }))
})

describe("Model costs reach the cost ledger once per paid call", () => {
  it.effect("text, stream, each structured attempt and each tool round", () =>
    Effect.gen(function*() {
      const measure = <A, E>(effect: Effect.Effect<A, E>) =>
        Effect.map(
          timed(CostLedger.measure(effect)),
          ({ result: [, ledger] }) => [ledger.calls, ledger.costUsd] as const
        )
      const layer = Model.layerSimulated(Model.profiles.fast, {
        tools: twoRounds,
        structured: { objects: ["{", { city: "Paris" }] }
      })
      const run = <A, E>(effect: Effect.Effect<A, E, LanguageModel.LanguageModel>) =>
        measure(Effect.provide(effect, layer))
      assert.deepStrictEqual(yield* run(Primitive.run(Model.generate(), "hi")), [1, 0.0005])
      assert.deepStrictEqual(yield* run(EffectStream.runDrain(Model.streamText().stream("hi"))), [1, 0.0005])
      const [calls, cost] = yield* run(
        Primitive.run(Model.generateObject({ schema: Schema.Struct({ city: Schema.String }) }), "hi")
      )
      assert.strictEqual(calls, 2)
      assert.closeTo(cost, 0.001, 1e-12)
      const [rounds, total] = yield* run(Primitive.run(Model.generateWithTools({ tools: { weather, clock } }), "hi"))
      assert.strictEqual(rounds, 3)
      assert.closeTo(total, 0.0015, 1e-12)
    }))
})

const layerFor = (server: OpenAiServer.OpenAiServer) =>
  Model.layerOpenAi({ baseUrl: server.url, model: "gpt-4o-mini", apiKey: Redacted.make("k") })

describe("Model.generateWithTools on an OpenAI-compatible server", () => {
  it.scoped("sends the tools, runs the calls, and sends their results back (two rounds)", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      server.script(
        {
          _tag: "toolCalls",
          calls: [
            { name: "weather", arguments: "{\"city\":\"Paris\"}" },
            { name: "weather", arguments: "{\"city\":\"Rome\"}" }
          ]
        },
        { _tag: "toolCalls", calls: [{ name: "clock", arguments: "{\"city\":\"Paris\"}" }] },
        { _tag: "ok", text: "Rome is warmer; it is 14:00 in Paris." }
      )
      const name = unique("server-agent")
      const fiber = yield* Effect.fork(
        Primitive.run(Model.generateWithTools({ name, tools: { weather, clock } }), "Warmer where?").pipe(
          Effect.provide(layerFor(server))
        )
      )
      // The tools sleep on the TestClock: move it once per round, when the round's tools are waiting.
      for (const n of [1, 2]) {
        yield* Effect.promise(() => server.waitForRequests(n))
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
        yield* TestClock.adjust("1 second")
      }
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.text, "Rome is warmer; it is 14:00 in Paris.")
      assert.strictEqual(result.modelCalls, 3)
      const [first, second, third] = server.requests.map((r) => r.body)
      assert.deepStrictEqual(first.tools.map((t: any) => t.function.name), ["weather", "clock"])
      assert.deepStrictEqual(first.tools[0].function.parameters.required, ["city"])
      const assistant = second.messages.find((m: any) => m.role === "assistant")
      assert.deepStrictEqual(
        assistant.tool_calls.map((c: any) => [c.function.name, JSON.parse(c.function.arguments)]),
        [["weather", { city: "Paris" }], ["weather", { city: "Rome" }]]
      )
      const results = second.messages.filter((m: any) => m.role === "tool")
      assert.deepStrictEqual(results.map((m: any) => [m.tool_call_id, m.content]), [
        [assistant.tool_calls[0].id, "18"],
        [assistant.tool_calls[1].id, "24"]
      ])
      assert.strictEqual(third.messages.filter((m: any) => m.role === "tool").length, 3)
      const { calls, costUsd } = yield* spent(name, "gpt-4o-mini")
      assert.strictEqual(calls, 3)
      assert.closeTo(costUsd, result.costUsd, 1e-15)
    }))

  it.scoped("arguments that are not JSON are a MalformedResponse", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      server.script({ _tag: "toolCalls", calls: [{ name: "weather", arguments: "{city: Paris" }] })
      const error = yield* Primitive.run(Model.generateWithTools({ tools: { weather } }), "x").pipe(
        Effect.provide(layerFor(server)),
        Effect.flip
      )
      assert.strictEqual(error._tag, "MalformedResponse")
    }))

  it.scoped("the round bound holds against a server that always calls tools", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      const call = { _tag: "toolCalls", calls: [{ name: "clock", arguments: "{\"city\":\"Rome\"}" }] } as const
      server.script(call, call)
      const fiber = yield* Effect.fork(
        Primitive.run(Model.generateWithTools({ tools: { clock }, maxRounds: 1 }), "x").pipe(
          Effect.provide(layerFor(server)),
          Effect.flip
        )
      )
      yield* Effect.promise(() => server.waitForRequests(1))
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "ToolRoundsExceeded")
      assert.strictEqual(server.requests.length, 2)
    }))
})
