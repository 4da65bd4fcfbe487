import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { assert, describe, it } from "@effect/vitest"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as EffectStream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Model from "../src/Model.js"
import * as Primitive from "../src/Primitive.js"

/** Runs `effect` to completion in virtual time and reports how long it took there. */
const elapsed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Effect.timed(effect))
    yield* TestClock.adjust("10 minutes")
    const [duration, result] = yield* Fiber.join(fiber)
    return { result, ms: Duration.toMillis(duration) }
  })

/** A provider that fails `failures` times with the given error, then answers. */
const scriptedModel = (failures: number, error: () => AiError.AiError) =>
  Effect.gen(function*() {
    const attempts = yield* Ref.make(0)
    const service = yield* LanguageModel.make({
      generateText: () =>
        Ref.updateAndGet(attempts, (n) => n + 1).pipe(
          Effect.flatMap((n) =>
            n <= failures ? Effect.fail(error()) : Effect.succeed([
              { type: "text" as const, text: "ok" },
              {
                type: "finish" as const,
                reason: "stop" as const,
                usage: { inputTokens: 10, outputTokens: 2, totalTokens: 12 }
              }
            ])
          )
        ),
      streamText: () => EffectStream.empty
    })
    return { attempts, layer: Layer.succeed(LanguageModel.LanguageModel, service) }
  })

const http429 = (retryAfterMs: number) =>
  new AiError.HttpResponseError({
    module: "test",
    method: "generateText",
    reason: "StatusCode",
    request: { method: "POST", url: "http://x", urlParams: [], hash: Option.none(), headers: {} },
    response: { status: 429, headers: { "retry-after-ms": String(retryAfterMs) } }
  })

