/**
 * Construction-time checks of every model option, the price table (dated
 * ids, unknown models counted and logged once) and the `Completion` schema.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Model from "../src/Model.js"
import * as Primitive from "../src/Primitive.js"

const rejects = (build: () => unknown, option: RegExp) => {
  let caught: unknown
  try {
    build()
  } catch (error) {
    caught = error
  }
  assert.instanceOf(caught, Primitive.InvalidPrimitive, `expected a construction error for ${option}`)
  assert.match((caught as Primitive.InvalidPrimitive).reason, option)
}

const bad = [0, -1, Number.NaN, Infinity, "x"] as const

describe("Model options", () => {
  it("every numeric and duration option of the primitives is checked where it is given", () => {
    for (const value of [-1, Number.NaN, "-5 millis", "soon"]) {
      rejects(() => Model.generate({ timeout: value as never }), /"timeout"/)
      rejects(() => Model.streamText({ maxRetryAfter: value as never }), /"maxRetryAfter"/)
    }
    rejects(() => Model.generate({ timeout: 0 }), /"timeout"/)
    for (const value of [-1, 1.5, Number.NaN, Infinity, "2"]) {
      rejects(() => Model.generate({ retries: value as never }), /"retries"/)
    }
    for (const value of [-0.1, 2.5, Number.NaN, Infinity]) {
      rejects(() => Model.generate({ temperature: value }), /"temperature"/)
    }
    for (const value of bad) rejects(() => Model.generate({ maxTokens: value as never }), /"maxTokens"/)
    rejects(() => Model.generate({ seed: 1.5 }), /"seed"/)
    rejects(() => Model.generate({ stop: ["a", "b", "c", "d", "e"] }), /"stop"/)
    rejects(() => Model.generate({ stop: [""] }), /"stop"/)
    rejects(() => Model.generate({ model: "" }), /"model"/)
    rejects(() => Model.generate({ costPerCall: -1 }), /"costPerCall"/)
    rejects(() => Model.generateObject({ schema: Schema.String, decodeRetries: -1 }), /"decodeRetries"/)
    rejects(() => Model.generateObject({ schema: "nope" as never }), /"schema"/)
    const tool = Model.tool({
      parameters: Schema.Struct({ x: Schema.Number }),
      primitive: Primitive.make("t", (_: { readonly x: number }) => Effect.void)
    })
    for (const value of [0, -1, 1.5, Number.NaN]) {
      rejects(() => Model.generateWithTools({ tools: { tool }, maxRounds: value }), /"maxRounds"/)
    }
    rejects(() => Model.generateWithTools({ tools: {} }), /at least one tool/)
    rejects(() => Model.generateWithTools({ tools: { "get weather": tool } }), /"tools.get weather"/)
    rejects(
      () => Model.generateWithTools({ tools: { tool: { ...tool, parameters: Schema.String as never } } }),
      /"tools.tool.parameters"/
    )
    rejects(
      () => Model.generateWithTools({ tools: { tool: { ...tool, primitive: (() => 1) as never } } }),
      /"tools.tool.primitive"/
    )
  })

  it("every option of the OpenAI layer is checked where it is given", () => {
    const base = { model: "m", apiKey: Redacted.make("k") }
    rejects(() => Model.layerOpenAi({ ...base, baseUrl: "not a url" }), /"baseUrl"/)
    rejects(() => Model.layerOpenAi({ ...base, model: "" }), /"model"/)
    for (const value of bad) rejects(() => Model.layerOpenAi({ ...base, maxSockets: value as never }), /"maxSockets"/)
    for (const value of bad) rejects(() => Model.layerOpenAi({ ...base, maxTokens: value as never }), /"maxTokens"/)
    rejects(() => Model.layerOpenAi({ ...base, temperature: Number.NaN }), /"temperature"/)
    rejects(() => Model.layerOpenAi({ ...base, keepAlive: "yes" as never }), /"keepAlive"/)
    rejects(() => Model.layerOpenAi({ ...base, structuredOutput: "xml" as never }), /"structuredOutput"/)
  })

  it("every option of the simulated model is checked where it is given", () => {
    for (const value of [-1, Number.NaN, Infinity]) {
      rejects(() => Model.simulated(Model.profiles.fast, { scale: value }), /"scale"/)
    }
    rejects(() => Model.simulated(Model.profiles.fast, { seed: Number.NaN }), /"seed"/)
    rejects(() => Model.simulated({ name: "x", latency: -5 }), /"latency"/)
    rejects(() => Model.simulated({ name: "x", latency: "-5 millis" }), /"latency"/)
    rejects(() => Model.simulated({ name: "x", latency: 10, firstToken: Number.NaN }), /"firstToken"/)
    rejects(() => Model.simulated({ name: "x", latency: 10, tokensPerSecond: 0 }), /"tokensPerSecond"/)
    rejects(() => Model.simulated({ name: "x", latency: 10, outputTokens: -1 }), /"outputTokens"/)
    rejects(() => Model.simulated({ name: "x", latency: 10, costPerCall: Number.NaN }), /"costPerCall"/)
    rejects(
      () => Model.simulated({ name: "x", latency: { _tag: "Uniform", min: 10, max: -1 } }),
      /"latency.max"/
    )
    for (const rate of [-0.1, 1.5, Number.NaN]) {
      rejects(
        () => Model.simulated(Model.profiles.fast, { failures: { rate, kind: "unavailable" } }),
        /"failures.rate"/
      )
    }
    rejects(
      () => Model.simulated(Model.profiles.fast, { failures: { rate: 0.1, kind: "boom" as never } }),
      /"failures.kind"/
    )
    rejects(
      () => Model.simulated(Model.profiles.fast, { structured: { invalidRate: 2 } }),
      /"structured.invalidRate"/
    )
  })
})

describe("Model prices", () => {
  it("a dated snapshot is priced as its family; an unknown model is not", () => {
    const usage = { inputTokens: 1000, outputTokens: 1000 }
    const family = Model.cost(Model.defaultPrices, "gpt-4o-mini", usage)
    assert.isAbove(family, 0)
    assert.strictEqual(Model.cost(Model.defaultPrices, "gpt-4o-mini-2024-07-18", usage), family)
    assert.strictEqual(
      Model.cost(Model.defaultPrices, "gpt-4-0613", usage),
      Model.cost(Model.defaultPrices, "gpt-4", usage)
    )
    assert.isUndefined(Model.priceOf(Model.defaultPrices, "my-local-llama"))
  })

  it.effect("an unknown model logs once and is counted on every call", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const logger = Logger.make(({ message }) => logs.push(String(message)))
      const name = `unpriced-${Math.random()}`
      const p = Model.simulated({ name: "my-local-llama", latency: 0 }, { name })
      for (let i = 0; i < 3; i++) {
        const completion = yield* Primitive.run(p, `q${i}`).pipe(
          Effect.provide(Logger.replace(Logger.defaultLogger, logger))
        )
        assert.strictEqual(completion.costUsd, 0)
      }
      const counted = yield* Metric.value(
        Model.metrics.unpricedCalls.pipe(Metric.tagged("primitive", name), Metric.tagged("model", "my-local-llama"))
      )
      assert.strictEqual(counted.count, 3)
      assert.strictEqual(logs.filter((l) => l.includes("my-local-llama")).length, 1)
    }).pipe(Effect.provide(Model.layerPrices({}))))

  it.effect("a full Completion round-trips through its schema (so it can be cached in Redis or SQL)", () =>
    Effect.gen(function*() {
      const completion = yield* Primitive.run(Model.simulated(Model.profiles.fast, { scale: 0 }), "hi")
      const json = JSON.stringify(yield* Schema.encode(Model.Completion)(completion))
      const decoded = yield* Schema.decodeUnknown(Model.Completion)(JSON.parse(json))
      assert.deepStrictEqual(decoded, completion)
      const broken = yield* Effect.flip(Schema.decodeUnknown(Model.Completion)({ ...completion, costUsd: "free" }))
      assert.strictEqual(broken._tag, "ParseError")
    }))
})
