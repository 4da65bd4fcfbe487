/**
 * Hedged calls ("The Tail at Scale", Dean and Barroso, CACM 2013): when a
 * call has been outstanding longer than a delay, a second attempt starts, on
 * the same primitive or on an alternative one (another route, another
 * provider). The first attempt to succeed wins; the other is interrupted, so
 * its finalizers run and a `fromPromise` step's `AbortSignal` fires (the HTTP
 * request is aborted). A cap bounds the extra attempts to a fraction of the
 * calls, and what the extra attempts cost is counted: model calls charge the
 * same cost ledgers as the cache, the router and `Budget`.
 *
 * The delay is a duration or a percentile of the primitive's own recent
 * latencies (`{ percentile: 95 }`, the paper's choice).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Hedge, Model, Primitive } from "flowtune"
 *
 * const model = Model.simulated(Model.profiles.fast)
 * const program = Effect.gen(function*() {
 *   const hedged = yield* Hedge.make(model, { delay: { percentile: 95, initial: "1 second" }, maxExtra: 0.05 })
 *   return yield* Primitive.run(hedged, "hello")
 * })
 * ```
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as internal from "./internal/hedge.js"
import type * as Primitive from "./Primitive.js"

/**
 * @since 0.1.0
 * @category symbols
 */
// The same registered symbol as the implementation's, re-declared as this module's unique symbol type.
// `any`: a `unique symbol` type can only be written where it is declared: the public name re-declares the internal symbol
export const TypeId: unique symbol = internal.TypeId as any

/**
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * When the second attempt starts: a fixed duration, or a percentile of the
 * latencies of the primitive's last `window` first attempts. Until
 * `minSamples` are known, the percentile delay is `initial` (without
 * `initial`, no call is hedged until then).
 *
 * @since 0.1.0
 * @category models
 */
export type Delay =
  | Duration.DurationInput
  | {
    /** In (0, 100). The paper hedges at the 95th percentile. */
    readonly percentile: number
    /** Latencies kept. Default: 1000. */
    readonly window?: number | undefined
    /** Latencies needed before the percentile is used. Default: 20. */
    readonly minSamples?: number | undefined
    /** The delay until then. Default: none (no hedging). */
    readonly initial?: Duration.DurationInput | undefined
  }

/**
 * Options of `make`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<In, Out, E2, R2> {
  /** Default: `hedge(<name>)`. */
  readonly name?: string | undefined
  readonly delay: Delay
  /** Where the second attempt goes. Default: the primitive itself. */
  readonly alternative?: Primitive.Primitive<In, Out, E2, R2> | undefined
  /**
   * The most extra attempts, as a fraction of the calls so far (0.05: at
   * most one hedge per 20 calls). Default: 0.05.
   */
  readonly maxExtra?: number | undefined
}

/**
 * A hedged primitive. Its error type is the union of both attempts'; when
 * both fail, the failure's `Cause` holds both errors (`Cause.failures`), and
 * `Effect.catchAll` sees the first attempt's.
 *
 * @since 0.1.0
 * @category models
 */
export interface Hedged<In, Out, E = never, R = never> extends Primitive.Primitive<In, Out, E, R> {
  readonly [TypeId]: TypeId
}

/**
 * Counters of one hedged primitive since it was made.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  readonly calls: number
  /** Second attempts started. */
  readonly hedged: number
  /** Calls won by the second attempt. */
  readonly hedgeWins: number
  /** Hedges the cap refused. */
  readonly capped: number
  /** `hedged / calls`. */
  readonly extraFraction: number
  /**
   * What the second attempts were charged (model calls, from the cost
   * ledgers), in US dollars, winners and losers alike. The model layer charges
   * a call when it completes, so an attempt interrupted in flight is not
   * charged. See `loserCostUsd` for what hedging cost beyond one call per call.
   */
  readonly extraCostUsd: number
  /**
   * What the losers were charged, in US dollars: the known extra cost of
   * hedging. A loser that completed (it failed, or succeeded in the same
   * instant as the winner) is counted in full; a loser interrupted in flight
   * only for what it had completed before (a model call's earlier retries or
   * rounds), since its aborted request was never charged. When both attempts
   * fail, the second one's charges.
   */
  readonly loserCostUsd: number
  /**
   * Losers interrupted in flight (their HTTP request aborted). Their cost is
   * not known here: a provider may bill an aborted request (its input tokens,
   * or the whole call), so the true extra cost of hedging is `loserCostUsd`
   * plus up to `abortedLosers` times a call's price.
   */
  readonly abortedLosers: number
  /** The delay the next call would use, in milliseconds (undefined: no hedging yet). */
  readonly currentDelayMs: number | undefined
}

/**
 * Makes a hedged primitive. Its state (recent latencies, counters) is
 * created by this effect, so each `make` starts afresh.
 *
 * A first attempt that fails before the delay fails the call (hedging is
 * for slowness; use `Primitive.retry` for errors). A first attempt that
 * succeeds is never followed by a hedge. Options are checked here: a bad one
 * throws `Primitive.InvalidPrimitive`.
 *
 * Metrics, tagged `primitive: name`: `flowtune_hedge_calls_total`,
 * `flowtune_hedge_attempts_total` (second attempts), `flowtune_hedge_wins_total`,
 * `flowtune_hedge_aborted_losers_total` and `flowtune_hedge_loser_cost_usd_total`
 * (see `Stats`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: {
  <In, Out, E2 = never, R2 = never>(
    options: Options<NoInfer<In>, NoInfer<Out>, E2, R2>
  ): <E, R>(self: Primitive.Primitive<In, Out, E, R>) => Effect.Effect<Hedged<In, Out, E | E2, R | R2>>
  <In, Out, E, R, E2 = never, R2 = never>(
    self: Primitive.Primitive<In, Out, E, R>,
    options: Options<NoInfer<In>, NoInfer<Out>, E2, R2>
  ): Effect.Effect<Hedged<In, Out, E | E2, R | R2>>
} = internal.make as any // `any`: the overloads are checked at call sites; the implementation is untyped

/**
 * @since 0.1.0
 * @category guards
 */
export const isHedged: (u: unknown) => u is Hedged<unknown, unknown, unknown, unknown> = internal.isHedged

/**
 * A snapshot of a hedged primitive's counters.
 *
 * @since 0.1.0
 * @category getters
 */
// `any`: a value of any type parameters: only the fields they share are read
export const stats: (self: Hedged<any, any, any, any>) => Effect.Effect<Stats> = internal.stats

/**
 * The metrics every hedged primitive records.
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics = internal.metrics