describe("Model.simulated profiles", () => {
  it.effect("the guide's three models answer in 0.8 s, 1.5 s and 2.5 s for $0.0005, $0.005 and $0.01", () =>
    Effect.gen(function*() {
      for (
        const [profile, ms, cost] of [
          [Model.profiles.fast, 800, 0.0005],
          [Model.profiles.balanced, 1500, 0.005],
          [Model.profiles.quality, 2500, 0.01]
        ] as const
      ) {
        const { ms: took, result } = yield* elapsed(Primitive.run(Model.simulated(profile), "What is Python?"))
        assert.strictEqual(took, ms)
        assert.strictEqual(result.costUsd, cost)
        assert.strictEqual(result.model, profile.name)
        assert.isAbove(result.usage.inputTokens, 0)
        assert.isAbove(result.usage.outputTokens, 0)
        assert.strictEqual(Model.simulated(profile).annotations.costPerCall, cost)
      }
    }))

  it.effect("the layer runs the generic primitive on the profile, under the TestClock", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Primitive.run(Model.generate(), "hello"))
      yield* TestClock.adjust("799 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("1 millis")
      const completion = yield* Fiber.join(fiber)
      assert.strictEqual(completion.text, "fast: hello")
      assert.strictEqual(completion.costUsd, 0.0005)
    }).pipe(Effect.provide(Model.layerSimulated(Model.profiles.fast))))

  it.effect("multi-model analysis: sequential 6.0 s, parallel 2.5 s", () =>
    Effect.gen(function*() {
      // Narrowed to text prompts: `parallel` intersects its branches' input types,
      // and `string & Prompt` is not what we mean.
      const text = (p: Primitive.Primitive<string, Model.Completion, Model.ModelError>) => p
      const gpt = text(Model.simulated(Model.profiles.gpt4Like))
      const claude = text(Model.simulated(Model.profiles.claudeLike))
      const gemini = text(Model.simulated(Model.profiles.geminiLike))
      const parallel = yield* elapsed(Primitive.run(Primitive.parallel([gpt, claude, gemini]), "analyze"))
      assert.strictEqual(parallel.ms, 2500)
      assert.deepStrictEqual(parallel.result.map((c) => c.model), ["gpt-4-like", "claude-like", "gemini-like"])
      const sequential = yield* elapsed(
        Effect.all([gpt, claude, gemini].map((p) => Primitive.run(p, "analyze")), { concurrency: 1 })
      )
      assert.strictEqual(sequential.ms, 6000)
    }))

  it.effect("streaming: first token at 0.3 s, last at 2.5 s", () =>
    Effect.gen(function*() {
      const stream = Model.simulatedStream(Model.profiles.streaming, { name: "stream" })
      const fiber = yield* stream.stream("Explain quantum computing in simple words").pipe(
        EffectStream.mapEffect((token) => Effect.map(Clock.currentTimeMillis, (at) => ({ token, at }))),
        EffectStream.runCollect,
        Effect.fork
      )
      yield* TestClock.adjust("3 seconds")
      const tokens = Chunk.toReadonlyArray(yield* Fiber.join(fiber))
      assert.isAbove(tokens.length, 3)
      assert.strictEqual(tokens[0]!.at, 300)
      assert.strictEqual(tokens.at(-1)!.at, 2500)
      // Fractional gaps (2200 ms over 6 gaps) are paced on whole milliseconds: a
      // fractional time would reach the clock as fractional nanoseconds.
      assert.isTrue(tokens.every((t) => Number.isInteger(t.at)))
      assert.strictEqual(tokens.map((t) => t.token).join(""), "streaming: Explain quantum computing in simple words")
    }))

  it.effect("scale shrinks every latency", () =>
    Effect.gen(function*() {
      const { ms } = yield* elapsed(Primitive.run(Model.simulated(Model.profiles.quality, { scale: 0.1 }), "x"))
      assert.strictEqual(ms, 250)
    }))

  it.effect("a seeded distribution is reproducible and within its bounds", () =>
    Effect.gen(function*() {
      const profile: Model.Profile = { name: "u", latency: { _tag: "Uniform", min: "1 second", max: "2 seconds" } }
      const draw = (seed: number) =>
        Effect.gen(function*() {
          const p = Model.simulated(profile, { seed })
          const out: Array<number> = []
          for (let i = 0; i < 5; i++) out.push((yield* elapsed(Primitive.run(p, "x"))).ms)
          return out
        })
      const a = yield* draw(1)
      const b = yield* draw(1)
      const c = yield* draw(2)
      assert.deepStrictEqual(a, b)
      assert.notDeepEqual(a, c)
      for (const ms of [...a, ...c]) assert.isTrue(ms >= 1000 && ms <= 2010, `${ms}`)
      assert.isAbove(new Set(a).size, 1)
    }))

  it.effect("injected failures happen at the configured rate, with their typed error", () =>
    Effect.gen(function*() {
      const run = (seed: number) =>
        Effect.gen(function*() {
          const p = Model.simulated(
            { name: "flaky", latency: 0 },
            { seed, retries: 0, failures: { rate: 0.3, kind: "unavailable" } }
          )
          const exits = yield* Effect.forEach(Array.from({ length: 200 }), () => Effect.exit(Primitive.run(p, "x")))
          return exits.filter((e) => Exit.isFailure(e)).map((e) => Exit.isFailure(e) ? e.cause : undefined)
        })
      const failures = yield* run(7)
      assert.isTrue(failures.length > 40 && failures.length < 80, `${failures.length}`)
      assert.strictEqual((yield* run(7)).length, failures.length)
      const error = yield* Effect.flip(
        Primitive.run(
          Model.simulated({ name: "down", latency: 0 }, { retries: 0, failures: { rate: 1, kind: "unavailable" } }),
          "x"
        )
      )
      assert.strictEqual(error._tag, "ModelUnavailable")
    }))

  it.effect("a model that never answers fails with ModelTimeout at the timeout", () =>
    Effect.gen(function*() {
      const p = Model.simulated({ name: "hang", latency: 0 }, {
        timeout: "5 seconds",
        failures: { rate: 1, kind: "timeout" }
      })
      const fiber = yield* Effect.fork(Effect.flip(Primitive.run(p, "x")))
      yield* TestClock.adjust("4999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("1 millis")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "ModelTimeout")
      assert.isTrue(error._tag === "ModelTimeout" && Duration.toMillis(error.timeout) === 5000)
    }))
})

describe("Model.generate retries", () => {
  it.effect("a 429 waits exactly the advertised retry-after, then succeeds", () =>
    Effect.gen(function*() {
      const model = yield* scriptedModel(1, () => http429(2000))
      const fiber = yield* Effect.fork(Primitive.run(Model.generate(), "x").pipe(Effect.provide(model.layer)))
      yield* TestClock.adjust("1999 millis")
      assert.strictEqual(yield* Ref.get(model.attempts), 1)
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("1 millis")
      const completion = yield* Fiber.join(fiber)
      assert.strictEqual(yield* Ref.get(model.attempts), 2)
      assert.strictEqual(completion.text, "ok")
    }))

  it.effect("gives up after `retries` and fails with RateLimited carrying retryAfter", () =>
    Effect.gen(function*() {
      const model = yield* scriptedModel(10, () => http429(100))
      const fiber = yield* Effect.fork(
        Effect.flip(Primitive.run(Model.generate({ retries: 2 }), "x").pipe(Effect.provide(model.layer)))
      )
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "RateLimited")
      assert.isTrue(error._tag === "RateLimited" && Duration.toMillis(error.retryAfter!) === 100)
      assert.strictEqual(yield* Ref.get(model.attempts), 3)
    }))

  it.effect("a retry-after beyond maxRetryAfter fails at once", () =>
    Effect.gen(function*() {
      const model = yield* scriptedModel(1, () => http429(120_000))
      const error = yield* Effect.flip(
        Primitive.run(Model.generate({ maxRetryAfter: "10 seconds" }), "x").pipe(Effect.provide(model.layer))
      )
      assert.strictEqual(error._tag, "RateLimited")
      assert.strictEqual(yield* Ref.get(model.attempts), 1)
    }))

  it.effect("malformed answers are not retried", () =>
    Effect.gen(function*() {
      const model = yield* scriptedModel(
        1,
        () => new AiError.MalformedOutput({ module: "t", method: "m", description: "bad" })
      )
      const error = yield* Effect.flip(Primitive.run(Model.generate(), "x").pipe(Effect.provide(model.layer)))
      assert.strictEqual(error._tag, "MalformedResponse")
      assert.strictEqual(yield* Ref.get(model.attempts), 1)
    }))
})

