import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as Option from "effect/Option"
import * as EffectStream from "effect/Stream"
import * as Model from "../Model.js"
import * as Primitive from "../Primitive.js"
import * as FlowStream from "../Stream.js"
import * as CostLedger from "./costLedger.js"
import * as modelContext from "./modelContext.js"
import * as modelSimulated from "./modelSimulated.js"

// -----------------------------------------------------------------------------
// prices
// -----------------------------------------------------------------------------

/** @internal */
export const defaultPrices = modelContext.defaultPrices

/** @internal */
export const layerPrices = (prices: Model.PriceTable): Layer.Layer<never> =>
  Layer.succeed(modelContext.Prices, { ...modelContext.defaultPrices, ...prices }) as Layer.Layer<never>

/** @internal */
export const cost = (prices: Model.PriceTable, model: string, usage: Model.Usage): number => {
  const price = prices[model]
  if (price === undefined) return 0
  return (price.perCall ?? 0) +
    (usage.inputTokens / 1000) * (price.inputPer1K ?? 0) +
    (usage.outputTokens / 1000) * (price.outputPer1K ?? 0)
}

const providerCost = (finish: Response.FinishPart | undefined): number | undefined => {
  const reported = finish?.metadata?.["flowtune"]?.["costUsd"]
  return typeof reported === "number" ? reported : undefined
}

const priceCall = (
  prices: Model.PriceTable,
  model: string,
  usage: Model.Usage,
  finish: Response.FinishPart | undefined
): number => prices[model] !== undefined ? cost(prices, model, usage) : providerCost(finish) ?? 0

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

const modelErrorTags = new Set([
  "RateLimited",
  "ModelTimeout",
  "ModelUnavailable",
  "MalformedResponse",
  "ConnectionFailed",
  "RequestRejected"
])

const isModelError = (u: unknown): u is Model.ModelError =>
  typeof u === "object" && u !== null && "_tag" in u && modelErrorTags.has(u._tag as string) && "model" in u

const parseRetryAfter = (headers: Readonly<Record<string, string>>): Duration.Duration | undefined => {
  const ms = Number(headers["retry-after-ms"])
  if (headers["retry-after-ms"] !== undefined && Number.isFinite(ms) && ms >= 0) return Duration.millis(ms)
  const value = headers["retry-after"]
  if (value === undefined) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return Duration.seconds(seconds)
  // An HTTP date: relative to the wall clock, which is what the server meant.
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Duration.millis(Math.max(0, at - Date.now()))
}

/** @internal */
export const fromAiError = (error: unknown, model: string): Model.ModelError => {
  if (isModelError(error)) return error
  if (!AiError.isAiError(error)) {
    return new Model.ModelUnavailable({ model, description: `unexpected provider failure: ${String(error)}` })
  }
  switch (error._tag) {
    case "HttpResponseError": {
      if (error.reason !== "StatusCode") {
        return new Model.MalformedResponse({
          model,
          description: `the response body could not be read (${error.reason})`
        })
      }
      const status = error.response.status
      if (status === 429) {
        const retryAfter = parseRetryAfter(error.response.headers)
        return new Model.RateLimited(retryAfter === undefined ? { model } : { model, retryAfter })
      }
      if (status >= 500 || status === 408) {
        return new Model.ModelUnavailable({ model, status, description: `HTTP ${status}` })
      }
      return new Model.RequestRejected({ model, status, description: `HTTP ${status}` })
    }
    case "HttpRequestError":
      return error.reason === "Transport"
        ? new Model.ConnectionFailed({ model, description: error.description ?? "transport error" })
        : new Model.RequestRejected({ model, description: `the request could not be sent (${error.reason})` })
    case "MalformedOutput":
      return new Model.MalformedResponse({ model, description: error.description ?? "the response did not decode" })
    case "MalformedInput":
      return new Model.RequestRejected({ model, description: error.description ?? "the prompt was rejected" })
    case "UnknownError":
      return new Model.ModelUnavailable({ model, description: error.description ?? "unknown provider error" })
  }
}

// -----------------------------------------------------------------------------
// metrics
// -----------------------------------------------------------------------------

const latencyBoundaries = MetricBoundaries.exponential({ start: 10, factor: 2, count: 14 })

