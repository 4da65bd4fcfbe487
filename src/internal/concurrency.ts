import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Concurrency from "../Concurrency.js"
import * as Primitive from "../Primitive.js"
import * as gradient from "./concurrencyGradient.js"
import * as opts from "./options.js"

/** @internal */
// `any`: a `unique symbol` type can only be given to a `Symbol.for` result by a cast (as Effect does).
export const TypeId: unique symbol = Symbol.for("flowtune/Concurrency") as any

/** @internal */
export const metrics = {
  limit: Metric.gauge("flowtune_concurrency_limit", { description: "The adaptive concurrency limit" }),
  rejected: Metric.counter("flowtune_concurrency_rejected_total", {
    description: "Calls refused with Overloaded (limit reached, queue full)"
  }),
  cuts: Metric.counter("flowtune_concurrency_cuts_total", { description: "Cuts of the adaptive limit" })
}

const overloadTags = new Set(["RateLimited", "ModelTimeout", "PrimitiveTimeout", "Overloaded"])

/** @internal */
export const isOverload = (error: unknown): boolean =>
  typeof error === "object" && error !== null && "_tag" in error && overloadTags.has(error._tag as string)

interface Config {
  readonly name: string
  readonly min: number
  readonly max: number
  readonly queue: number
  readonly backoff: number
  readonly timeoutMs: number
  readonly tolerance: number
  /** Present with the gradient algorithm; AIMD otherwise. */
  readonly gradient: gradient.Config | undefined
  readonly isOverload: (error: unknown) => boolean
}

interface State {
  readonly config: Config
  /** Fractional: additive increase adds 1/limit per call, i.e. about one per round trip. */
  limit: number
  inFlight: number
  readonly waiters: Array<Deferred.Deferred<void>>
  calls: number
  overloads: number
  cuts: number
  rejected: number
  peakLimit: number
  /** When the limit was last cut: calls started before it do not cut it again. */
  lastCut: number
  /** The limit when it was last cut: where the backend said "too much". */
  ceiling: number
  /** Short- and long-run mean latencies (EWMA), for latency growth. */
  shortMs: number | undefined
  longMs: number | undefined
  /** The gradient algorithm's windows (unused by AIMD). */
  readonly windows: gradient.State
}

interface Handle extends Concurrency.Limiter {
  readonly state: State
  readonly limitGauge: Metric.Metric.Gauge<number>
  readonly rejectedCounter: Metric.Metric.Counter<number>
  readonly cutsCounter: Metric.Metric.Counter<number>
}

/** @internal */
export const make = (options: Concurrency.Options): Effect.Effect<Concurrency.Limiter> => {
  const owner = "Concurrency.make"
  if (typeof options !== "object" || options === null) opts.invalidShape(owner, "options with a `name` are required")
  const name = opts.nonEmptyString(owner, "name", options.name)
  const min = options.min === undefined ? 1 : opts.positiveInt(owner, "min", options.min)
  const max = options.max === undefined ? 1000 : opts.positiveInt(owner, "max", options.max)
  if (max < min) opts.invalid(owner, "max", `>= min (${min})`, max)
  const initial = options.initial === undefined ? Math.min(Math.max(4, min), max) : opts.number(
    owner,
    "initial",
    options.initial,
    { integer: true, min, max }
  )
  const algorithm = options.algorithm === undefined
    ? "aimd"
    : opts.oneOf(owner, "algorithm", options.algorithm, ["aimd", "gradient"])
  const config: Config = {
    name,
    min,
    max,
    queue: options.queue === undefined ? 1000 : opts.nonNegativeInt(owner, "queue", options.queue),
    backoff: opts.numberOr(owner, "backoff", options.backoff, 0.9, { min: 0, minExclusive: true, max: 0.99 }),
    timeoutMs: options.timeout === undefined
      ? Infinity
      : Duration.toMillis(opts.duration(owner, "timeout", options.timeout)),
    tolerance: opts.numberOr(owner, "latencyTolerance", options.latencyTolerance, 2, { min: 1, minExclusive: true }),
    gradient: gradient.config(owner, algorithm, options),
    isOverload: options.isOverload === undefined ? isOverload : opts.func(owner, "isOverload", options.isOverload)
  }
  // `any`: a metric of any kind: `M` carries the kind back to the caller
  const tag = <M extends Metric.Metric<any, any, any>>(metric: M): M =>
    // `tagged` keeps the metric's kind but its signature forgets it.
    Metric.tagged(metric, "limiter", name) as M
  // State is created by this effect, one per limiter. Plain fields rather than
  // Refs: every update is one synchronous step, and the queue holds Deferreds.
  return Effect.sync((): Concurrency.Limiter => {
    const handle: Handle = {
      [TypeId]: TypeId,
      name,
      state: {
        config,
        limit: initial,
        inFlight: 0,
        waiters: [],
        calls: 0,
        overloads: 0,
        cuts: 0,
        rejected: 0,
        peakLimit: initial,
        lastCut: -Infinity,
        ceiling: Infinity,
        shortMs: undefined,
        longMs: undefined,
        windows: gradient.make()
      },
      limitGauge: tag(metrics.limit),
      rejectedCounter: tag(metrics.rejected),
      cutsCounter: tag(metrics.cuts)
    }
    return handle
  })
}

const handleOf = (limiter: Concurrency.Limiter): Handle => limiter as Handle

