/**
 * A simulated language model: a real `@effect/ai` `LanguageModel` whose
 * answers take a profile's latency (fixed, or drawn from a seeded
 * distribution), stream at its time to first token and pace, report token
 * counts and a cost, and fail at an injected rate. It sleeps on Effect's
 * `Clock`, so under the `TestClock` a 2.5 s call costs no real time, and in a
 * demo `scale: 0.1` makes it ten times quicker.
 *
 * The guide's models are the `profiles`; every module, example and the tour
 * use these numbers.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LanguageModel } from "@effect/ai"
 * import * as Simulated from "flowtune/Model/Simulated"
 *
 * const program = LanguageModel.generateText({ prompt: "hi" }).pipe(
 *   Effect.provide(Simulated.layer(Simulated.profiles.quality, { scale: 0.1 }))
 * ) // answers after 0.25 s of real time
 * ```
 *
 * @since 0.1.0
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as modelContext from "../internal/modelContext.js"
import * as internal from "../internal/modelSimulated.js"
import type * as Model from "../Model.js"

/**
 * How long a full answer takes: a fixed duration, or a seeded draw.
 *
 * @since 0.1.0
 * @category models
 */
export type Latency =
  | Duration.DurationInput
  | { readonly _tag: "Uniform"; readonly min: Duration.DurationInput; readonly max: Duration.DurationInput }
  | { readonly _tag: "Normal"; readonly mean: Duration.DurationInput; readonly stddev: Duration.DurationInput }
  | LogNormal
  | Mixture

/**
 * A heavy-tailed latency: lognormal with the given median (p50) and the ratio
 * of its 99th percentile to its median (`p99OverP50: 10` makes p99 ten times
 * p50).
 *
 * @since 0.1.0
 * @category models
 */
export interface LogNormal {
  readonly _tag: "LogNormal"
  readonly median: Duration.DurationInput
  readonly p99OverP50: number
}

/**
 * Several latency distributions, one drawn per call with probability
 * `weight` (weights are normalized): e.g. a fast lognormal body plus 2% of
 * stalls, the shape "The Tail at Scale" describes.
 *
 * @since 0.1.0
 * @category models
 */
export interface Mixture {
  readonly _tag: "Mixture"
  readonly components: ReadonlyArray<{ readonly weight: number; readonly latency: Latency }>
}

/**
 * A hidden capacity: past `concurrency` calls in flight, a call is answered
 * at once with HTTP 429 and a `retry-after` (a `Model.RateLimited`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Capacity {
  readonly concurrency: number
  /** The `retry-after` of the 429. Default: 1 second. */
  readonly retryAfter?: Duration.DurationInput | undefined
}

/**
 * An injected failure: what the provider would have done.
 *
 * - `rate-limited`: HTTP 429 with `retry-after` (becomes `RateLimited`)
 * - `unavailable`: HTTP 503 (`ModelUnavailable`)
 * - `malformed`: an undecodable answer (`MalformedResponse`)
 * - `connection`: a transport failure (`ConnectionFailed`)
 * - `timeout`: no answer at all (the caller's timeout gives `ModelTimeout`)
 *
 * @since 0.1.0
 * @category models
 */
export type FailureKind = "rate-limited" | "unavailable" | "malformed" | "connection" | "timeout"

/**
 * Failure injection: each call fails with probability `rate`, with `kind`
 * (or one of the kinds, drawn uniformly).
 *
 * @since 0.1.0
 * @category models
 */
export interface Failures {
  readonly rate: number
  readonly kind: FailureKind | ReadonlyArray<FailureKind>
  /** What a `rate-limited` failure asks the caller to wait. Default: 1 second. */
  readonly retryAfter?: Duration.DurationInput | undefined
}

/**
 * A simulated model.
 *
 * @since 0.1.0
 * @category models
 */