/** @internal */
export const metrics = {
  calls: Metric.counter("flowtune_model_calls_total", { description: "Model calls, by outcome" }),
  inputTokens: Metric.counter("flowtune_model_input_tokens_total", { description: "Prompt tokens" }),
  outputTokens: Metric.counter("flowtune_model_output_tokens_total", { description: "Completion tokens" }),
  costUsd: Metric.counter("flowtune_model_cost_usd_total", { description: "Cost of model calls in US dollars" }),
  retries: Metric.counter("flowtune_model_retries_total", { description: "Retried model attempts" }),
  latencyMs: Metric.histogram("flowtune_model_latency_ms", latencyBoundaries, "Model call latency (ms)"),
  timeToFirstTokenMs: Metric.histogram(
    "flowtune_model_time_to_first_token_ms",
    latencyBoundaries,
    "Time to the first streamed token (ms)"
  )
}

const tags = (primitive: string, model: string) => <M extends Metric.Metric<any, any, any>>(metric: M): M =>
  // `tagged` keeps the metric's kind but its signature forgets it.
  metric.pipe(Metric.tagged("primitive", primitive), Metric.tagged("model", model)) as M

const recordSuccess = (
  primitive: string,
  system: string,
  requested: string,
  completion: Model.Completion,
  latencyMs: number
) => {
  const tag = tags(primitive, completion.model)
  return Effect.all([
    CostLedger.charge({
      costUsd: completion.costUsd,
      inputTokens: completion.usage.inputTokens,
      outputTokens: completion.usage.outputTokens
    }),
    Metric.increment(Metric.tagged(tag(metrics.calls), "outcome", "success") as typeof metrics.calls),
    Metric.incrementBy(tag(metrics.inputTokens), completion.usage.inputTokens),
    Metric.incrementBy(tag(metrics.outputTokens), completion.usage.outputTokens),
    Metric.incrementBy(tag(metrics.costUsd), completion.costUsd),
    Metric.update(tag(metrics.latencyMs), latencyMs),
    Effect.annotateCurrentSpan({
      "gen_ai.operation.name": "chat",
      "gen_ai.system": system,
      "gen_ai.request.model": requested,
      "gen_ai.response.model": completion.model,
      "gen_ai.usage.input_tokens": completion.usage.inputTokens,
      "gen_ai.usage.output_tokens": completion.usage.outputTokens,
      "flowtune.cost_usd": completion.costUsd
    })
  ], { discard: true })
}

const recordFailure = (primitive: string, system: string, model: string, error: Model.ModelError) =>
  Effect.all([
    Metric.increment(
      Metric.tagged(tags(primitive, model)(metrics.calls), "outcome", error._tag) as typeof metrics.calls
    ),
    Effect.annotateCurrentSpan({
      "gen_ai.operation.name": "chat",
      "gen_ai.system": system,
      "gen_ai.request.model": model,
      "error.type": error._tag
    })
  ], { discard: true })

// -----------------------------------------------------------------------------
// primitives
// -----------------------------------------------------------------------------

const toPrompt = (input: Model.Input, system: string | undefined): Prompt.Prompt => {
  const prompt = Prompt.make(input)
  return system === undefined ? prompt : Prompt.prependSystem(prompt, system)
}

interface Settings {
  readonly name: string
  readonly timeout: Duration.Duration
  readonly retries: number
  readonly maxRetryAfter: Duration.Duration
}

const settings = (
  options: Model.GenerateOptions | undefined,
  defaultName: string,
  defaultRetries: number
): Settings => {
  const name = options?.name ?? defaultName
  const invalid = (reason: string): never => {
    // Same contract as Primitive's constructors: a bad definition is a bug
    // reported where the workflow is written.
    throw new Primitive.InvalidPrimitive({ primitive: name, reason })
  }
  const timeout = Duration.decodeUnknown(options?.timeout ?? "60 seconds")
  if (Option.isNone(timeout) || !Duration.greaterThan(timeout.value, Duration.zero)) {
    return invalid(`timeout must be a positive duration, got ${String(options?.timeout)}`)
  }
  const retries = options?.retries ?? defaultRetries
  if (!Number.isInteger(retries) || retries < 0) {
    return invalid(`retries must be a non-negative integer, got ${retries}`)
  }
  const maxRetryAfter = Duration.decodeUnknown(options?.maxRetryAfter ?? "60 seconds")
  if (Option.isNone(maxRetryAfter)) return invalid(`maxRetryAfter must be a duration, got ${options?.maxRetryAfter}`)
  return { name, timeout: timeout.value, retries, maxRetryAfter: maxRetryAfter.value }
}

