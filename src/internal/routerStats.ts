/**
 * A router's accounting: per-route counters updated once per call, kept in
 * the `RouterStats` registry of the running fiber (a layer's, or the
 * process-wide default), and the `Stats` snapshot. A router holds no state of
 * its own: `Router.make` stays a plain definition (issue 15).
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Router from "../Router.js"

// ---------------------------------------------------------------------------
// accounting state

interface RouteCounters {
  selected: number
  calls: number
  successes: number
  failures: number
  interrupted: number
  fallbacks: number
  latencyNanos: number
  cost: number
}

/** @internal */
export interface State {
  calls: number
  successes: number
  failures: number
  interrupted: number
  notFound: number
  fallbacks: number
  latencyNanos: number
  cost: number
  routes: ReadonlyArray<RouteCounters>
}

const zeroRoute = (): RouteCounters => ({
  selected: 0,
  calls: 0,
  successes: 0,
  failures: 0,
  interrupted: 0,
  fallbacks: 0,
  latencyNanos: 0,
  cost: 0
})

/** @internal */
export const emptyState = (routes: number): State => ({
  calls: 0,
  successes: 0,
  failures: 0,
  interrupted: 0,
  notFound: 0,
  fallbacks: 0,
  latencyNanos: 0,
  cost: 0,
  routes: Array.from({ length: routes }, zeroRoute)
})

/** One run of one route within a call. */
/** @internal */
export interface Attempt {
  readonly index: number
  readonly nanos: number
  /** 0 success, 1 failure, 2 interrupted. */
  readonly outcome: 0 | 1 | 2
  readonly cost: number
  readonly fellBack: boolean
}

/** What one call of the router did, filled in as it runs. */
/** @internal */
export interface Call<Current = unknown> {
  selected: number
  notFound: boolean
  readonly attempts: Array<Attempt>
  /** The route running now, and since when (Clock nanos). */
  current: Current | undefined
  currentStart: bigint
}

/** @internal */
export const outcomeOf = (exit: Exit.Exit<unknown, unknown>): 0 | 1 | 2 =>
  Exit.isSuccess(exit) ? 0 : Cause.isInterruptedOnly(exit.cause) ? 2 : 1

/** @internal */
export const applyCall = (state: State, call: Call, outcome: 0 | 1 | 2, nanos: number): void => {
  // In place: one call's accounting allocates nothing (readers get a snapshot).
  const routes = state.routes
  if (call.selected >= 0) routes[call.selected]!.selected++
  for (const a of call.attempts) {
    const r = routes[a.index]!
    r.calls++
    if (a.outcome === 0) r.successes++
    else if (a.outcome === 1) r.failures++
    else r.interrupted++
    if (a.fellBack) {
      r.fallbacks++
      state.fallbacks++
    }
    r.latencyNanos += a.nanos
    r.cost += a.cost
    state.cost += a.cost
  }
  state.calls++
  if (outcome === 0) state.successes++
  else if (outcome === 1) state.failures++
  else state.interrupted++
  if (call.notFound) state.notFound++
  state.latencyNanos += nanos
}

const mean = (total: number, n: number) => (n === 0 ? 0 : total / n)
const nanosToDuration = (nanos: number) => Duration.millis(nanos / 1e6)

const snapshot = (name: string, keys: ReadonlyArray<string>, state: State): Router.Stats => {
  const routes: Record<string, Router.RouteStats> = {}
  const mix: Record<string, number> = {}
  keys.forEach((route, i) => {
    const r = state.routes[i]!
    const share = mean(r.selected, state.calls)
    mix[route] = share
    routes[route] = {
      route,
      selected: r.selected,
      share,
      calls: r.calls,
      successes: r.successes,
      failures: r.failures,
      interrupted: r.interrupted,
      fallbacks: r.fallbacks,
      totalLatency: nanosToDuration(r.latencyNanos),
      meanLatency: nanosToDuration(mean(r.latencyNanos, r.calls)),
      totalCost: r.cost,
      meanCost: mean(r.cost, r.calls)
    }
  })
  return {
    router: name,
    calls: state.calls,
    successes: state.successes,
    failures: state.failures,
    interrupted: state.interrupted,
    notFound: state.notFound,
    fallbacks: state.fallbacks,
    totalLatency: nanosToDuration(state.latencyNanos),
    meanLatency: nanosToDuration(mean(state.latencyNanos, state.calls)),
    totalCost: state.cost,
    meanCost: mean(state.cost, state.calls),
    mix,
    routes
  }
}

// ---------------------------------------------------------------------------
// the registry

/** One router's figures in one registry. @internal */
export interface Cell {
  state: State
}

/**
 * The figures of every router that ran under one registry, by router: a
 * router no longer referenced drops its figures with it.
 *
 * @internal
 */
export interface Registry {
  readonly routers: WeakMap<Router.Router.Any, Cell>
}

/** @internal */
export const makeRegistry = (): Registry => ({ routers: new WeakMap() })

// The tag lives in the public module, which imports this one: it is read
// inside functions only, never while the modules are being evaluated.
const registryTag = (): typeof Router.RouterStats => Router.RouterStats

// The process-wide default (`RouterStats`'s `defaultValue`, which Effect keeps once made), looked up once.
let processWide: Registry | undefined

/**
 * The registry in `context`: the one a layer provided, else the process-wide
 * default. Read on every router call: one map lookup (what `Context.get` does
 * for a `Context.Reference`, without its argument dispatch).
 *
 * @internal
 */
export const registryOf = (context: Context.Context<never>): Registry =>
  context.unsafeMap.get(registryTag().key) ?? (processWide ??= Context.get(Context.empty(), registryTag()))

/** Adds one finished call to `router`'s figures in `registry` (a synchronous step of the calling fiber). @internal */
export const record = (
  registry: Registry,
  router: Router.Router.Any,
  routes: number,
  call: Call,
  outcome: 0 | 1 | 2,
  nanos: number
): void => {
  const cell = registry.routers.get(router)
  if (cell === undefined) {
    const state = emptyState(routes)
    applyCall(state, call, outcome, nanos)
    registry.routers.set(router, { state })
  } else applyCall(cell.state, call, outcome, nanos)
}

const keysOf = (self: Router.Router.Any): ReadonlyArray<string> => {
  // Only `Router.make` builds routers; anything else here is a bug.
  if (!Router.isRouter(self)) throw new TypeError(`${String(self)} is not a Router`)
  return Object.keys(self.routes)
}

/** @internal */
export const stats = (self: Router.Router.Any): Effect.Effect<Router.Stats> =>
  Effect.withFiberRuntime((fiber) => {
    const keys = keysOf(self)
    const cell = registryOf(fiber.currentContext).routers.get(self)
    return Effect.succeed(snapshot(self.name, keys, cell?.state ?? emptyState(keys.length)))
  })

/** @internal */
export const resetStats = (self: Router.Router.Any): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => {
    keysOf(self)
    registryOf(fiber.currentContext).routers.delete(self)
    return Effect.void
  })
