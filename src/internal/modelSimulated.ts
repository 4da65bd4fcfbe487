import * as AiError from "@effect/ai/AiError"
import * as IdGenerator from "@effect/ai/IdGenerator"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Response from "@effect/ai/Response"
import * as Telemetry from "@effect/ai/Telemetry"
import * as Toolkit from "@effect/ai/Toolkit"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import * as EffectStream from "effect/Stream"
import type * as Simulated from "../Model/Simulated.js"
import * as modelProfiles from "./modelProfiles.js"
import * as extras from "./modelSimulatedExtras.js"
import * as options_ from "./options.js"

/** @internal */
export const profiles = modelProfiles.profiles

/** @internal */
export const promptText = (prompt: Prompt.Prompt): string => {
  const parts: Array<string> = []
  for (const message of prompt.content) {
    if (message.role === "system") {
      parts.push(message.content)
      continue
    }
    for (const part of message.content) {
      if (part.type === "text") parts.push(part.text)
    }
  }
  return parts.join("\n")
}

/** The user's part of the prompt: what the default answer echoes. */
const lastUserText = (prompt: Prompt.Prompt): string => {
  for (let i = prompt.content.length - 1; i >= 0; i--) {
    const message = prompt.content[i]!
    if (message.role === "user") {
      return message.content.flatMap((part) => part.type === "text" ? [part.text] : []).join("\n")
    }
  }
  return ""
}

/** @internal */
export const estimateTokens = (text: string): number => Math.max(1, Math.ceil(text.length / 4))

const isDistribution = (
  latency: Simulated.Latency
): latency is Extract<Simulated.Latency, { readonly _tag: string }> =>
  typeof latency === "object" && latency !== null && "_tag" in latency &&
  (latency._tag === "Uniform" || latency._tag === "Normal" || latency._tag === "LogNormal" ||
    latency._tag === "Mixture")

/** z of the 99th percentile of the standard normal: a lognormal's sigma is ln(p99/p50) / z99. */
const z99 = 2.3263478740408408

const millis = (input: Duration.DurationInput) => Duration.toMillis(Duration.decode(input))

const failureRequest = (name: string) => ({
  method: "POST" as const,
  url: `simulated://${name}`,
  urlParams: [],
  hash: Option.none<string>(),
  headers: {}
})

