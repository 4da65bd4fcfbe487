/**
 * Structured output (`Model.generateObject`) and per-call options, on the
 * simulated model (TestClock) and on the local OpenAI-compatible server:
 * decode success, invalid JSON, the wrong shape, retry with feedback, retry
 * exhausted, and what each attempt costs.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Cache from "../src/Cache.js"
import * as Model from "../src/Model.js"
import * as Primitive from "../src/Primitive.js"
import * as OpenAiServer from "./support/openAiServer.js"

const Person = Schema.Struct({ name: Schema.String, age: Schema.Number.pipe(Schema.int(), Schema.nonNegative()) })
  .annotations({ identifier: "Person" })

const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2)}`

/** The calls and dollars a primitive recorded, from its public metrics. */
const spent = (primitive: string, model: string) =>
  Effect.gen(function*() {
    const tagged = <M extends Metric.Metric<any, any, any>>(m: M) =>
      m.pipe(Metric.tagged("primitive", primitive), Metric.tagged("model", model))
    const calls = yield* Metric.value(tagged(Model.metrics.calls).pipe(Metric.tagged("outcome", "success")))
    const cost = yield* Metric.value(tagged(Model.metrics.costUsd))
    return { calls: calls.count, costUsd: cost.count }
  })

const simulated = (structured: Model.SimulatedOptions["structured"], seed?: number) =>
  Model.layerSimulated({ ...Model.profiles.fast, latency: 0 }, { structured, ...(seed === undefined ? {} : { seed }) })

describe("Model.generateObject on the simulated model", () => {
  it.effect("decodes a canned answer into the schema, priced as one call", () =>
    Effect.gen(function*() {
      const name = unique("extract")
      const result = yield* Primitive.run(Model.generateObject({ name, schema: Person }), "Ada is 36").pipe(
        Effect.provide(simulated({ objects: [{ name: "Ada", age: 36 }] }))
      )
      assert.deepStrictEqual(result.value, { name: "Ada", age: 36 })
      assert.strictEqual(result.attempts, 1)
      assert.strictEqual(result.costUsd, 0.0005)
      assert.deepStrictEqual(yield* spent(name, "fast"), { calls: 1, costUsd: 0.0005 })
    }))

  it.effect("a structured result round-trips through its schema (so it can be cached in Redis or SQL)", () =>
    Effect.gen(function*() {
      const Dated = Schema.Struct({ at: Schema.DateFromString })
      const result = yield* Primitive.run(Model.generateObject({ schema: Dated }), "when?").pipe(
        Effect.provide(simulated({ objects: [{ at: "2026-12-01T00:00:00.000Z" }] }))
      )
      assert.instanceOf(result.value.at, Date)
      const schema = Model.objectCompletion(Dated)
      const json = JSON.parse(JSON.stringify(yield* Schema.encode(schema)(result)))
      assert.strictEqual(json.value.at, "2026-12-01T00:00:00.000Z")
      assert.deepStrictEqual(yield* Schema.decodeUnknown(schema)(json), result)
    }))

  it.effect("without canned answers, generates valid objects from the schema, the same for the same seed", () =>
    Effect.gen(function*() {
      const run = (seed: number) =>
        Effect.forEach([1, 2, 3], (i) => Primitive.run(Model.generateObject({ schema: Person }), `q${i}`)).pipe(
          Effect.provide(simulated({}, seed))
        )
      const first = yield* run(7)
      const again = yield* run(7)
      for (const r of first) assert.isTrue(Schema.is(Person)(r.value))
      assert.deepStrictEqual(first.map((r) => r.value), again.map((r) => r.value))
    }))

  it.effect("invalid JSON then a valid answer: retried once with the decode error fed back", () =>
    Effect.gen(function*() {
      const name = unique("retry")
      const seen: Array<string> = []
      const answers = ["Sure! {\"name\": \"Ada\"", { name: "Ada", age: 36 }]
      const result = yield* Primitive.run(Model.generateObject({ name, schema: Person }), "Ada is 36").pipe(
        Effect.provide(simulated({
          objects: (prompt) => {
            seen.push(prompt)
            return answers[seen.length - 1]
          }
        }))
      )
      assert.deepStrictEqual(result.value, { name: "Ada", age: 36 })
      assert.strictEqual(result.attempts, 2)
      assert.match(seen[1]!, /not JSON/)
      assert.closeTo(result.costUsd, 0.001, 1e-12)
      assert.deepStrictEqual(yield* spent(name, "fast"), { calls: 2, costUsd: 0.001 })
    }))

  it.effect("the wrong shape, every time: InvalidOutput with the raw text and the decode error, each attempt paid", () =>
    Effect.gen(function*() {
      const name = unique("exhausted")
      const error = yield* Primitive.run(
        Model.generateObject({ name, schema: Person, decodeRetries: 2 }),
        "Ada is 36"
      ).pipe(Effect.provide(simulated({ objects: [{ name: "Ada", age: "thirty-six" }] })), Effect.flip)
      assert.strictEqual(error._tag, "InvalidOutput")
      if (error._tag !== "InvalidOutput") return
      assert.strictEqual(error.text, "{\"name\":\"Ada\",\"age\":\"thirty-six\"}")
      assert.match(error.issue, /does not match the schema[\s\S]*age/)
      assert.strictEqual(error.attempts, 3)
      assert.deepStrictEqual(yield* spent(name, "fast"), { calls: 3, costUsd: 0.0015 })
      // The error is a Schema.TaggedError: it can be cached or sent as it is.
      const decoded = yield* Schema.decodeUnknown(Model.InvalidOutput)(
        JSON.parse(JSON.stringify(yield* Schema.encode(Model.InvalidOutput)(error)))
      )
      assert.strictEqual(decoded.text, error.text)
    }))

  it.effect("invalid JSON with no retries left fails at once", () =>
    Effect.gen(function*() {
      const error = yield* Primitive.run(Model.generateObject({ schema: Person, decodeRetries: 0 }), "x").pipe(
        Effect.provide(simulated({ objects: ["{"] })),
        Effect.flip
      )
      assert.strictEqual(error._tag, "InvalidOutput")
      assert.isTrue(error._tag === "InvalidOutput" && error.attempts === 1 && /not JSON/.test(error.issue))
    }))

  it.effect("a rate of invalid answers is drawn from the seed: the same calls fail in every run", () =>
    Effect.gen(function*() {
      const run = Effect.forEach(
        Array.from({ length: 40 }, (_, i) => i),
        (i) =>
          Primitive.run(Model.generateObject({ schema: Person, decodeRetries: 0 }), `q${i}`).pipe(
            Effect.map(() => "ok"),
            Effect.catchTag("InvalidOutput", () => Effect.succeed("invalid"))
          )
      ).pipe(Effect.provide(simulated({ invalidRate: 0.25 }, 3)))
      const first = yield* run
      assert.deepStrictEqual(yield* run, first)
      const invalid = first.filter((r) => r === "invalid").length
      assert.isAtLeast(invalid, 4)
      assert.isAtMost(invalid, 18)
    }))
})

