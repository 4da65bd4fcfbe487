/**
 * Language-model calls as workflow primitives, on top of `@effect/ai`'s
 * `LanguageModel` service: any `@effect/ai` provider plugs in unchanged, and
 * this module adds what a workflow needs around each call — a per-attempt
 * timeout, retries that honour `retry-after`, typed errors, token usage, the
 * cost of the call from a price table, metrics (`flowtune_model_*`) and
 * GenAI span attributes.
 *
 * Beyond text: `generateObject` decodes the answer into a Schema (retrying
 * with the decode error fed back), `generateWithTools` runs the
 * call-tool-answer loop with tools that are primitives, and every primitive
 * takes per-call options (`{ prompt, temperature, maxTokens, stop, seed,
 * model }`) that are part of its input, hence of its cache key.
 *
 * Two backends ship with it: `layerOpenAi` (any OpenAI-compatible server,
 * through `/chat/completions`) and `layerSimulated` (a deterministic model
 * with the guide's latency and cost profiles, driven by Effect's `Clock` so
 * it runs under the `TestClock` in tests and in real time in demos).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Model, Primitive } from "flowtune"
 *
 * const answer = Model.generate({ system: "Answer in one sentence." })
 *
 * const program = Primitive.run(answer, "What is Effect?").pipe(
 *   Effect.provide(Model.layerSimulated(Model.profiles.fast))
 * )
 * // Effect<Completion, ModelError>: { text, usage, costUsd: 0.0005, model: "fast" }
 * ```
 *
 * @since 0.1.0
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as ConfigError from "effect/ConfigError"
import type * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import type * as Layer from "effect/Layer"
import type * as Metric from "effect/Metric"
import type * as MetricKeyType from "effect/MetricKeyType"
import type * as MetricState from "effect/MetricState"
import * as Schema from "effect/Schema"
import * as internal from "./internal/model.js"
import * as modelContext from "./internal/modelContext.js"
import * as internalStructured from "./internal/modelStructured.js"
import * as internalTools from "./internal/modelTools.js"
import type { MissingPeerDependency } from "./internal/peer.js"
import * as OpenAi from "./Model/OpenAi.js"
import * as Simulated from "./Model/Simulated.js"
import type * as Primitive from "./Primitive.js"
import type * as FlowStream from "./Stream.js"

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * Tokens consumed by one call.
 *
 * @since 0.1.0
 * @category models
 */
export interface Usage extends Schema.Schema.Type<typeof Usage> {}

/**
 * The schema of `Usage`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Usage: Schema.Struct<{ inputTokens: typeof Schema.Number; outputTokens: typeof Schema.Number }> = Schema
  .Struct({ inputTokens: Schema.Number, outputTokens: Schema.Number })

/**
 * The result of a model call: `text`, `usage`, `costUsd` (US dollars, from
 * the `Prices` table or the provider's own figure) and the `model` that
 * answered, as the provider reported it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Completion extends Schema.Schema.Type<typeof Completion> {}

/**
 * The schema of `Completion`, so a full result can be cached in Redis or SQL
 * (`Cache.wrap(answer, { schema: Model.Completion })`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Completion: Schema.Struct<{
  text: typeof Schema.String
  usage: typeof Usage
  costUsd: typeof Schema.Number
  model: typeof Schema.String
}> = Schema.Struct({ text: Schema.String, usage: Usage, costUsd: Schema.Number, model: Schema.String })

/**
 * What a model costs: per 1,000 input and output tokens, plus an optional
 * fixed price per call (the guide's simulated models are priced per call).
 *
 * @since 0.1.0
 * @category models
 */
export interface Price {
  readonly inputPer1K?: number | undefined
  readonly outputPer1K?: number | undefined
  readonly perCall?: number | undefined
}

/**
 * Prices by model name.
 *
 * @since 0.1.0
 * @category models
 */
export type PriceTable = Readonly<Record<string, Price>>

/**
 * The simulated profiles, re-exported for convenience: see `Model/Simulated`.
 *
 * @since 0.1.0
 * @category profiles
 */
export type Profile = Simulated.Profile