/** @internal */
export const params = (
  profile: Simulated.Profile,
  options?: Simulated.Options
): LanguageModel.ConstructorParams => {
  extras.check(profile, options)
  const scale = options?.scale ?? 1
  // One generator per service: a seeded run draws the same latencies and
  // failures in the same order every time.
  const random = Random.make(options?.seed ?? 42)
  const owner = `Model.simulated(${profile.name})`
  const failures = options?.failures ?? profile.failures
  const respond = profile.respond ?? ((prompt: string) => `${profile.name}: ${prompt}`)
  const reply = extras.responder(profile, options, random)

  const normal = Effect.map(
    Effect.zip(random.next, random.next),
    ([u1, u2]) => Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2)
  )

  const drawFrom = (latency: Simulated.Latency): Effect.Effect<number> => {
    if (!isDistribution(latency)) {
      const fixed = millis(latency) * scale
      return Effect.succeed(fixed)
    }
    switch (latency._tag) {
      case "Uniform": {
        const min = millis(latency.min)
        const max = millis(latency.max)
        return Effect.map(random.next, (u) => Math.round((min + u * (max - min)) * scale))
      }
      case "Normal": {
        const mean = millis(latency.mean)
        const stddev = millis(latency.stddev)
        return Effect.map(normal, (z) => Math.round(Math.max(0, mean + z * stddev) * scale))
      }
      case "LogNormal": {
        const median = options_.duration(owner, "latency.median", latency.median)
        const ratio = options_.number(owner, "latency.p99OverP50", latency.p99OverP50, { min: 1 })
        const sigma = Math.log(ratio) / z99
        const m = Duration.toMillis(median)
        return Effect.map(normal, (z) => Math.round(m * Math.exp(sigma * z) * scale))
      }
      case "Mixture": {
        const components = latency.components.map((c, i) => ({
          weight: options_.number(owner, `latency.components[${i}].weight`, c.weight, { min: 0 }),
          draw: drawFrom(c.latency)
        }))
        const total = components.reduce((sum, c) => sum + c.weight, 0)
        if (!(total > 0)) options_.invalidShape(owner, "a Mixture latency needs a component with a positive weight")
        return Effect.flatMap(random.next, (u) => {
          let rest = u * total
          for (const c of components) {
            if (rest < c.weight) return c.draw
            rest -= c.weight
          }
          return components[components.length - 1]!.draw
        })
      }
    }
  }
  const drawLatency = drawFrom(profile.latency)

  // The hidden capacity: calls in flight in this service, and the 429 past it.
  const capacity = options?.capacity === undefined ? Infinity : options_.positiveInt(
    owner,
    "capacity.concurrency",
    options.capacity.concurrency
  )
  const capacityRetryAfter = options_.durationOr(
    owner,
    "capacity.retryAfter",
    options?.capacity?.retryAfter,
    "1 second"
  )
  let inFlight = 0
  const admit = <A, E, R>(method: string, call: Effect.Effect<A, E, R>): Effect.Effect<A, E | AiError.AiError, R> =>
    Effect.suspend((): Effect.Effect<A, E | AiError.AiError, R> => {
      if (inFlight >= capacity) return rateLimited(method, capacityRetryAfter, "simulated capacity exceeded")
      inFlight++
      return Effect.ensuring(call, Effect.sync(() => inFlight--))
    })

  const drawFailure: Effect.Effect<Simulated.FailureKind | undefined> = failures === undefined || failures.rate <= 0
    ? Effect.succeed(undefined)
    : Effect.flatMap(random.next, (u) => {
      if (u >= failures.rate) return Effect.succeed(undefined)
      const kinds: ReadonlyArray<Simulated.FailureKind> = typeof failures.kind === "string"
        ? [failures.kind]
        : failures.kind
      if (kinds.length <= 1) return Effect.succeed(kinds[0])
      return Effect.map(random.nextIntBetween(0, kinds.length), (i) => kinds[i])
    })

  const rateLimited = (method: string, retryAfter: Duration.DurationInput, description: string) =>
    Effect.fail(
      new AiError.HttpResponseError({
        module: "flowtune/Model/Simulated",
        method,
        reason: "StatusCode",
        request: failureRequest(profile.name),
        response: { status: 429, headers: { "retry-after-ms": String(millis(retryAfter)) } },
        description
      })
    )

  const fail = (kind: Simulated.FailureKind, method: string): Effect.Effect<never, AiError.AiError> => {
    const module = "flowtune/Model/Simulated"
    switch (kind) {
      case "rate-limited":
        return rateLimited(method, failures?.retryAfter ?? "1 second", "simulated rate limit")
      case "unavailable":
        return Effect.fail(
          new AiError.HttpResponseError({
            module,
            method,
            reason: "StatusCode",
            request: failureRequest(profile.name),
            response: { status: 503, headers: {} },
            description: "simulated outage"
          })
        )
      case "malformed":
        return Effect.fail(new AiError.MalformedOutput({ module, method, description: "simulated malformed answer" }))
      case "connection":
        return Effect.fail(
          new AiError.HttpRequestError({
            module,
            method,
            reason: "Transport",
            request: failureRequest(profile.name),
            description: "simulated connection reset"
          })
        )
      case "timeout":
        return Effect.never
    }
  }

  const answer = (prompt: Prompt.Prompt, replied?: string) => {
    const text = replied ?? respond(lastUserText(prompt), {})
    const words = text.length === 0 ? [] : text.split(/(?<= )/)
    const usage = {
      inputTokens: estimateTokens(promptText(prompt)),
      outputTokens: profile.outputTokens ?? Math.max(1, words.length),
      totalTokens: undefined as number | undefined
    }
    usage.totalTokens = usage.inputTokens + usage.outputTokens
    return { text, words, usage }
  }

  const metadataPart = (): Response.ResponseMetadataPartEncoded => ({
    type: "response-metadata",
    id: undefined,
    modelId: profile.name,
    timestamp: undefined
  })

  const finishPart = (usage: ReturnType<typeof answer>["usage"]): Response.FinishPartEncoded => ({
    type: "finish",
    reason: "stop",
    usage,
    // Custom profiles are priced even when the price table does not know them.
    metadata: profile.costPerCall === undefined ? {} : { flowtune: { costUsd: profile.costPerCall } }
  })

  return {
    generateText: (providerOptions) =>
      admit(
        "generateText",
        Effect.gen(function*() {
          const failure = yield* drawFailure
          if (failure !== undefined) return yield* fail(failure, "generateText")
          const latency = yield* drawLatency
          const replied = yield* reply(providerOptions)
          const { usage } = answer(providerOptions.prompt, replied.text)
          yield* Effect.sleep(Duration.millis(Math.round(latency)))
          const parts: Array<Response.PartEncoded> = [metadataPart(), ...replied.parts, finishPart(usage)]
          return parts
        })
      ),
    streamText: (providerOptions) =>
      EffectStream.unwrap(Effect.gen(function*() {
        const failure = yield* drawFailure
        if (failure !== undefined) return EffectStream.fromEffect(fail(failure, "streamText"))
        const latency = yield* drawLatency
        const { usage, words } = answer(providerOptions.prompt)
        const count = Math.max(1, words.length)
        const first = profile.firstToken === undefined
          ? latency / count
          : Math.min(latency, millis(profile.firstToken) * scale)
        const gap = profile.tokensPerSecond === undefined
          ? (count > 1 ? (latency - first) / (count - 1) : 0)
          : (1000 / profile.tokensPerSecond) * scale
        const id = "text-0"
        // Tokens are paced against whole-millisecond deadlines from the start, so
        // fractional gaps neither drift nor reach the clock as fractional nanos,
        // and a real timer firing late delays one token, not every later one.
        const due = (i: number) => Math.round(first + i * gap)
        const start = yield* Clock.currentTimeMillis
        const deltas = EffectStream.fromIterable(words.map((word, i) => ({ word, i }))).pipe(
          EffectStream.mapEffect(({ i, word }) =>
            Effect.as(
              Effect.flatMap(
                Clock.currentTimeMillis,
                (now) => Effect.sleep(Duration.millis(Math.max(0, start + due(i) - now)))
              ),
              { type: "text-delta", id, delta: word } as Response.StreamPartEncoded
            )
          )
        )
        return EffectStream.make(
          metadataPart() as Response.StreamPartEncoded,
          { type: "text-start", id } as Response.StreamPartEncoded
        ).pipe(
          EffectStream.concat(deltas),
          EffectStream.concat(EffectStream.make(
            { type: "text-end", id } as Response.StreamPartEncoded,
            finishPart(usage) as Response.StreamPartEncoded
          ))
        )
      }))
  }
}