describe("Model prices, metrics and spans", () => {
  it.effect("the price table is overridable and priced per token", () =>
    Effect.gen(function*() {
      const perToken = yield* Primitive.run(
        Model.simulated({ name: "gpt-4o", latency: 0, outputTokens: 1000, respond: () => "x" }),
        "a".repeat(4000)
      )
      // 1000 input tokens at $0.0025/1K + 1000 output tokens at $0.01/1K
      assert.closeTo(perToken.costUsd, 0.0125, 1e-12)
      const overridden = yield* Primitive.run(Model.simulated(Model.profiles.fast, { scale: 0 }), "x").pipe(
        Effect.provide(Model.layerPrices({ fast: { perCall: 0.002 } }))
      )
      assert.strictEqual(overridden.costUsd, 0.002)
      assert.strictEqual(
        Model.cost(Model.defaultPrices, "gpt-4o-mini", { inputTokens: 2000, outputTokens: 1000 }),
        2 * 0.00015 + 0.0006
      )
    }))

  it.effect("cost and tokens are recorded as flowtune_model_* metrics", () =>
    Effect.gen(function*() {
      const name = `metrics-${Math.random()}`
      const p = Model.simulated(Model.profiles.quality, { name, scale: 0 })
      yield* Primitive.run(p, "one")
      yield* Primitive.run(p, "two")
      const tagged = <M extends Metric.Metric<any, any, any>>(m: M) =>
        m.pipe(Metric.tagged("primitive", name), Metric.tagged("model", "quality"))
      const cost = yield* Metric.value(tagged(Model.metrics.costUsd))
      const calls = yield* Metric.value(tagged(Model.metrics.calls).pipe(Metric.tagged("outcome", "success")))
      const output = yield* Metric.value(tagged(Model.metrics.outputTokens))
      assert.closeTo(cost.count, 0.02, 1e-12)
      assert.strictEqual(calls.count, 2)
      assert.isAbove(output.count, 0)
    }))

  it.effect("spans carry the GenAI attributes", () =>
    Effect.gen(function*() {
      const exporter = new InMemorySpanExporter()
      // Read inside the layer: shutting the SDK down empties the in-memory exporter.
      const spans = yield* Primitive.run(Model.simulated(Model.profiles.balanced, { name: "answer", scale: 0 }), "hi")
        .pipe(
          Effect.zipRight(Effect.sync(() => exporter.getFinishedSpans())),
          Effect.provide(NodeSdk.layer(() => ({ spanProcessor: new SimpleSpanProcessor(exporter) })))
        )
      const span = spans.find((s) => s.name === "answer")
      assert.isDefined(span)
      assert.strictEqual(span!.attributes["gen_ai.system"], "flowtune.simulated")
      assert.strictEqual(span!.attributes["gen_ai.request.model"], "balanced")
      assert.isAbove(Number(span!.attributes["gen_ai.usage.input_tokens"]), 0)
      assert.isAbove(Number(span!.attributes["gen_ai.usage.output_tokens"]), 0)
      assert.strictEqual(span!.attributes["flowtune.cost_usd"], 0.005)
    }))

  it.effect("errors round-trip through their schema", () =>
    Effect.gen(function*() {
      const error = new Model.RateLimited({ model: "m", retryAfter: Duration.millis(1500) })
      const encoded = yield* Schema.encode(Model.ModelError)(error)
      const decoded = yield* Schema.decodeUnknown(Model.ModelError)(JSON.parse(JSON.stringify(encoded)))
      assert.strictEqual(decoded._tag, "RateLimited")
      assert.isTrue(decoded._tag === "RateLimited" && Duration.toMillis(decoded.retryAfter!) === 1500)
    }))

  it("bad options are rejected where the primitive is defined", () => {
    assert.throws(() => Model.generate({ retries: -1 }), /retries/)
    assert.throws(() => Model.generate({ timeout: 0 }), /timeout/)
  })
})
