import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import type * as Toolkit from "@effect/ai/Toolkit"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as EffectStream from "effect/Stream"
import * as Model from "../Model.js"
import * as Primitive from "../Primitive.js"
import * as FlowStream from "../Stream.js"
import * as CacheKey from "./cacheKey.js"
import * as modelContext from "./modelContext.js"
import * as modelErrors from "./modelErrors.js"
import * as modelRecord from "./modelRecord.js"
import * as modelSimulated from "./modelSimulated.js"
import * as Options from "./options.js"
import { annotateSpan } from "./tracing.js"

/** @internal */
export const defaultPrices = modelRecord.defaultPrices

/** @internal */
export const layerPrices = modelRecord.layerPrices

/** @internal */
export const cost = modelRecord.cost

/** @internal */
export const priceOf = modelRecord.priceOf

/** @internal */
export const metrics = modelRecord.metrics

/** @internal */
export const fromAiError = modelErrors.fromAiError

// -----------------------------------------------------------------------------
// inputs and options
// -----------------------------------------------------------------------------

const isRequest = (input: Model.Input): input is Model.Request =>
  typeof input === "object" && input !== null && !Prompt.isPrompt(input) && "prompt" in input

/**
 * Checks per-call options (given to a primitive, or in a `Request`). A bad
 * value in a `Request` is a bug in the caller, reported as a defect naming
 * the option, like a bad constructor option.
 *
 * @internal
 */
export const checkCallOptions = (owner: string, options: Model.CallOptions | undefined): Model.CallOptions => {
  if (options === undefined) return {}
  const checked: { -readonly [K in keyof Model.CallOptions]: Model.CallOptions[K] } = {}
  if (options.temperature !== undefined) {
    checked.temperature = Options.number(owner, "temperature", options.temperature, { min: 0, max: 2 })
  }
  if (options.maxTokens !== undefined) checked.maxTokens = Options.positiveInt(owner, "maxTokens", options.maxTokens)
  if (options.seed !== undefined) checked.seed = Options.number(owner, "seed", options.seed, { integer: true })
  if (options.model !== undefined) checked.model = Options.nonEmptyString(owner, "model", options.model)
  if (options.stop !== undefined) {
    const stop: unknown = options.stop
    if (!Array.isArray(stop) || stop.length > 4 || !stop.every((s) => typeof s === "string" && s.length > 0)) {
      Options.invalid(owner, "stop", "an array of at most 4 non-empty strings", stop)
    }
    checked.stop = options.stop
  }
  return checked
}

/** @internal */
export interface Settings {
  readonly name: string
  readonly system: string | undefined
  readonly timeout: Duration.Duration
  readonly retries: number
  readonly maxRetryAfter: Duration.Duration
  readonly costPerCall: number | undefined
  /** The primitive's per-call defaults. */
  readonly call: Model.CallOptions
}

/** @internal */
export const settings = (
  options: Model.GenerateOptions | undefined,
  defaultName: string,
  defaultRetries: number
): Settings => {
  const name = options?.name === undefined ? defaultName : Options.nonEmptyString(defaultName, "name", options.name)
  const system = options?.system === undefined ? undefined : Options.nonEmptyString(name, "system", options.system)
  return {
    name,
    system,
    timeout: Options.durationOr(name, "timeout", options?.timeout, "60 seconds"),
    retries: options?.retries === undefined ? defaultRetries : Options.nonNegativeInt(name, "retries", options.retries),
    maxRetryAfter: Options.durationOr(name, "maxRetryAfter", options?.maxRetryAfter, "60 seconds", {
      zero: true,
      infinite: true
    }),
    costPerCall: options?.costPerCall === undefined
      ? undefined
      : Options.number(name, "costPerCall", options.costPerCall, { min: 0 }),
    call: checkCallOptions(name, options)
  }
}