/**
 * The guide's models as data, so the router, the cache, the stream examples
 * and the tour all use the same numbers:
 *
 * | profile | latency | price |
 * |---|---|---|
 * | `fast` | 0.8 s | $0.0005 a call |
 * | `balanced` | 1.5 s | $0.005 a call |
 * | `quality` | 2.5 s | $0.01 a call |
 * | `expensive` (the cache section's GPT-4 call) | 2 s | $0.01 a call |
 * | `batchCall` (one batch API call) | 0.5 s | |
 * | `gpt4Like` / `claudeLike` / `geminiLike` (multi-model analysis) | 2.5 / 2.0 / 1.5 s | |
 * | `streaming` | first token 0.3 s, complete 2.5 s | |
 *
 * @since 0.1.0
 * @category profiles
 */
export const profiles: typeof Simulated.profiles = Simulated.profiles

/**
 * The default price table: the per-call prices of the simulated profiles,
 * plus a few hosted models (list prices per 1K tokens as of 2025; override
 * them with `layerPrices` for your contract).
 *
 * @since 0.1.0
 * @category prices
 */
export const defaultPrices: PriceTable = internal.defaultPrices

/**
 * The price table in use. A `Context.Reference`: without a layer it is
 * `defaultPrices`.
 *
 * @since 0.1.0
 * @category prices
 */
export interface Prices {
  readonly _: unique symbol
}

/**
 * @since 0.1.0
 * @category prices
 */
export const Prices: Context.Reference<Prices, PriceTable> = modelContext.Prices

/**
 * Adds or replaces prices (merged over `defaultPrices`).
 *
 * @since 0.1.0
 * @category prices
 */
export const layerPrices: (prices: PriceTable) => Layer.Layer<never> = internal.layerPrices

/**
 * The cost in US dollars of one call of `model` with `usage`, from `prices`
 * (0 for a model the table does not know: the model primitives count and log
 * such calls, see `metrics.unpricedCalls`).
 *
 * @since 0.1.0
 * @category prices
 */
export const cost: (prices: PriceTable, model: string, usage: Usage) => number = internal.cost

/**
 * The price of `model` in `prices`: its own entry, else its family's for a
 * dated snapshot (`gpt-4o-mini-2024-07-18` and `gpt-4-0613` are priced as
 * `gpt-4o-mini` and `gpt-4`).
 *
 * @since 0.1.0
 * @category prices
 */
export const priceOf: (prices: PriceTable, model: string) => Price | undefined = internal.priceOf

/**
 * Which provider and model a layer talks to.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProviderInfo {
  /** `gen_ai.system`: `"openai"`, `"flowtune.simulated"`, ... */
  readonly system: string
  readonly model: string
  /**
   * How the layer asks for structured output: `"json-schema"` when it sends
   * the schema to the server (OpenAI's `response_format`), `"instructions"`
   * (the default) when the primitive must describe the JSON in the prompt.
   */
  readonly structuredOutput?: "json-schema" | "instructions" | undefined
}

/**
 * The provider of the current `LanguageModel`, for span attributes
 * (`gen_ai.system`, `gen_ai.request.model`) and for pricing when a response
 * does not name its model. The model layers set it; without one it is
 * `{ system: "unknown", model: "unknown" }`.
 *
 * @since 0.1.0
 * @category services
 */
export interface Provider {
  readonly _: unique symbol
}

/**
 * @since 0.1.0
 * @category services
 */
export const Provider: Context.Reference<Provider, ProviderInfo> = modelContext.Provider

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

/**
 * The provider refused for now (HTTP 429). `retryAfter` is what it asked us
 * to wait (`retry-after-ms` or `retry-after`), when it said.
 *
 * @since 0.1.0
 * @category errors
 */
export class RateLimited extends Schema.TaggedError<RateLimited>("flowtune/Model/RateLimited")("RateLimited", {
  model: Schema.String,
  retryAfter: Schema.optional(Schema.DurationFromMillis)
}) {}

/**
 * An attempt took longer than the call's `timeout` and was interrupted.
 *
 * @since 0.1.0
 * @category errors
 */