describe("Model per-call options", () => {
  it.effect("reach the simulated model, and are part of the cache key", () =>
    Effect.gen(function*() {
      const seen: Array<Model.CallOptions> = []
      const answer = Model.simulated({
        name: "fast",
        latency: 0,
        costPerCall: 0.0005,
        respond: (prompt, options) => {
          seen.push(options)
          return `${prompt} @ ${options.temperature ?? "default"}`
        }
      }, { temperature: 0.7 })
      const cached = answer.pipe(Cache.wrap({ capacity: 100 }))
      const cold = yield* Primitive.run(cached, { prompt: "hi", temperature: 0 })
      const hot = yield* Primitive.run(cached, { prompt: "hi", temperature: 0 })
      const warm = yield* Primitive.run(cached, { prompt: "hi", temperature: 1 })
      const byDefault = yield* Primitive.run(cached, "hi")
      assert.strictEqual(cold.text, "hi @ 0")
      assert.deepStrictEqual(hot, cold)
      assert.strictEqual(warm.text, "hi @ 1")
      assert.strictEqual(byDefault.text, "hi @ 0.7")
      assert.deepStrictEqual(seen.map((o) => o.temperature), [0, 1, 0.7])
      assert.notStrictEqual(Model.cacheKey({ prompt: "hi", seed: 1 }), Model.cacheKey({ prompt: "hi", seed: 2 }))
      assert.strictEqual(Model.cacheKey({ prompt: "hi", seed: 1 }), Model.cacheKey({ seed: 1, prompt: "hi" }))
    }).pipe(Effect.provide(Cache.layerMemory())))

  it.effect("a bad per-call option is a defect naming the option", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Primitive.run(Model.simulated({ name: "fast", latency: 0 }), { prompt: "hi", temperature: Number.NaN })
      )
      assert.isTrue(exit._tag === "Failure" && String(exit.cause).includes("temperature"))
    }))
})

const layerFor = (server: OpenAiServer.OpenAiServer, options?: Partial<Model.OpenAiOptions>) =>
  Model.layerOpenAi({ baseUrl: server.url, model: "gpt-4o-mini", apiKey: Redacted.make("k"), ...options })

