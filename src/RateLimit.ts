/**
 * A rate limit for any primitive, shared by every process that uses the same
 * store: a provider's "500 requests per minute" holds for the whole
 * deployment, not per process. Built on `@effect/experimental`'s
 * `RateLimiter` (token bucket or fixed window), with an in-memory store for
 * one process (`layerMemory`) and a Redis store for many
 * (`flowtune/RateLimit/Redis`). Works with and without the durable engine.
 *
 * A call past the limit either waits its turn (`onExceeded: "delay"`, the
 * default) or fails at once with `Model.RateLimited` carrying the wait.
 * A store that does not answer within `storeTimeout` fails the call with
 * `RateLimitUnavailable` rather than letting it through unmetered.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { Model, Primitive, RateLimit } from "flowtune"
 *
 * const call = Primitive.make("gpt-4o", (prompt: string) => Effect.succeed(prompt.length))
 * const limited = call.pipe(RateLimit.limit({ key: "openai", limit: 500, window: "1 minute" }))
 *
 * const program = Primitive.run(limited, "hello").pipe(Effect.provide(RateLimit.layerMemory))
 * void Model
 * ```
 *
 * @since 0.2.0
 */
import * as RateLimiter from "@effect/experimental/RateLimiter"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Check from "./internal/options.js"
import * as Model from "./Model.js"
import * as Primitive from "./Primitive.js"

/**
 * The rate-limit store did not answer in time or failed: the call was not
 * made (it would have been unmetered).
 *
 * @since 0.2.0
 * @category errors
 */
export class RateLimitUnavailable extends Data.TaggedError("RateLimitUnavailable")<{
  readonly key: string
  readonly cause: unknown
}> {
  override get message() {
    return `Rate limit "${this.key}": the store is unavailable`
  }
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Options<In> {
  /** The budget's name in the store; a function to limit per tenant, per model... */
  readonly key: string | ((input: In) => string)
  /** Calls (or tokens) allowed per window. */
  readonly limit: number
  /** The window (fixed window) or the time to refill the whole bucket (token bucket). */
  readonly window: Duration.DurationInput
  /** `"token-bucket"` (default: smooth) or `"fixed-window"`. */
  readonly algorithm?: "token-bucket" | "fixed-window" | undefined
  /** `"delay"` (default): wait for a slot; `"fail"`: fail with `Model.RateLimited`. */
  readonly onExceeded?: "delay" | "fail" | undefined
  /** What one call costs against the limit (default 1): e.g. its estimated tokens. */
  readonly cost?: ((input: In) => number) | undefined
  /** How long to wait for the store before failing with `RateLimitUnavailable` (default 1 second). */
  readonly storeTimeout?: Duration.DurationInput | undefined
}

/**
 * Limits how often `self` runs, across every process sharing the store.
 *
 * @since 0.2.0
 * @category combinators
 */
export const limit: {
  <In>(
    options: Options<NoInfer<In>>
  ): <Out, E, R>(
    self: Primitive.Primitive<In, Out, E, R>
  ) => Primitive.Primitive<In, Out, E | Model.RateLimited | RateLimitUnavailable, R | RateLimiter.RateLimiter>
  <In, Out, E, R>(
    self: Primitive.Primitive<In, Out, E, R>,
    options: Options<NoInfer<In>>
  ): Primitive.Primitive<In, Out, E | Model.RateLimited | RateLimitUnavailable, R | RateLimiter.RateLimiter>
} = dual(2, <In, Out, E, R>(self: Primitive.Primitive<In, Out, E, R>, options: Options<In>) => {
  const owner = `RateLimit.limit(${self.name})`
  if (typeof options !== "object" || options === null) Check.invalidShape(owner, "options must be an object")
  const keyOf = typeof options.key === "function"
    ? options.key
    : ((key: string) => () => key)(Check.nonEmptyString(owner, "key", options.key))
  const max = Check.positiveInt(owner, "limit", options.limit)
  const window = Check.duration(owner, "window", options.window)
  const algorithm = options.algorithm === undefined
    ? "token-bucket"
    : Check.oneOf(owner, "algorithm", options.algorithm, ["token-bucket", "fixed-window"] as const)
  const onExceeded = options.onExceeded === undefined
    ? "delay"
    : Check.oneOf(owner, "onExceeded", options.onExceeded, ["delay", "fail"] as const)
  const cost = options.cost === undefined ? undefined : Check.func<(input: In) => number>(owner, "cost", options.cost)
  const storeTimeout = Check.durationOr(owner, "storeTimeout", options.storeTimeout, "1 second")

  return Primitive.make(`rateLimit(${self.name})`, (input: In) =>
    Effect.flatMap(RateLimiter.RateLimiter, (limiter) => {
      const key = keyOf(input)
      const tokens = cost === undefined ? 1 : cost(input)
      if (!(tokens >= 0) || tokens > max) {
        return Effect.die(new RangeError(`${owner}: a call costs ${tokens}, outside 0..${max}`))
      }
      return limiter.consume({ key, limit: max, window, algorithm, onExceeded, tokens }).pipe(
        Effect.timeoutFail({
          duration: storeTimeout,
          onTimeout: () => new RateLimitUnavailable({ key, cause: "timeout" })
        }),
        Effect.catchTag(
          "RateLimiterError",
          (error): Effect.Effect<never, Model.RateLimited | RateLimitUnavailable> =>
            error.reason === "Exceeded"
              ? Effect.fail(new Model.RateLimited({ model: self.name, retryAfter: error.retryAfter }))
              : Effect.fail(new RateLimitUnavailable({ key, cause: error }))
        ),
        Effect.flatMap((result: RateLimiter.ConsumeResult) =>
          Duration.isZero(result.delay) ? Effect.void : Effect.sleep(result.delay)
        ),
        Effect.zipRight(self.run(input))
      )
    }), { annotations: self.annotations })
})

/**
 * A limiter whose counts live in this process (tests, one process).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerMemory: Layer.Layer<RateLimiter.RateLimiter> = RateLimiter.layer.pipe(
  Layer.provide(RateLimiter.layerStoreMemory)
)