const isRetryable = (error: Model.ModelError, maxRetryAfter: Duration.Duration): boolean => {
  switch (error._tag) {
    case "RateLimited":
      return error.retryAfter === undefined || Duration.lessThanOrEqualTo(error.retryAfter, maxRetryAfter)
    case "ModelUnavailable":
    case "ConnectionFailed":
      return true
    default:
      return false
  }
}

const backoff = (error: Model.ModelError, attempt: number): Duration.Duration =>
  error._tag === "RateLimited"
    ? error.retryAfter ?? Duration.seconds(1)
    : Duration.millis(250 * 2 ** attempt)

const withRetries = <A, R>(
  attempt: Effect.Effect<A, Model.ModelError, R>,
  config: Settings,
  model: string
): Effect.Effect<A, Model.ModelError, R> => {
  const loop = (n: number): Effect.Effect<A, Model.ModelError, R> =>
    Effect.catchIf(
      attempt,
      (error) => n < config.retries && isRetryable(error, config.maxRetryAfter),
      (error) =>
        Effect.sleep(backoff(error, n)).pipe(
          Effect.zipRight(Metric.increment(tags(config.name, model)(metrics.retries))),
          Effect.zipRight(loop(n + 1))
        )
    )
  return config.retries === 0 ? attempt : loop(0)
}

const metadataOf = (content: ReadonlyArray<Response.AnyPart>) => {
  let modelId: string | undefined
  let finish: Response.FinishPart | undefined
  for (const part of content) {
    if (part.type === "response-metadata" && Option.isSome(part.modelId)) modelId = part.modelId.value
    if (part.type === "finish") finish = part
  }
  return { modelId, finish }
}

const generateBody = (config: Settings, options: Model.GenerateOptions | undefined) => (input: Model.Input) =>
  Effect.gen(function*() {
    const provider = yield* modelContext.Provider
    const prices = yield* modelContext.Prices
    const requested = options?.model ?? provider.model
    const prompt = toPrompt(input, options?.system)
    const start = yield* Clock.currentTimeMillis
    const attempt = LanguageModel.generateText({ prompt }).pipe(
      Effect.mapError((error) => fromAiError(error, requested)),
      Effect.timeoutFail({
        duration: config.timeout,
        onTimeout: () => new Model.ModelTimeout({ model: requested, timeout: config.timeout })
      })
    )
    const response = yield* withRetries(attempt, config, requested).pipe(
      Effect.tapError((error) => recordFailure(config.name, provider.system, requested, error))
    )
    const { finish, modelId } = metadataOf(response.content)
    const model = modelId ?? requested
    const usage: Model.Usage = {
      inputTokens: response.usage.inputTokens ?? 0,
      outputTokens: response.usage.outputTokens ?? 0
    }
    const completion: Model.Completion = {
      text: response.text,
      usage,
      costUsd: priceCall(prices, model, usage, finish),
      model
    }
    const end = yield* Clock.currentTimeMillis
    yield* recordSuccess(config.name, provider.system, requested, completion, end - start)
    return completion
  })

/** @internal */
export const generate = (
  options?: Model.GenerateOptions
): Primitive.Primitive<Model.Input, Model.Completion, Model.ModelError, LanguageModel.LanguageModel> => {
  const config = settings(options, "Model.generate", 2)
  return Primitive.make(config.name, generateBody(config, options), {
    annotations: options?.costPerCall === undefined ? {} : { costPerCall: options.costPerCall }
  })
}

/** @internal */
export const streamText = (
  options?: Model.GenerateOptions
): FlowStream.StreamPrimitive<Model.Input, string, Model.ModelError, LanguageModel.LanguageModel> => {
  const config = settings(options, "Model.streamText", 0)
  return FlowStream.make(config.name, streamBody(config, options), {
    annotations: options?.costPerCall === undefined ? {} : { costPerCall: options.costPerCall }
  })
}

