import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { dual } from "effect/Function"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import type * as Hedge from "../Hedge.js"
import * as Primitive from "../Primitive.js"
import * as CostLedger from "./costLedger.js"
import * as opts from "./options.js"
import { field, unsafeMake } from "./primitive.js"

/** @internal */
// `any`: a `unique symbol` type can only be given to a `Symbol.for` result by a cast (as Effect does).
export const TypeId: unique symbol = Symbol.for("flowtune/Hedge") as any

// The hedge's counters, given to its primitive when it is built (`Hedge.stats` reads them).
const StateField = field<State>(Symbol.for("flowtune/Hedge/state"))

/** @internal */
export const metrics = {
  calls: Metric.counter("flowtune_hedge_calls_total", { description: "Calls of hedged primitives" }),
  attempts: Metric.counter("flowtune_hedge_attempts_total", { description: "Second (hedged) attempts started" }),
  wins: Metric.counter("flowtune_hedge_wins_total", { description: "Calls won by the second attempt" }),
  abortedLosers: Metric.counter("flowtune_hedge_aborted_losers_total", {
    description: "Losing attempts interrupted before they completed (a provider may still bill them)"
  }),
  loserCostUsd: Metric.counter("flowtune_hedge_loser_cost_usd_total", {
    description: "What losing attempts were charged (the known extra cost of hedging), in US dollars"
  })
}

/** The recent latencies of first attempts, in a ring, and the percentile computed from them. */
interface Window {
  readonly percentile: number
  readonly samples: Float64Array
  readonly minSamples: number
  count: number
  next: number
  sinceSort: number
  cached: number | undefined
}

interface State {
  readonly name: string
  calls: number
  hedged: number
  hedgeWins: number
  capped: number
  abortedLosers: number
  loserCostUsd: number
  readonly extra: CostLedger.Ledger
  readonly fixedMs: number | undefined
  readonly initialMs: number | undefined
  readonly window: Window | undefined
}

const record = (window: Window, ms: number) => {
  window.samples[window.next] = ms
  window.next = (window.next + 1) % window.samples.length
  if (window.count < window.samples.length) window.count++
  window.sinceSort++
}

// Sorting the whole window on every call would cost O(n log n) per call; the
// percentile moves slowly, so it is recomputed every 1/20th of a window.
const percentileOf = (window: Window): number | undefined => {
  if (window.count < window.minSamples) return undefined
  if (window.cached === undefined || window.sinceSort >= Math.max(1, window.samples.length / 20)) {
    const sorted = Array.from(window.samples.subarray(0, window.count)).sort((a, b) => a - b)
    const rank = Math.max(1, Math.ceil((window.percentile / 100) * sorted.length))
    window.cached = sorted[rank - 1]!
    window.sinceSort = 0
  }
  return window.cached
}

const delayOf = (state: State): number | undefined => {
  if (state.fixedMs !== undefined) return state.fixedMs
  return percentileOf(state.window!) ?? state.initialMs
}

const snapshot = (state: State): Hedge.Stats => ({
  calls: state.calls,
  hedged: state.hedged,
  hedgeWins: state.hedgeWins,
  capped: state.capped,
  extraFraction: state.calls === 0 ? 0 : state.hedged / state.calls,
  extraCostUsd: state.extra.costUsd,
  loserCostUsd: state.loserCostUsd,
  abortedLosers: state.abortedLosers,
  currentDelayMs: delayOf(state)
})

const parseDelay = (owner: string, delay: unknown) => {
  if (typeof delay === "object" && delay !== null && "percentile" in delay) {
    const d = delay as Exclude<Hedge.Delay, Duration.DurationInput>
    const percentile = opts.number(owner, "delay.percentile", d.percentile, { min: 0, minExclusive: true, max: 100 })
    const size = d.window === undefined ? 1000 : opts.positiveInt(owner, "delay.window", d.window)
    const minSamples = d.minSamples === undefined ? 20 : opts.positiveInt(owner, "delay.minSamples", d.minSamples)
    if (minSamples > size) opts.invalid(owner, "delay.minSamples", `<= delay.window (${size})`, minSamples)
    const initialMs = d.initial === undefined
      ? undefined
      : Duration.toMillis(opts.duration(owner, "delay.initial", d.initial, { zero: true }))
    const window: Window = {
      percentile,
      samples: new Float64Array(size),
      minSamples,
      count: 0,
      next: 0,
      sinceSort: 0,
      cached: undefined
    }
    return { fixedMs: undefined, initialMs, window }
  }
  const fixedMs = Duration.toMillis(opts.duration(owner, "delay", delay, { zero: true }))
  return { fixedMs, initialMs: undefined, window: undefined }
}

/** Runs `effect` with `ledgers` open beside the ones already open. */
const charging = <A, E, R>(effect: Effect.Effect<A, E, R>, ...ledgers: ReadonlyArray<CostLedger.Ledger>) =>
  Effect.locallyWith(effect, CostLedger.currentLedgers, (open) => [...open, ...ledgers])

// `any`: a metric of any kind: `M` carries the kind back to the caller
const tagged = <M extends Metric.Metric<any, any, any>>(metric: M, name: string): M =>
  // `tagged` keeps the metric's kind but its signature forgets it.
  Metric.tagged(metric, "primitive", name) as M