/** Hands freed places to waiters, first come first served. */
const grant = (state: State) => {
  while (state.waiters.length > 0 && state.inFlight < Math.floor(state.limit)) {
    const next = state.waiters.shift()!
    state.inFlight++
    Deferred.unsafeDone(next, Exit.void)
  }
}

const acquire = (handle: Handle): Effect.Effect<void, Concurrency.Overloaded> =>
  Effect.suspend((): Effect.Effect<void, Concurrency.Overloaded> => {
    const state = handle.state
    if (state.waiters.length === 0 && state.inFlight < Math.floor(state.limit)) {
      state.inFlight++
      return Effect.void
    }
    if (state.waiters.length >= state.config.queue) {
      state.rejected++
      return Effect.zipRight(
        Metric.increment(handle.rejectedCounter),
        Effect.fail(
          new Concurrency.Overloaded({
            limiter: handle.name,
            limit: Math.floor(state.limit),
            waiting: state.waiters.length
          })
        )
      )
    }
    return Effect.flatMap(Deferred.make<void>(), (place) => {
      state.waiters.push(place)
      return Effect.onInterrupt(Deferred.await(place), () =>
        Effect.sync(() => {
          const i = state.waiters.indexOf(place)
          if (i >= 0) {
            state.waiters.splice(i, 1)
          } else {
            // The place was granted as the waiter was interrupted: pass it on.
            state.inFlight--
            grant(state)
          }
        }))
    })
  })

const cut = (handle: Handle, start: number, now: number): boolean => {
  const state = handle.state
  // One cut per round trip: the calls already in flight when the limit was
  // cut saw the old limit, and their overloads are the same overload.
  if (start < state.lastCut) return false
  state.ceiling = state.limit
  state.limit = Math.max(state.config.min, Math.floor(state.limit * state.config.backoff))
  state.lastCut = now
  state.cuts++
  return true
}

const release = (handle: Handle, start: number, exit: Exit.Exit<unknown, unknown>) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const state = handle.state
    const config = state.config
    const latency = now - start
    state.inFlight--
    state.calls++
    let overload = latency > config.timeoutMs
    if (Exit.isFailure(exit)) {
      const error = Cause.failureOption(exit.cause)
      if (Option.isSome(error) && config.isOverload(error.value)) overload = true
    }
    let cutNow = false
    if (overload) {
      state.overloads++
      cutNow = cut(handle, start, now)
    } else if (Exit.isSuccess(exit) && config.gradient !== undefined) {
      const next = Math.max(
        config.min,
        Math.min(
          config.max,
          gradient.onSuccess(config.gradient, state.windows, state.limit, state.inFlight + 1, latency, now)
        )
      )
      // A window whose latency lowered the limit counts as a cut.
      if (next < state.limit) {
        state.cuts++
        cutNow = true
      }
      state.limit = next
      state.peakLimit = Math.max(state.peakLimit, Math.floor(state.limit))
    } else if (Exit.isSuccess(exit)) {
      state.shortMs = state.shortMs === undefined ? latency : state.shortMs * 0.9 + latency * 0.1
      state.longMs = state.longMs === undefined ? latency : state.longMs * 0.99 + latency * 0.01
      if (state.calls > 20 && state.shortMs > state.longMs * config.tolerance) {
        cutNow = cut(handle, start, now)
      } else if ((state.inFlight + 1) * 2 >= state.limit) {
        // Grow only while the limit is being used (an idle limiter proves nothing),
        // by about one per round trip, and four times slower from just below
        // the limit of the last overload: that probe is what costs the 429s.
        const near = state.limit >= state.ceiling - 1
        state.limit = Math.min(config.max, state.limit + 1 / ((near ? 4 : 1) * Math.max(1, state.limit)))
        state.peakLimit = Math.max(state.peakLimit, Math.floor(state.limit))
      }
    }
    grant(state)
    const gauge = Metric.set(handle.limitGauge, Math.floor(state.limit))
    return cutNow ? Effect.zipRight(Metric.increment(handle.cutsCounter), gauge) : gauge
  })

/** @internal */
export const withLimiter = dual(2, <A, E, R>(
  self: Effect.Effect<A, E, R>,
  limiter: Concurrency.Limiter
): Effect.Effect<A, E | Concurrency.Overloaded, R> => {
  const handle = handleOf(limiter)
  return Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(
      restore(acquire(handle)),
      () =>
        Effect.flatMap(Clock.currentTimeMillis, (start) =>
          restore(self).pipe(Effect.onExit((exit) => release(handle, start, exit))))
    )
  )
})

/** @internal */
export const limit = dual(2, <In, Out, E, R>(
  self: Primitive.Primitive<In, Out, E, R>,
  limiter: Concurrency.Limiter
): Primitive.Primitive<In, Out, E | Concurrency.Overloaded, R> =>
  // Inside the primitive's own span: the wait for a place shows in its duration.
  Primitive.around(self, (_input, next) => withLimiter(next, limiter)))

/** @internal */
export const stats = (limiter: Concurrency.Limiter): Effect.Effect<Concurrency.Stats> =>
  Effect.sync(() => {
    const state = handleOf(limiter).state
    return {
      limit: Math.floor(state.limit),
      inFlight: state.inFlight,
      waiting: state.waiters.length,
      calls: state.calls,
      overloads: state.overloads,
      cuts: state.cuts,
      rejected: state.rejected,
      peakLimit: state.peakLimit
    }
  })