const streamBody = (config: Settings, options: Model.GenerateOptions | undefined) =>
(
  input: Model.Input
): EffectStream.Stream<string, Model.ModelError, LanguageModel.LanguageModel> =>
  EffectStream.unwrap(Effect.gen(function*() {
    const provider = yield* modelContext.Provider
    const prices = yield* modelContext.Prices
    const requested = options?.model ?? provider.model
    const start = yield* Clock.currentTimeMillis
    const prompt = toPrompt(input, options?.system)
    let model = requested
    let firstToken = true
    const parts = withRetriesStream(
      LanguageModel.streamText({ prompt }).pipe(
        EffectStream.mapError((error) => fromAiError(error, requested)),
        EffectStream.timeoutFail(
          () => new Model.ModelTimeout({ model: requested, timeout: config.timeout }),
          config.timeout
        )
      ),
      config,
      requested
    )
    return parts.pipe(
      EffectStream.tapError((error) => recordFailure(config.name, provider.system, requested, error)),
      EffectStream.tap((part) => {
        switch (part.type) {
          case "response-metadata":
            if (Option.isSome(part.modelId)) model = part.modelId.value
            return Effect.void
          case "text-delta": {
            if (!firstToken) return Effect.void
            firstToken = false
            return Effect.flatMap(Clock.currentTimeMillis, (now) =>
              Effect.zipRight(
                Metric.update(tags(config.name, model)(metrics.timeToFirstTokenMs), now - start),
                Effect.annotateCurrentSpan("gen_ai.response.time_to_first_token_ms", now - start)
              ))
          }
          case "finish": {
            const usage: Model.Usage = {
              inputTokens: part.usage.inputTokens ?? 0,
              outputTokens: part.usage.outputTokens ?? 0
            }
            return Effect.flatMap(
              Clock.currentTimeMillis,
              (now) =>
                recordSuccess(config.name, provider.system, requested, {
                  text: "",
                  usage,
                  costUsd: priceCall(prices, model, usage, part),
                  model
                }, now - start)
            )
          }
          default:
            return Effect.void
        }
      }),
      EffectStream.filterMap((part) => part.type === "text-delta" ? Option.some(part.delta) : Option.none())
    )
  }))

/**
 * Retries a stream only while it has emitted nothing: once text has reached
 * the caller, a second attempt would repeat it.
 */
const withRetriesStream = <A, R>(
  stream: EffectStream.Stream<A, Model.ModelError, R>,
  config: Settings,
  model: string
): EffectStream.Stream<A, Model.ModelError, R> => {
  if (config.retries === 0) return stream
  const loop = (n: number): EffectStream.Stream<A, Model.ModelError, R> =>
    EffectStream.suspend(() => {
      let emitted = false
      return stream.pipe(
        EffectStream.tap(() => Effect.sync(() => (emitted = true))),
        EffectStream.catchAll((error) =>
          !emitted && n < config.retries && isRetryable(error, config.maxRetryAfter)
            ? EffectStream.fromEffect(
              Effect.zipRight(
                Effect.sleep(backoff(error, n)),
                Metric.increment(tags(config.name, model)(metrics.retries))
              )
            ).pipe(EffectStream.drain, EffectStream.concat(loop(n + 1)))
            : EffectStream.fail(error)
        )
      )
    })
  return loop(0)
}

/** @internal */
export const simulated = (
  profile: Model.Profile,
  options?: Model.SimulatedOptions & Model.GenerateOptions
): Primitive.Primitive<Model.Input, Model.Completion, Model.ModelError> => {
  const config = settings({ ...options, name: options?.name ?? profile.name }, profile.name, 2)
  // Built once per primitive so the seeded draws continue from call to call.
  const params = modelSimulated.params(profile, options)
  const costPerCall = options?.costPerCall ?? profile.costPerCall
  const body = generateBody(config, { ...options, model: options?.model ?? profile.name })
  return Primitive.make(
    config.name,
    (input: Model.Input) =>
      body(input).pipe(
        Effect.provideServiceEffect(LanguageModel.LanguageModel, LanguageModel.make(params)),
        Effect.provideService(modelContext.Provider, { system: "flowtune.simulated", model: profile.name })
      ),
    { annotations: costPerCall === undefined ? {} : { costPerCall } }
  )
}

/** @internal */
export const simulatedStream = (
  profile: Model.Profile,
  options?: Model.SimulatedOptions & Model.GenerateOptions
): FlowStream.StreamPrimitive<Model.Input, string, Model.ModelError> => {
  const params = modelSimulated.params(profile, options)
  const costPerCall = options?.costPerCall ?? profile.costPerCall
  const name = options?.name ?? `${profile.name}.stream`
  const config = settings({ ...options, name }, name, 0)
  const body = streamBody(config, { ...options, model: options?.model ?? profile.name })
  return FlowStream.make(
    name,
    (input: Model.Input) =>
      body(input).pipe(
        EffectStream.provideServiceEffect(LanguageModel.LanguageModel, LanguageModel.make(params)),
        EffectStream.provideService(modelContext.Provider, { system: "flowtune.simulated", model: profile.name })
      ),
    { annotations: costPerCall === undefined ? {} : { costPerCall } }
  )
}