export class ModelTimeout extends Schema.TaggedError<ModelTimeout>("flowtune/Model/ModelTimeout")("ModelTimeout", {
  model: Schema.String,
  timeout: Schema.DurationFromMillis
}) {}

/**
 * The provider failed on its side (HTTP 5xx, or an unknown provider error).
 *
 * @since 0.1.0
 * @category errors
 */
export class ModelUnavailable extends Schema.TaggedError<ModelUnavailable>("flowtune/Model/ModelUnavailable")(
  "ModelUnavailable",
  {
    model: Schema.String,
    status: Schema.optional(Schema.Number),
    description: Schema.String
  }
) {}

/**
 * The provider answered with something that is not a valid response
 * (unparseable JSON, a body that does not match the protocol).
 *
 * @since 0.1.0
 * @category errors
 */
export class MalformedResponse extends Schema.TaggedError<MalformedResponse>("flowtune/Model/MalformedResponse")(
  "MalformedResponse",
  {
    model: Schema.String,
    description: Schema.String
  }
) {}

/**
 * The request never got an answer: connection refused or reset, DNS, TLS.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionFailed extends Schema.TaggedError<ConnectionFailed>("flowtune/Model/ConnectionFailed")(
  "ConnectionFailed",
  {
    model: Schema.String,
    description: Schema.String
  }
) {}

/**
 * The provider rejected the request itself (HTTP 4xx other than 429: a bad
 * key, an unknown model, an invalid prompt). Retrying will not help.
 *
 * @since 0.1.0
 * @category errors
 */
export class RequestRejected extends Schema.TaggedError<RequestRejected>("flowtune/Model/RequestRejected")(
  "RequestRejected",
  {
    model: Schema.String,
    status: Schema.optional(Schema.Number),
    description: Schema.String
  }
) {}

/**
 * Every failure of a model call.
 *
 * @since 0.1.0
 * @category errors
 */
export type ModelError =
  | RateLimited
  | ModelTimeout
  | ModelUnavailable
  | MalformedResponse
  | ConnectionFailed
  | RequestRejected

/**
 * The schema of `ModelError`, for persisting or sending errors.
 *
 * @since 0.1.0
 * @category errors
 */
export const ModelError: Schema.Union<[
  typeof RateLimited,
  typeof ModelTimeout,
  typeof ModelUnavailable,
  typeof MalformedResponse,
  typeof ConnectionFailed,
  typeof RequestRejected
]> = Schema.Union(RateLimited, ModelTimeout, ModelUnavailable, MalformedResponse, ConnectionFailed, RequestRejected)

/**
 * Turns an `@effect/ai` error into a `ModelError` (429 -> `RateLimited`,
 * 5xx -> `ModelUnavailable`, other 4xx -> `RequestRejected`, transport ->
 * `ConnectionFailed`, undecodable -> `MalformedResponse`). The result holds
 * no request headers, so no credential.
 *
 * @since 0.1.0
 * @category errors
 */
export const fromAiError: (error: unknown, model: string) => ModelError = internal.fromAiError

// -----------------------------------------------------------------------------
// primitives
// -----------------------------------------------------------------------------

/**
 * Options of one model call that change its answer. Given per call (in a
 * `Request`) they are part of the primitive's input, hence of its cache key;
 * given to the primitive (`GenerateOptions`) they are its defaults.
 * They reach the request body (`temperature`, `max_tokens`, `stop`, `seed`,
 * `model` for `layerOpenAi`).
 *
 * @since 0.1.0
 * @category models
 */
export interface CallOptions {
  /** Sampling temperature, 0 to 2. */
  readonly temperature?: number | undefined
  /** The most tokens the answer may have (a positive integer). */
  readonly maxTokens?: number | undefined
  /** Sequences where the model stops (at most 4). */
  readonly stop?: ReadonlyArray<string> | undefined
  /** Seed of the provider's sampling, where it supports one (an integer). */
  readonly seed?: number | undefined
  /** The model id to ask for, instead of the layer's. */
  readonly model?: string | undefined
}