export interface Profile {
  /** The model name the responses report (and the price table key). */
  readonly name: string
  /** Time until the complete answer (the last streamed token). */
  readonly latency: Latency
  /** Time to the first streamed token. Default: the whole latency over the number of tokens. */
  readonly firstToken?: Duration.DurationInput | undefined
  /** Streaming pace after the first token; without it, tokens spread evenly until `latency`. */
  readonly tokensPerSecond?: number | undefined
  /** Reported output tokens. Default: the number of words in the answer. */
  readonly outputTokens?: number | undefined
  /** Fixed price of one call in US dollars. */
  readonly costPerCall?: number | undefined
  readonly failures?: Failures | undefined
  /** The answer to a prompt's text. Default: `"<name>: <prompt>"`. */
  readonly respond?: ((prompt: string, options: Model.CallOptions) => string) | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Multiplies every latency (0.1 = ten times faster), for demos. Default: 1. */
  readonly scale?: number | undefined
  /** Seed of the latency and failure draws. Default: 42. */
  readonly seed?: number | undefined
  /** Replaces the profile's failure injection. */
  readonly failures?: Failures | undefined
  /** A capacity the callers are not told about (see `Capacity`; counts `generateText` calls). Default: unlimited. */
  readonly capacity?: Capacity | undefined
  /** Answers to structured-output calls (`Model.generateObject`). */
  readonly structured?: Structured | undefined
  /**
   * The tool calls the model makes (`Model.generateWithTools`): called on
   * each model call offered tools; an empty array means "answer now" (with
   * `respond`). Default: never calls a tool.
   */
  readonly tools?:
    | ((request: ToolRequest) => ReadonlyArray<{ readonly name: string; readonly params: unknown }>)
    | undefined
}

/**
 * How the simulated model answers structured-output calls.
 *
 * @since 0.1.0
 * @category models
 */
export interface Structured {
  /**
   * Canned answers, served in turn, or a function of the prompt (the last
   * user message, so a retry sees the decode error it was sent; every user
   * message, the first one being the original request). A string is
   * the raw answer text (broken JSON for a test); anything else is sent as
   * JSON. Default: objects generated from the schema (seeded, so the same
   * in every run).
   */
  readonly objects?:
    | ReadonlyArray<unknown>
    | ((prompt: string, userMessages: ReadonlyArray<string>) => unknown)
    | undefined
  /**
   * The share of answers that do not decode, drawn from the seed: half are
   * not JSON, half are JSON of the wrong shape. Default: 0.
   */
  readonly invalidRate?: number | undefined
}

/**
 * What the `tools` script of a simulated model is told on each call.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolRequest {
  /** The last user message. */
  readonly prompt: string
  /** 1 for the first call, 2 after one round of tool results, ... */
  readonly round: number
  /** The names of the tools offered. */
  readonly tools: ReadonlyArray<string>
  /** Every tool result so far, in order. */
  readonly results: ReadonlyArray<{ readonly name: string; readonly result: unknown }>
}

/**
 * The guide's models. Latencies and prices are the guide's own figures.
 *
 * @since 0.1.0
 * @category profiles
 */
export const profiles: {
  /** Routing, simple queries ("GPT-3.5"): 0.8 s, $0.0005 a call. */
  readonly fast: Profile
  /** Routing, medium queries ("GPT-4 Turbo"): 1.5 s, $0.005 a call. */
  readonly balanced: Profile
  /** Routing, complex queries ("GPT-4"): 2.5 s, $0.01 a call. */
  readonly quality: Profile
  /** Caching: the expensive call, 2 s and $0.01. */
  readonly expensive: Profile
  /** Batching: one call of the batch API, 0.5 s. */
  readonly batchCall: Profile
  /** Multi-model analysis: 2.5 s. */
  readonly gpt4Like: Profile
  /** Multi-model analysis: 2.0 s. */
  readonly claudeLike: Profile
  /** Multi-model analysis: 1.5 s. */
  readonly geminiLike: Profile
  /** Streaming: first token at 0.3 s, complete at 2.5 s. */
  readonly streaming: Profile
} = internal.profiles

/**
 * Builds the simulated `LanguageModel` service. Draws come from one seeded
 * generator per service, so a run is reproducible call for call.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (profile: Profile, options?: Options): Effect.Effect<LanguageModel.Service> => {
  // Built once here so every option is checked where it is given; then afresh
  // each time the service is built, so every build draws the same sequence.
  internal.params(profile, options)
  return Effect.suspend(() => internal.service(internal.params(profile, options)))
}

/**
 * The simulated model as a layer (plus the `Model.Provider` it describes).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (profile: Profile, options?: Options): Layer.Layer<LanguageModel.LanguageModel | Model.Provider> =>
  Layer.merge(
    Layer.effect(LanguageModel.LanguageModel, make(profile, options)),
    Layer.succeed(modelContext.Provider, { system: "flowtune.simulated", model: profile.name })
  )