/**
 * The prompt of an input (with the primitive's system message) and its call
 * settings: the primitive's defaults overridden by the `Request`'s options.
 *
 * @internal
 */
export const resolveInput = (
  config: Settings,
  input: Model.Input
): { readonly prompt: Prompt.Prompt; readonly call: Model.CallOptions } => {
  const request = isRequest(input) ? input : undefined
  const raw = request === undefined ? input as string | Prompt.Prompt : request.prompt
  const prompt = Prompt.make(raw)
  const call = request === undefined
    ? config.call
    : { ...config.call, ...checkCallOptions(config.name, { ...request, prompt: undefined } as Model.CallOptions) }
  return { prompt: config.system === undefined ? prompt : Prompt.prependSystem(prompt, config.system), call }
}

/** @internal */
export const cacheKey = (input: Model.Input): string => {
  const request = isRequest(input) ? input : { prompt: input as string | Prompt.Prompt }
  const { prompt, ...call } = request
  // A `Prompt` is a class instance: its encoded messages are the data that matter.
  const encoded = typeof prompt === "string" ? prompt : Schema.encodeSync(Prompt.Prompt)(prompt)
  return CacheKey.defaultKey({ prompt: encoded, ...call })
}

// -----------------------------------------------------------------------------
// retries
// -----------------------------------------------------------------------------

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
          Effect.zipRight(Metric.increment(modelRecord.tags(config.name, model)(metrics.retries))),
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

/** Prices a call; an unpriced model costs $0 but is counted and logged. */
const priced = (
  config: Settings,
  prices: Model.PriceTable,
  model: string,
  usage: Model.Usage,
  finish: Response.FinishPart | undefined
) => {
  const costUsd = modelRecord.priceCall(prices, model, usage, finish)
  return costUsd === undefined
    ? Effect.as(modelRecord.recordUnpriced(config.name, model), 0)
    : Effect.succeed(costUsd)
}

// -----------------------------------------------------------------------------
// one call
// -----------------------------------------------------------------------------

/**
 * One model call, the building block of every primitive: timeout, retries,
 * typed errors, and on success its price, charged once to the open cost
 * ledgers with its metrics and span attributes. Structured output calls it
 * once per attempt and the tool loop once per round, so each is paid for.
 *
 * @internal
 */
export const callOnce = (
  config: Settings,
  prompt: Prompt.Prompt,
  call: modelContext.CallSettings,
  toolkit?: Toolkit.WithHandler<any> // `any`: the loop decodes tool calls itself, by name
): Effect.Effect<
  // `any`: @effect/ai's toolkit parameter: calls with and without tools share this code
  { readonly response: LanguageModel.GenerateTextResponse<any>; readonly completion: Model.Completion },
  Model.ModelError,
  LanguageModel.LanguageModel
> =>
  Effect.gen(function*() {
    const provider = yield* modelContext.Provider
    const prices = yield* modelContext.Prices
    const requested = call.model ?? provider.model
    const start = yield* Clock.currentTimeMillis
    // `any`: @effect/ai's toolkit parameter: calls with and without tools share this code
    const generate: Effect.Effect<LanguageModel.GenerateTextResponse<any>, unknown, LanguageModel.LanguageModel> =
      toolkit === undefined
        ? LanguageModel.generateText({ prompt })
        : LanguageModel.generateText({ prompt, toolkit, disableToolCallResolution: true })
    const attempt = generate.pipe(
      Effect.provideService(modelContext.CallSettings, call),
      Effect.catchAll((error) => Effect.flip(modelErrors.fromAiErrorWithClock(error, requested))),
      Effect.timeoutFail({
        duration: config.timeout,
        onTimeout: () => new Model.ModelTimeout({ model: requested, timeout: config.timeout })
      })
    )
    const response = yield* withRetries(attempt, config, requested).pipe(
      Effect.tapError((error) => modelRecord.recordFailure(config.name, provider.system, requested, error))
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
      costUsd: yield* priced(config, prices, model, usage, finish),
      model
    }
    const end = yield* Clock.currentTimeMillis
    yield* modelRecord.recordSuccess(config.name, provider.system, requested, completion, end - start)
    return { response, completion }
  })