/**
 * A prompt with per-call options: `{ prompt: "...", temperature: 0 }`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Request extends CallOptions {
  readonly prompt: string | Prompt.Prompt
}

/**
 * A prompt: plain text (a user message), an `@effect/ai` `Prompt`, or a
 * `Request` (a prompt with per-call options).
 *
 * @since 0.1.0
 * @category models
 */
export type Input = string | Prompt.Prompt | Request

/**
 * A cache key for a model input that covers everything that changes the
 * answer: the prompt (an `@effect/ai` `Prompt` by its encoded messages) and
 * the per-call options. `Cache.wrap(answer, { key: Model.cacheKey })`.
 *
 * @since 0.1.0
 * @category caching
 */
export const cacheKey: (input: Input) => string = internal.cacheKey

/**
 * Options of `generate` and `streamText`. The `CallOptions` given here are
 * the primitive's defaults; a `Request` overrides them per call.
 *
 * @since 0.1.0
 * @category models
 */
export interface GenerateOptions extends CallOptions {
  /** The primitive's name (and span name). Default: `"Model.generate"` / `"Model.streamText"`. */
  readonly name?: string | undefined
  /** A system message put before the prompt. */
  readonly system?: string | undefined
  /**
   * How long one attempt may take (for `streamText`: the longest wait for
   * the next chunk, the first one included). Default: 60 seconds.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * Further attempts after a `RateLimited`, `ModelUnavailable` or
   * `ConnectionFailed` failure. A rate limit waits what the provider asked;
   * the others back off exponentially from 250 ms. Default: 2 (`generate`),
   * 0 (`streamText`, whose attempts may already have emitted text).
   */
  readonly retries?: number | undefined
  /** A `retry-after` longer than this fails at once instead of waiting. Default: 60 seconds. */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
  /** The fixed price of one call, as the primitive's `costPerCall` annotation (the cache and router read it). */
  readonly costPerCall?: number | undefined
}

/**
 * A model call as a primitive: prompt in, `Completion` out, on whatever
 * `LanguageModel` the context provides.
 *
 * @since 0.1.0
 * @category primitives
 */
export const generate: (
  options?: GenerateOptions
) => Primitive.Primitive<Input, Completion, ModelError, LanguageModel.LanguageModel> = internal.generate

/**
 * A streaming model call: the text deltas as they arrive. Usage, cost and
 * time to first token are recorded as metrics and span attributes when the
 * stream ends.
 *
 * @since 0.1.0
 * @category primitives
 */
export const streamText: (
  options?: GenerateOptions
) => FlowStream.StreamPrimitive<Input, string, ModelError, LanguageModel.LanguageModel> = internal.streamText

// -----------------------------------------------------------------------------
// structured output
// -----------------------------------------------------------------------------

/**
 * The model's answer did not decode into the schema (not JSON, or JSON of the
 * wrong shape), after every attempt. `text` is the last raw answer, `issue`
 * the decode error.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidOutput extends Schema.TaggedError<InvalidOutput>("flowtune/Model/InvalidOutput")("InvalidOutput", {
  model: Schema.String,
  text: Schema.String,
  issue: Schema.String,
  attempts: Schema.Number
}) {}

/**
 * Options of `generateObject`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ObjectOptions<A, I> extends GenerateOptions {
  /** What the answer must decode into (its JSON Schema is sent to the model). */
  readonly schema: Schema.Schema<A, I>
  /** The name of the object for the provider (`response_format.json_schema.name`). Default: the schema's identifier, else `"object"`. */
  readonly objectName?: string | undefined
  /**
   * Further model calls after an answer that does not decode, each told what
   * was wrong with the previous answer. Default: 2.
   */
  readonly decodeRetries?: number | undefined
}

/**
 * A decoded answer, with what the call cost in total (every attempt's usage
 * and cost added up) and the number of model calls it took.
 *
 * @since 0.1.0
 * @category models
 */
export interface ObjectCompletion<A> extends Completion {
  readonly value: A
  readonly attempts: number
}

