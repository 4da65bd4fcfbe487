/**
 * The OpenAI-compatible layer end to end, against a real local HTTP server
 * (test/support/openAiServer.ts): completions, SSE streaming, and each kind
 * of failure mapped to its typed error. The API key must never leak.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { assert, describe, it } from "@effect/vitest"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Chunk from "effect/Chunk"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as EffectStream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Model from "../src/Model.js"
import * as Primitive from "../src/Primitive.js"
import * as OpenAiServer from "./support/openAiServer.js"

const apiKey = "sk-test-SECRET-4f9c2d7e81"

const layerFor = (server: OpenAiServer.OpenAiServer, options?: Partial<Model.OpenAiOptions>) =>
  Model.layerOpenAi({ baseUrl: server.url, model: "gpt-4o-mini", apiKey: Redacted.make(apiKey), ...options })

/** Waits (in real time) until the retry's sleep is registered on the TestClock. */
const awaitSleepWithin = (ms: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 500; i++) {
      const now = yield* TestClock.currentTimeMillis
      const sleeps = Chunk.toReadonlyArray(yield* TestClock.sleeps())
      if (sleeps.some((at) => at <= now + ms)) return
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 2)))
    }
    return yield* Effect.die("the retry never went to sleep")
  })

describe("Model.layerOpenAi", () => {
  it.scoped("completes a prompt: text, usage, model and cost from the server's answer", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      const completion = yield* Primitive.run(Model.generate({ system: "Be brief." }), "hello there").pipe(
        Effect.provide(layerFor(server))
      )
      assert.strictEqual(completion.text, "echo: hello there")
      assert.strictEqual(completion.model, "gpt-4o-mini")
      assert.deepStrictEqual(completion.usage, { inputTokens: 3, outputTokens: 5 })
      assert.closeTo(completion.costUsd, (3 * 0.00015 + 5 * 0.0006) / 1000, 1e-15)
      const seen = server.requests[0]!
      assert.strictEqual(seen.path, "/v1/chat/completions")
      assert.strictEqual(seen.authorization, `Bearer ${apiKey}`)
      assert.deepStrictEqual(seen.body.messages, [
        { role: "system", content: "Be brief." },
        { role: "user", content: "hello there" }
      ])
    }))

  it.scoped("streams the answer over SSE, token by token", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      server.script({ _tag: "ok", text: "one two three four" })
      const tokens = yield* Model.streamText().stream("count").pipe(
        EffectStream.runCollect,
        Effect.provide(layerFor(server))
      )
      assert.deepStrictEqual(Chunk.toReadonlyArray(tokens), ["one ", "two ", "three ", "four"])
      assert.strictEqual(server.requests[0]!.body.stream, true)
    }))

  it.scoped("a 429 is retried after the advertised retry-after, on the TestClock", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      server.script({ _tag: "rateLimited", retryAfterMs: 1500 })
      const fiber = yield* Primitive.run(Model.generate(), "hi").pipe(Effect.provide(layerFor(server)), Effect.fork)
      yield* awaitSleepWithin(1500)
      yield* TestClock.adjust("1499 millis")
      assert.strictEqual(server.requests.length, 1)
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("1 millis")
      const completion = yield* Fiber.join(fiber)
      assert.strictEqual(completion.text, "echo: hi")
      assert.strictEqual(server.requests.length, 2)
    }))

  it.scoped("a 429 without retries is RateLimited with the server's retry-after", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      server.script({ _tag: "rateLimited", retryAfterMs: 2500 })
      const error = yield* Effect.flip(
        Primitive.run(Model.generate({ retries: 0 }), "hi").pipe(Effect.provide(layerFor(server)))
      )
      assert.strictEqual(error._tag, "RateLimited")
      assert.isTrue(error._tag === "RateLimited" && Duration.toMillis(error.retryAfter!) === 2500)
    }))

  it.scoped("a retry-after given as an HTTP date is measured against Effect's Clock", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      // The TestClock says 2030-01-01T00:00:00Z; the server allows a retry 30 s later. Against the wall
      // clock (years earlier) the wait would read as years; against a later one, as 0.
      yield* TestClock.setTime(Date.UTC(2030, 0, 1))
      server.script({ _tag: "rateLimitedUntil", httpDate: new Date(Date.UTC(2030, 0, 1, 0, 0, 30)).toUTCString() })
      const error = yield* Effect.flip(
        Primitive.run(Model.generate({ retries: 0 }), "hi").pipe(Effect.provide(layerFor(server)))
      )
      assert.strictEqual(error._tag, "RateLimited")
      assert.strictEqual(error._tag === "RateLimited" ? Duration.toMillis(error.retryAfter!) : -1, 30_000)
    }))

  it.scoped("a 500 is ModelUnavailable", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      server.script({ _tag: "status", status: 500 })
      const error = yield* Effect.flip(
        Primitive.run(Model.generate({ retries: 0 }), "hi").pipe(Effect.provide(layerFor(server)))
      )
      assert.strictEqual(error._tag, "ModelUnavailable")
      assert.isTrue(error._tag === "ModelUnavailable" && error.status === 500)
    }))

  it.scoped("a 401 is RequestRejected and not retried", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      server.script({ _tag: "status", status: 401 })
      const error = yield* Effect.flip(Primitive.run(Model.generate(), "hi").pipe(Effect.provide(layerFor(server))))
      assert.strictEqual(error._tag, "RequestRejected")
      assert.strictEqual(server.requests.length, 1)
    }))

  it.live("a response slower than the timeout is ModelTimeout, and the request is abandoned", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      server.script({ _tag: "ok", delayMs: 2_000 })
      const started = Date.now()
      const error = yield* Effect.flip(
        Primitive.run(Model.generate({ timeout: "150 millis", retries: 0 }), "hi").pipe(
          Effect.provide(layerFor(server))
        )
      )
      assert.strictEqual(error._tag, "ModelTimeout")
      assert.isBelow(Date.now() - started, 1_500)
    }).pipe(Effect.scoped))

  it.scoped("malformed JSON is MalformedResponse", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      server.script({ _tag: "malformed" })
      const error = yield* Effect.flip(Primitive.run(Model.generate(), "hi").pipe(Effect.provide(layerFor(server))))
      assert.strictEqual(error._tag, "MalformedResponse")
      assert.strictEqual(server.requests.length, 1)
    }))

  it.scoped("a connection reset is ConnectionFailed", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      server.script({ _tag: "reset" })
      const error = yield* Effect.flip(
        Primitive.run(Model.generate({ retries: 0 }), "hi").pipe(Effect.provide(layerFor(server)))
      )
      assert.strictEqual(error._tag, "ConnectionFailed")
    }))

  it.scoped("a refused connection is ConnectionFailed", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      yield* Effect.promise(server.close)
      const error = yield* Effect.flip(
        Primitive.run(Model.generate({ retries: 0 }), "hi").pipe(Effect.provide(layerFor(server)))
      )
      assert.strictEqual(error._tag, "ConnectionFailed")
    }))

  it.scoped("keep-alive reuses one connection; keepAlive: false opens one per request", () =>
    Effect.gen(function*() {
      const kept = yield* OpenAiServer.scoped
      const p = Model.generate()
      yield* Effect.forEach([1, 2, 3, 4, 5], (i) => Primitive.run(p, `q${i}`)).pipe(Effect.provide(layerFor(kept)))
      assert.strictEqual(kept.connections(), 1)
      const fresh = yield* OpenAiServer.scoped
      yield* Effect.forEach([1, 2, 3, 4, 5], (i) => Primitive.run(p, `q${i}`)).pipe(
        Effect.provide(layerFor(fresh, { keepAlive: false }))
      )
      assert.strictEqual(fresh.connections(), 5)
    }))

  it.scoped("layerOpenAiConfig reads OPENAI_BASE_URL, OPENAI_MODEL and OPENAI_API_KEY", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      const config = ConfigProvider.fromMap(
        new Map([["OPENAI_BASE_URL", server.url], ["OPENAI_MODEL", "local-model"], ["OPENAI_API_KEY", apiKey]])
      )
      const completion = yield* Primitive.run(Model.generate(), "hi").pipe(
        Effect.provide(Model.layerOpenAiConfig().pipe(Layer.provide(Layer.setConfigProvider(config))))
      )
      assert.strictEqual(completion.model, "local-model")
      assert.strictEqual(server.requests[0]!.authorization, `Bearer ${apiKey}`)
      const missing = yield* Effect.flip(
        Layer.build(
          Model.layerOpenAiConfig().pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map()))))
        )
      )
      assert.strictEqual("_op" in missing ? missing._op : missing._tag, "MissingData")
    }))

  it.scoped("the API key never appears in logs, errors or spans", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      const exporter = new InMemorySpanExporter()
      const logs: Array<string> = []
      const logger = Logger.make((entry) => {
        logs.push(JSON.stringify(entry.message), String(entry.message), JSON.stringify(entry.annotations))
        logs.push(String(entry.cause))
      })
      server.script(
        { _tag: "rateLimited", retryAfterMs: 0 },
        { _tag: "status", status: 500 },
        { _tag: "status", status: 401 },
        { _tag: "malformed" },
        { _tag: "reset" }
      )
      const p = Model.generate({ retries: 0 })
      const spans = yield* Effect.gen(function*() {
        const errors: Array<unknown> = []
        for (let i = 0; i < 5; i++) {
          const exit = yield* Effect.exit(Primitive.run(p, "hi"))
          yield* Effect.logDebug("model call", exit)
          if (exit._tag === "Failure") errors.push(exit.cause)
        }
        yield* Primitive.run(p, "ok").pipe(Effect.tap((c) => Effect.logInfo("ok", c)))
        yield* EffectStream.runDrain(Model.streamText().stream("stream"))
        assert.strictEqual(errors.length, 5)
        for (const error of errors) logs.push(String(error), JSON.stringify(error))
        return exporter.getFinishedSpans()
      }).pipe(
        Effect.provide(layerFor(server)),
        Effect.provide(NodeSdk.layer(() => ({ spanProcessor: new SimpleSpanProcessor(exporter) }))),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
        Logger.withMinimumLogLevel(LogLevel.All)
      )
      assert.isAbove(spans.length, 6)
      assert.isTrue(spans.some((s) => s.attributes["gen_ai.system"] === "openai"))
      const dump = JSON.stringify([
        logs,
        spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status }))
      ])
      // The key did reach the server, so a leak would have had something to leak.
      assert.strictEqual(server.requests.at(-1)!.authorization, `Bearer ${apiKey}`)
      assert.isFalse(dump.includes("SECRET-4f9c2d7e81"), "the API key leaked")
      assert.isTrue(dump.includes("RateLimited") && dump.includes("ModelUnavailable"))
    }))

  it.scopedLive("a connection reset in the middle of a stream is ConnectionFailed, after the text already received", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      server.script({ _tag: "resetMidStream", text: "one two three four five", afterChunks: 2 })
      const received: Array<string> = []
      const [took, error] = yield* Model.streamText({ timeout: "5 seconds" }).stream("hi").pipe(
        EffectStream.runForEach((token) => Effect.sync(() => received.push(token))),
        Effect.flip,
        Effect.provide(layerFor(server)),
        Effect.timed
      )
      assert.strictEqual(error._tag, "ConnectionFailed")
      assert.match(error._tag === "ConnectionFailed" ? error.description : "", /ECONNRESET|aborted|closed/)
      assert.deepStrictEqual(received, ["one ", "two "])
      // Reported as soon as the socket dies, not at the chunk timeout.
      assert.isBelow(Duration.toMillis(took), 2000)
    }))

  it.scoped("an HTTP error carries the server's message", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      server.script(
        { _tag: "status", status: 404, message: "The model `gpt-9` does not exist" },
        { _tag: "status", status: 503, message: "overloaded, try later" }
      )
      const run = Primitive.run(Model.generate({ retries: 0 }), "hi").pipe(Effect.provide(layerFor(server)))
      const rejected = yield* Effect.flip(run)
      assert.strictEqual(rejected._tag, "RequestRejected")
      assert.strictEqual(rejected._tag === "RequestRejected" && rejected.status, 404)
      assert.include(
        rejected._tag === "RequestRejected" ? rejected.description : "",
        "The model `gpt-9` does not exist"
      )
      const unavailable = yield* Effect.flip(run)
      assert.strictEqual(unavailable._tag, "ModelUnavailable")
      assert.include(unavailable._tag === "ModelUnavailable" ? unavailable.description : "", "overloaded, try later")
    }))

  it.scoped("a dated model id is priced as its family", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      const completion = yield* Primitive.run(Model.generate(), "hello there").pipe(
        Effect.provide(layerFor(server, { model: "gpt-4o-mini-2024-07-18" }))
      )
      assert.strictEqual(completion.model, "gpt-4o-mini-2024-07-18")
      assert.closeTo(completion.costUsd, (3 * 0.00015 + 5 * 0.0006) / 1000, 1e-15)
    }))

  it.scoped("per-call options reach the body of a streamed request", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiServer.scoped
      const tokens = yield* Model.streamText({ maxTokens: 50 }).stream({
        prompt: "count",
        temperature: 0,
        seed: 3,
        stop: ["five"]
      }).pipe(EffectStream.runCollect, Effect.provide(layerFor(server)))
      assert.strictEqual(Chunk.join(tokens, ""), "echo: count")
      const body = server.requests[0]!.body
      assert.deepStrictEqual(
        [body.stream, body.temperature, body.seed, body.stop, body.max_tokens, body.model],
        [true, 0, 3, ["five"], 50, "gpt-4o-mini"]
      )
    }))
})
