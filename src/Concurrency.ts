/**
 * Adaptive concurrency per backend: a limiter that finds how many calls a
 * backend takes at once from what it answers, instead of a fixed number
 * nobody publishes (the idea of Netflix's `concurrency-limits` and Envoy's
 * adaptive concurrency filter). AIMD: the limit grows by one per round trip
 * while calls succeed at the limit and latency holds, and is cut by a factor
 * on a 429, a timeout or latency growth (at most once per round trip, so a
 * burst of 429s answers one overload with one cut). Gradient (`algorithm:
 * "gradient"`, since 0.2.0): the limit follows the ratio of the long-run
 * latency to the recent one, so it settles before latency grows far, without
 * needing a 429 to learn the backend is full; 429s and timeouts still cut it.
 *
 * Callers beyond the limit wait in a bounded FIFO queue; past its bound they
 * fail at once with `Overloaded` instead of piling up. An interrupted waiter
 * leaves the queue. A limiter is shared by every primitive wrapped with it,
 * so one backend gets one limit.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Concurrency, Model, Primitive } from "flowtune"
 *
 * const program = Effect.gen(function*() {
 *   const limiter = yield* Concurrency.make({ name: "provider-a", initial: 4, queue: 100 })
 *   const model = Model.simulated(Model.profiles.fast).pipe(Concurrency.limit(limiter))
 *   return yield* Effect.forEach(["a", "b", "c"], (q) => Primitive.run(model, q), { concurrency: "unbounded" })
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as internal from "./internal/concurrency.js"
import type * as Primitive from "./Primitive.js"

/**
 * A call refused because the limit was reached and the wait queue was full.
 *
 * @since 0.1.0
 * @category errors
 */
export class Overloaded extends Data.TaggedError("Overloaded")<{
  readonly limiter: string
  readonly limit: number
  readonly waiting: number
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `${this.limiter}: ${this.limit} calls in flight and ${this.waiting} waiting; refused`
  }
}

/**
 * Options of `make`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Names the limiter in errors, metrics (`limiter` tag) and stats. */
  readonly name: string
  /** The first limit. Default: 4. */
  readonly initial?: number | undefined
  /** The limit never goes below this. Default: 1. */
  readonly min?: number | undefined
  /** The limit never goes above this. Default: 1000. */
  readonly max?: number | undefined
  /** Callers that may wait for a place; the next one fails with `Overloaded`. Default: 1000. */
  readonly queue?: number | undefined
  /** The factor of a cut, in (0, 1). Default: 0.9. */
  readonly backoff?: number | undefined
  /** A call slower than this counts as an overload (it is not cut short). Default: none. */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * How the limit moves between overloads. `"aimd"` (default): up by about
   * one per round trip, cut by `backoff` when the recent mean latency exceeds
   * `latencyTolerance` times the long-run mean. `"gradient"` (Netflix
   * `Gradient2`): the limit follows `clamp(latencyTolerance * longRtt /
   * shortRtt, 0.5, 1) * limit + headroom`, smoothed, so it stops growing and
   * shrinks as latency grows, before the backend answers 429. With both,
   * 429s and timeouts cut the limit by `backoff`.
   *
   * @since 0.2.0
   */
  readonly algorithm?: "aimd" | "gradient" | undefined
  /**
   * Latency growth tolerated: the recent (short-window) latency over the
   * long-run one. AIMD cuts past it (default 2); the gradient shrinks the
   * limit in proportion past it (default 1.5).
   */
  readonly latencyTolerance?: number | undefined
  /**
   * Gradient only: the share of each round trip's new limit that is taken,
   * in (0, 1]. Default: 0.2.
   *
   * @since 0.2.0
   */
  readonly smoothing?: number | undefined
  /**
   * Gradient only: calls allowed to wait at the backend beyond what the
   * latency ratio allows (Netflix's `queueSize`); with flat latency the limit
   * grows by `smoothing * headroom` per round trip. Default: 4.
   *
   * @since 0.2.0
   */
  readonly headroom?: number | undefined
  /**
   * Which failures say "too much": default `RateLimited`, `ModelTimeout`,
   * `PrimitiveTimeout` and `Overloaded` (by tag).
   */
  readonly isOverload?: ((error: unknown) => boolean) | undefined
}

/**
 * An adaptive limiter.
 *
 * @since 0.1.0
 * @category models
 */
export interface Limiter {
  readonly [internal.TypeId]: typeof internal.TypeId
  readonly name: string
}

/**
 * A snapshot of a limiter.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  readonly limit: number
  readonly inFlight: number
  readonly waiting: number
  /** Calls completed (whatever their outcome). */
  readonly calls: number
  /** Calls counted as overloads (429, timeout...). */
  readonly overloads: number
  /** Cuts of the limit (overloads and latency growth). */
  readonly cuts: number
  /** Callers refused with `Overloaded`. */
  readonly rejected: number
  /** The highest limit reached. */
  readonly peakLimit: number
}

/**
 * Makes a limiter. Options are checked here (`Primitive.InvalidPrimitive`).
 *
 * Metrics, tagged `limiter: name`: `flowtune_concurrency_limit` (gauge),
 * `flowtune_concurrency_rejected_total`, `flowtune_concurrency_cuts_total`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: Options) => Effect.Effect<Limiter> = internal.make

/**
 * Runs a primitive's calls through a limiter: each call waits for a place,
 * and its outcome and latency steer the limit.
 *
 * @since 0.1.0
 * @category combinators
 */
export const limit: {
  (limiter: Limiter): <In, Out, E, R>(
    self: Primitive.Primitive<In, Out, E, R>
  ) => Primitive.Primitive<In, Out, E | Overloaded, R>
  <In, Out, E, R>(self: Primitive.Primitive<In, Out, E, R>, limiter: Limiter): Primitive.Primitive<
    In,
    Out,
    E | Overloaded,
    R
  >
} = internal.limit

/**
 * Runs one effect through a limiter (for work that is not a primitive).
 *
 * @since 0.1.0
 * @category combinators
 */
export const withLimiter: {
  (limiter: Limiter): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | Overloaded, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, limiter: Limiter): Effect.Effect<A, E | Overloaded, R>
} = internal.withLimiter

/**
 * A snapshot of a limiter's state and counters.
 *
 * @since 0.1.0
 * @category getters
 */
export const stats: (limiter: Limiter) => Effect.Effect<Stats> = internal.stats

/**
 * The default overload test: the error's tag is `RateLimited`,
 * `ModelTimeout`, `PrimitiveTimeout` or `Overloaded`.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isOverload: (error: unknown) => boolean = internal.isOverload

/**
 * The metrics every limiter records.
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics = internal.metrics