/**
 * The schema of an `ObjectCompletion` of `value`, so a structured result can
 * be cached in Redis or SQL: `Cache.wrap(extract, { schema: Model.objectCompletion(Ticket) })`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const objectCompletion = <A, I>(value: Schema.Schema<A, I>): Schema.Schema<ObjectCompletion<A>, {
  readonly text: string
  readonly usage: { readonly inputTokens: number; readonly outputTokens: number }
  readonly costUsd: number
  readonly model: string
  readonly value: I
  readonly attempts: number
}> => Schema.Struct({ ...Completion.fields, value, attempts: Schema.Number })

/**
 * Structured output as a primitive: the model is asked for JSON matching
 * `schema` (the JSON Schema as `response_format` where the layer supports it,
 * instructions in the prompt where not), and the answer is decoded. An answer
 * that does not decode is sent back with the decode error and asked again,
 * `decodeRetries` times, then fails with `InvalidOutput`. Every attempt is
 * priced and charged.
 *
 * @since 0.1.0
 * @category primitives
 */
export const generateObject: <A, I>(
  options: ObjectOptions<A, I>
) => Primitive.Primitive<Input, ObjectCompletion<A>, ModelError | InvalidOutput, LanguageModel.LanguageModel> =
  internalStructured.generateObject

// -----------------------------------------------------------------------------
// tools
// -----------------------------------------------------------------------------

/**
 * A tool the model may call: the schema of its parameters (a `Schema.Struct`)
 * and the primitive that runs it (traced, and cached, batched or routed like
 * any other step). Its output is sent back to the model as JSON, encoded with
 * `success` when given.
 *
 * @since 0.1.0
 * @category models
 */
export interface Tool<Params, Out, E, R> {
  readonly description?: string | undefined
  /** A `Schema.Struct`: its fields are the tool's parameters. */
  readonly parameters: Schema.Schema<Params, any> & { readonly fields: Schema.Struct.Fields } // `any`: any JSON encoding
  readonly success?: Schema.Schema<Out, any> | undefined // `any`: whatever JSON the encoding gives
  readonly primitive: Primitive.Primitive<Params, Out, E, R>
}

/**
 * Defines a tool (an identity with inference).
 *
 * @since 0.1.0
 * @category constructors
 */
export const tool = <Params, Out, E, R>(definition: Tool<Params, Out, E, R>): Tool<Params, Out, E, R> => definition

/**
 * A tool's primitive failed. `error` is its typed failure.
 *
 * @since 0.1.0
 * @category errors
 */
export class ToolFailed extends Data.TaggedError("ToolFailed")<{
  readonly tool: string
  readonly params: unknown
  readonly error: unknown
}> {}

/**
 * The model was still calling tools after `maxRounds` rounds.
 *
 * @since 0.1.0
 * @category errors
 */
export class ToolRoundsExceeded
  extends Schema.TaggedError<ToolRoundsExceeded>("flowtune/Model/ToolRoundsExceeded")("ToolRoundsExceeded", {
    model: Schema.String,
    maxRounds: Schema.Number
  })
{}

/**
 * Options of `generateWithTools`.
 *
 * @since 0.1.0
 * @category models
 */
// `any`: a record of tools of any types: each tool's own types are read back with `infer`
export interface ToolsOptions<Tools extends Record<string, Tool<any, any, any, any>>> extends GenerateOptions {
  readonly tools: Tools
  /** The most rounds of tool calls; a model still calling tools after them fails with `ToolRoundsExceeded`. Default: 5. */
  readonly maxRounds?: number | undefined
}

/**
 * One tool call the model made, and what the tool answered.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolCall {
  readonly round: number
  readonly name: string
  readonly params: unknown
  readonly result: unknown
}

/**
 * The final answer of a tool loop, with the usage and cost of every round
 * added up, the number of model calls, and the tool calls made.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolsCompletion extends Completion {
  /** Model calls made (rounds of tool calls plus the final answer). */
  readonly modelCalls: number
  readonly toolCalls: ReadonlyArray<ToolCall>
}

/**
 * A model call offered `tools`, as a primitive: the model answers or asks for
 * tool calls; the calls of one answer run in parallel (each its own traced
 * primitive), their results go back to the model, and so on, up to
 * `maxRounds`. Every round is priced and charged.
 *
 * @since 0.1.0
 * @category primitives
 */