// @effect/ai builds this schema, and so compiles its decoder, on every
// `generateText` call: about 450 us of CPU per call, more than the rest of a
// simulated call. Compiled once here.
const decodeParts = Schema.decodeUnknown(Schema.mutable(Schema.Array(Response.Part(Toolkit.empty))))

/**
 * The simulated `LanguageModel` service: @effect/ai's over `params`, except
 * that a plain text call (no toolkit, no span transformer installed) decodes
 * its parts with a decoder compiled once rather than once per call. Same
 * span, same response, same errors.
 *
 * @internal
 */
export const service = (
  constructorParams: LanguageModel.ConstructorParams
): Effect.Effect<LanguageModel.Service> =>
  Effect.map(LanguageModel.make(constructorParams), (base): LanguageModel.Service => {
    // `any`: @effect/ai's toolkit parameter: calls with and without tools share this code
    const text = (options: LanguageModel.GenerateTextOptions<any>) =>
      Effect.useSpan("LanguageModel.generateText", {
        captureStackTrace: false,
        attributes: { concurrency: options.concurrency, toolChoice: options.toolChoice }
      }, (span) =>
        constructorParams.generateText({
          prompt: Prompt.make(options.prompt),
          tools: [],
          toolChoice: "none",
          responseFormat: { type: "text" },
          span
        }).pipe(
          Effect.flatMap(decodeParts),
          // `any`: @effect/ai's toolkit parameter: calls with and without tools share this code
          Effect.map((content) => new LanguageModel.GenerateTextResponse<any>(content)),
          Effect.catchTag(
            "ParseError",
            (error) =>
              AiError.MalformedOutput.fromParseError({ module: "LanguageModel", method: "generateText", error })
          ),
          Effect.provideService(IdGenerator.IdGenerator, IdGenerator.defaultIdGenerator)
        ))
    // `any`: @effect/ai's toolkit parameter: calls with and without tools share this code
    const generateText = (options: LanguageModel.GenerateTextOptions<any>) =>
      options.toolkit !== undefined
        ? base.generateText(options)
        : Effect.flatMap(
          Effect.serviceOption(Telemetry.CurrentSpanTransformer),
          (transformer) => Option.isSome(transformer) ? base.generateText(options) : text(options)
        )
    return { ...base, generateText: generateText as LanguageModel.Service["generateText"] }
  })