describe("Model.generateObject on an OpenAI-compatible server", () => {
  it.scoped("sends the JSON Schema as response_format and decodes the answer", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      server.script({ _tag: "ok", text: "{\"name\":\"Ada\",\"age\":36}" })
      const name = unique("server-extract")
      const result = yield* Primitive.run(Model.generateObject({ name, schema: Person }), "Ada is 36").pipe(
        Effect.provide(layerFor(server))
      )
      assert.deepStrictEqual(result.value, { name: "Ada", age: 36 })
      const body = server.requests[0]!.body
      assert.strictEqual(body.response_format.type, "json_schema")
      assert.strictEqual(body.response_format.json_schema.name, "Person")
      assert.deepStrictEqual(body.response_format.json_schema.schema.required, ["name", "age"])
      // The server is told the schema: no instructions in the prompt.
      assert.deepStrictEqual(body.messages, [{ role: "user", content: "Ada is 36" }])
      const { calls, costUsd } = yield* spent(name, "gpt-4o-mini")
      assert.strictEqual(calls, 1)
      assert.closeTo(costUsd, result.costUsd, 1e-15)
      assert.isAbove(costUsd, 0)
    }))

  it.scoped("instructions instead of response_format for servers without it; a code fence is accepted", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      server.script({ _tag: "ok", text: "```json\n{\"name\":\"Ada\",\"age\":36}\n```" })
      const result = yield* Primitive.run(Model.generateObject({ schema: Person }), "Ada is 36").pipe(
        Effect.provide(layerFor(server, { structuredOutput: "instructions" }))
      )
      assert.deepStrictEqual(result.value, { name: "Ada", age: 36 })
      const body = server.requests[0]!.body
      assert.isUndefined(body.response_format)
      assert.strictEqual(body.messages[0].role, "system")
      assert.include(body.messages[0].content, "JSON Schema")
      assert.include(body.messages[0].content, "\"age\"")
    }))

  it.scoped("invalid JSON, then the wrong shape, then a valid answer: each retry carries the previous error", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      server.script(
        { _tag: "ok", text: "Here you go: {name: Ada}" },
        { _tag: "ok", text: "{\"name\":\"Ada\"}" },
        { _tag: "ok", text: "{\"name\":\"Ada\",\"age\":36}" }
      )
      const result = yield* Primitive.run(Model.generateObject({ schema: Person }), "Ada is 36").pipe(
        Effect.provide(layerFor(server))
      )
      assert.strictEqual(result.attempts, 3)
      assert.strictEqual(server.requests.length, 3)
      const second = server.requests[1]!.body.messages
      assert.deepStrictEqual(second[1], { role: "assistant", content: "Here you go: {name: Ada}" })
      assert.match(second[2].content, /not JSON/)
      const third = server.requests[2]!.body.messages
      assert.match(third.at(-1).content, /does not match the schema[\s\S]*age/)
      // Three answers, three bills.
      const oneCall = Model.cost(Model.defaultPrices, "gpt-4o-mini", { inputTokens: 1, outputTokens: 1 })
      assert.isAbove(result.costUsd, 3 * oneCall * 0.99)
    }))

  it.scoped("retries exhausted: InvalidOutput with the last raw answer", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      server.script({ _tag: "ok", text: "[]" }, { _tag: "ok", text: "{\"age\":-1}" })
      const error = yield* Primitive.run(Model.generateObject({ schema: Person, decodeRetries: 1 }), "x").pipe(
        Effect.provide(layerFor(server)),
        Effect.flip
      )
      assert.strictEqual(error._tag, "InvalidOutput")
      assert.isTrue(error._tag === "InvalidOutput" && error.text === "{\"age\":-1}" && error.attempts === 2)
      assert.strictEqual(server.requests.length, 2)
    }))

  it.scoped("per-call options reach the request body and the cache key", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      const answer = Model.generate({ temperature: 0.2, maxTokens: 100 }).pipe(Cache.wrap({ capacity: 10 }))
      const request: Model.Request = {
        prompt: "hi",
        temperature: 0,
        maxTokens: 5,
        stop: ["\n"],
        seed: 7,
        model: "gpt-4o"
      }
      const first = yield* Effect.gen(function*() {
        const first = yield* Primitive.run(answer, request)
        yield* Primitive.run(answer, { ...request })
        yield* Primitive.run(answer, { ...request, seed: 8 })
        yield* Primitive.run(answer, "hi")
        return first
      }).pipe(Effect.provide(layerFor(server)))
      assert.strictEqual(server.requests.length, 3, "the same options hit the cache, other options do not")
      const [a, b, c] = server.requests.map((r) => r.body)
      assert.deepStrictEqual(
        { model: a.model, temperature: a.temperature, max_tokens: a.max_tokens, stop: a.stop, seed: a.seed },
        { model: "gpt-4o", temperature: 0, max_tokens: 5, stop: ["\n"], seed: 7 }
      )
      assert.strictEqual(b.seed, 8)
      assert.deepStrictEqual(
        { model: c.model, temperature: c.temperature, max_tokens: c.max_tokens, seed: c.seed },
        { model: "gpt-4o-mini", temperature: 0.2, max_tokens: 100, seed: undefined }
      )
      // Priced as the model asked for.
      assert.strictEqual(first.model, "gpt-4o")
      assert.closeTo(first.costUsd, Model.cost(Model.defaultPrices, "gpt-4o", first.usage), 1e-15)
    }).pipe(Effect.provide(Cache.layerMemory())))
})