/** @internal */
export const make = dual(2, (
  self: Primitive.Primitive.Any,
  options: Hedge.Options<unknown, unknown, unknown, unknown>
): Effect.Effect<Primitive.Primitive.Any> => {
  const name = options?.name ?? `hedge(${self.name})`
  const owner = `Hedge.make(${name})`
  if (typeof options !== "object" || options === null) opts.invalidShape(owner, "options with a `delay` are required")
  const parsed = parseDelay(owner, options.delay)
  const maxExtra = opts.numberOr(owner, "maxExtra", options.maxExtra, 0.05, { min: 0, max: 1 })
  const alternative = options.alternative ?? self
  if (!Primitive.isPrimitive(alternative)) opts.invalid(owner, "alternative", "a primitive", alternative)
  const counters = {
    calls: tagged(metrics.calls, name),
    attempts: tagged(metrics.attempts, name),
    wins: tagged(metrics.wins, name),
    abortedLosers: tagged(metrics.abortedLosers, name),
    loserCostUsd: tagged(metrics.loserCostUsd, name)
  }

  // State is created per `make` (the effect), never when the module loads. Plain
  // fields rather than Refs: every update is a synchronous step of one fiber.
  return Effect.sync(() => {
    const state: State = {
      name,
      calls: 0,
      hedged: 0,
      hedgeWins: 0,
      capped: 0,
      abortedLosers: 0,
      loserCostUsd: 0,
      extra: CostLedger.empty(),
      ...parsed
    }

    // A hedge is allowed while the hedges so far, this one included, stay
    // within `maxExtra` of the calls so far.
    const takeHedge = (): boolean => {
      if (state.hedged + 1 > maxExtra * state.calls) {
        state.capped++
        return false
      }
      state.hedged++
      return true
    }

    const settle = (loserCostUsd: number, aborted: boolean) =>
      Effect.suspend(() => {
        state.loserCostUsd += loserCostUsd
        if (aborted) state.abortedLosers++
        return Effect.zipRight(
          Metric.incrementBy(counters.loserCostUsd, loserCostUsd),
          aborted ? Metric.increment(counters.abortedLosers) : Effect.void
        )
      })

    const body = (input: unknown): Effect.Effect<unknown, unknown, unknown> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          state.calls++
          yield* Metric.increment(counters.calls)
          const delay = delayOf(state)
          const start = yield* Clock.currentTimeMillis
          const observe = (exit: Exit.Exit<unknown, unknown>) =>
            Effect.flatMap(Clock.currentTimeMillis, (now) =>
              Effect.sync(() => {
                // Failures say nothing about latency; an interrupted loser is
                // recorded at the time it had run (a lower bound, above the delay).
                if (state.window !== undefined && (Exit.isSuccess(exit) || Exit.isInterrupted(exit))) {
                  record(state.window, now - start)
                }
              }))
          // Each attempt charges a ledger of its own too, so the loser's charges are known.
          const primaryLedger = CostLedger.empty()
          const primary = yield* Effect.fork(restore(Effect.onExit(charging(self.run(input), primaryLedger), observe)))
          const hedged = Effect.gen(function*() {
            if (delay === undefined) return yield* Fiber.join(primary)
            const early = yield* Effect.timeoutOption(Fiber.await(primary), Duration.millis(delay))
            if (Option.isSome(early)) return yield* early.value
            // The first attempt may have completed while the timer was firing.
            const done = yield* Fiber.poll(primary)
            if (Option.isSome(done)) return yield* done.value
            if (!takeHedge()) return yield* Fiber.join(primary)
            yield* Metric.increment(counters.attempts)
            const secondLedger = CostLedger.empty()
            let secondExit: Exit.Exit<unknown, unknown> | undefined
            const second = charging(alternative.run(input), state.extra, secondLedger).pipe(
              Effect.onExit((exit) => Effect.sync(() => (secondExit = exit)))
            )
            // `race` interrupts the loser and waits for its finalizers; when
            // both fail, its cause holds both failures.
            const [value, secondWon] = yield* Effect.race(
              Effect.map(Effect.onInterrupt(Fiber.join(primary), () => Fiber.interrupt(primary)), (a) =>
                [a, false] as const),
              Effect.map(second, (a) =>
                [a, true] as const)
            ).pipe(Effect.tapErrorCause((cause) =>
              // Both failed: both completed, and the second attempt's charges are the hedge's extra.
              Cause.isInterruptedOnly(cause) ? Effect.void : settle(secondLedger.costUsd, false)
            ))
            // The loser is over (interrupted and its finalizers run, or it had completed): what its
            // own ledger holds is what it was charged; interrupted in flight, its request's cost is unknown.
            const loserExit = secondWon ? Option.getOrUndefined(yield* Fiber.poll(primary)) : secondExit
            const aborted = loserExit === undefined || Exit.isInterrupted(loserExit)
            yield* settle((secondWon ? primaryLedger : secondLedger).costUsd, aborted)
            if (secondWon) {
              state.hedgeWins++
              yield* Metric.increment(counters.wins)
            }
            return value
          })
          return yield* restore(hedged).pipe(Effect.ensuring(Fiber.interrupt(primary)))
        })
      )

    return unsafeMake({
      name,
      kind: "hedge",
      children: alternative === self ? [self] : [self, alternative],
      annotations: self.annotations,
      fields: { [TypeId]: TypeId, ...StateField.of(state) },
      body
    })
  })
})

/** @internal */
export const isHedged = (u: unknown): u is Hedge.Hedged<unknown, unknown, unknown, unknown> =>
  Primitive.isPrimitive(u) && StateField.get(u) !== undefined

/** @internal */
// `any`: a value of any type parameters: only the fields they share are read
export const stats = (self: Hedge.Hedged<any, any, any, any>): Effect.Effect<Hedge.Stats> =>
  Effect.sync(() => snapshot(StateField.get(self)!))