// `any`: a record of tools of any types: each tool's own types are read back with `infer`
export const generateWithTools: <const Tools extends Record<string, Tool<any, any, any, any>>>(
  options: ToolsOptions<Tools>
) => Primitive.Primitive<
  Input,
  ToolsCompletion,
  ModelError | ToolFailed | ToolRoundsExceeded,
  // `any`: a record of tools of any types: each tool's own types are read back with `infer`
  LanguageModel.LanguageModel | (Tools[keyof Tools] extends Tool<any, any, any, infer R> ? R : never)
> = internalTools.generateWithTools

/**
 * Options of `simulated` and `layerSimulated`.
 *
 * @since 0.1.0
 * @category models
 */
export type SimulatedOptions = Simulated.Options

/**
 * `generate` bound to a simulated model: a primitive with no requirements,
 * named after the profile and annotated with its `costPerCall`. The guide's
 * router, in three lines:
 *
 * ```ts
 * const fast = Model.simulated(Model.profiles.fast)
 * const balanced = Model.simulated(Model.profiles.balanced)
 * const quality = Model.simulated(Model.profiles.quality)
 * ```
 *
 * @since 0.1.0
 * @category primitives
 */
export const simulated: (
  profile: Profile,
  options?: SimulatedOptions & GenerateOptions
) => Primitive.Primitive<Input, Completion, ModelError> = internal.simulated

/**
 * `streamText` bound to a simulated model.
 *
 * @since 0.1.0
 * @category primitives
 */
export const simulatedStream: (
  profile: Profile,
  options?: SimulatedOptions & GenerateOptions
) => FlowStream.StreamPrimitive<Input, string, ModelError> = internal.simulatedStream

// -----------------------------------------------------------------------------
// layers
// -----------------------------------------------------------------------------

/**
 * A simulated `LanguageModel` with a latency/cost profile (see
 * `Model/Simulated`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSimulated: (
  profile: Profile,
  options?: SimulatedOptions
) => Layer.Layer<LanguageModel.LanguageModel | Provider> = Simulated.layer

/**
 * Options of `layerOpenAi`.
 *
 * @since 0.1.0
 * @category models
 */
export type OpenAiOptions = OpenAi.Options

/**
 * A `LanguageModel` on any OpenAI-compatible server (OpenAI, vLLM, Ollama,
 * llama.cpp, LiteLLM...) through `POST {baseUrl}/chat/completions`, with
 * SSE streaming, over Node's HTTP client with keep-alive.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerOpenAi: (
  options: OpenAiOptions
) => Layer.Layer<LanguageModel.LanguageModel | Provider, MissingPeerDependency> = OpenAi.layer

/**
 * `layerOpenAi` configured from the environment: `OPENAI_BASE_URL` (default
 * `https://api.openai.com/v1`), `OPENAI_MODEL`, `OPENAI_API_KEY` (a secret,
 * optional for local servers).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerOpenAiConfig: (
  options?: Partial<Omit<OpenAiOptions, "baseUrl" | "model" | "apiKey">>
) => Layer.Layer<LanguageModel.LanguageModel | Provider, ConfigError.ConfigError | MissingPeerDependency> =
  OpenAi.layerConfig

// -----------------------------------------------------------------------------
// metrics
// -----------------------------------------------------------------------------

/**
 * The metrics every model primitive records, tagged with `primitive` and
 * `model` (and `outcome` for calls: `success` or the error's tag).
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics: {
  readonly calls: Metric.Metric.Counter<number>
  readonly inputTokens: Metric.Metric.Counter<number>
  readonly outputTokens: Metric.Metric.Counter<number>
  readonly costUsd: Metric.Metric.Counter<number>
  readonly retries: Metric.Metric.Counter<number>
  /** Calls of a model the price table does not know (counted as $0, logged once per model). */
  readonly unpricedCalls: Metric.Metric.Counter<number>
  readonly latencyMs: Metric.Metric<MetricKeyType.MetricKeyType.Histogram, number, MetricState.MetricState.Histogram>
  readonly timeToFirstTokenMs: Metric.Metric<
    MetricKeyType.MetricKeyType.Histogram,
    number,
    MetricState.MetricState.Histogram
  >
} = internal.metrics