/** @internal */
export const annotations = (config: Settings): Primitive.Annotations =>
  config.costPerCall === undefined ? {} : { costPerCall: config.costPerCall }

// -----------------------------------------------------------------------------
// primitives
// -----------------------------------------------------------------------------

const generateBody = (config: Settings) => (input: Model.Input) =>
  Effect.suspend(() => {
    const { call, prompt } = resolveInput(config, input)
    return Effect.map(callOnce(config, prompt, call), ({ completion }) => completion)
  })

/** @internal */
export const generate = (
  options?: Model.GenerateOptions
): Primitive.Primitive<Model.Input, Model.Completion, Model.ModelError, LanguageModel.LanguageModel> => {
  const config = settings(options, "Model.generate", 2)
  return Primitive.make(config.name, generateBody(config), { annotations: annotations(config) })
}

/** @internal */
export const streamText = (
  options?: Model.GenerateOptions
): FlowStream.StreamPrimitive<Model.Input, string, Model.ModelError, LanguageModel.LanguageModel> => {
  const config = settings(options, "Model.streamText", 0)
  return FlowStream.make(config.name, streamBody(config), { annotations: annotations(config) })
}

const streamBody = (config: Settings) =>
(
  input: Model.Input
): EffectStream.Stream<string, Model.ModelError, LanguageModel.LanguageModel> =>
  EffectStream.unwrap(Effect.gen(function*() {
    const provider = yield* modelContext.Provider
    const prices = yield* modelContext.Prices
    const { call, prompt } = resolveInput(config, input)
    const requested = call.model ?? provider.model
    const start = yield* Clock.currentTimeMillis
    let model = requested
    let firstToken = true
    const parts = withRetriesStream(
      LanguageModel.streamText({ prompt }).pipe(
        EffectStream.provideService(modelContext.CallSettings, call),
        EffectStream.catchAll((error) =>
          EffectStream.fromEffect(Effect.flip(modelErrors.fromAiErrorWithClock(error, requested)))
        ),
        EffectStream.timeoutFail(
          () => new Model.ModelTimeout({ model: requested, timeout: config.timeout }),
          config.timeout
        )
      ),
      config,
      requested
    )
    return parts.pipe(
      EffectStream.tapError((error) => modelRecord.recordFailure(config.name, provider.system, requested, error)),
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
                Metric.update(modelRecord.tags(config.name, model)(metrics.timeToFirstTokenMs), now - start),
                annotateSpan({ "gen_ai.response.time_to_first_token_ms": now - start })
              ))
          }
          case "finish": {
            const usage: Model.Usage = {
              inputTokens: part.usage.inputTokens ?? 0,
              outputTokens: part.usage.outputTokens ?? 0
            }
            return Effect.gen(function*() {
              const now = yield* Clock.currentTimeMillis
              const costUsd = yield* priced(config, prices, model, usage, part)
              yield* modelRecord.recordSuccess(config.name, provider.system, requested, {
                text: "",
                usage,
                costUsd,
                model
              }, now - start)
            })
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
                Metric.increment(modelRecord.tags(config.name, model)(metrics.retries))
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
  const costPerCall = config.costPerCall ?? profile.costPerCall
  const body = generateBody(config)
  const service = modelSimulated.service(params)
  return Primitive.make(
    config.name,
    (input: Model.Input) =>
      body(input).pipe(
        Effect.provideServiceEffect(LanguageModel.LanguageModel, service),
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
  const name = options?.name ?? `${profile.name}.stream`
  const config = settings({ ...options, name }, name, 0)
  const costPerCall = config.costPerCall ?? profile.costPerCall
  const body = streamBody(config)
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
