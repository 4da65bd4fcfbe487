/**
 * The whole path of one cached call: L1 synchronously, then single-flight
 * in process (identical calls join one computation), then the shared tiers
 * and the lease, then computing.
 *
 * The computation runs in a fiber of its own, so an interrupted caller does
 * not cancel it for the others; when the last caller leaves, it is
 * interrupted; when the layer's scope closes, the layer's finalizer
 * interrupts every computation still in flight (see `cache.ts`). Every
 * shared-tier operation of the computation draws on one budget (see
 * `cacheTier.ts`), so a frozen tier delays it, and every call that joined
 * it, by at most one tier timeout.
 *
 * A miss is on the user's path (half of the calls of a typical workload),
 * and a parked miss holds its memory for as long as the model takes, so the
 * flight is built from the cheapest parts Effect offers: one fiber started
 * from the caller's fiber in the caller's own step (no scope, no
 * `forkIn`: that makes a child scope, an `onExit` and a finalizer per call),
 * its exit observed by a plain callback, and callers parked on one
 * `Effect.async` each (no `Deferred`, no `onExit`). Measured against the
 * scoped fork (issue 16, 200 misses in flight, compiled): a quarter of the
 * CPU per miss when the computation needs no asynchronous step, half when
 * it does; a parked miss holds 4 KB beside the uncached call instead of 13.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type * as FiberId from "effect/FiberId"
import * as Runtime from "effect/Runtime"
import * as RuntimeFlags from "effect/RuntimeFlags"
import * as WorkflowContext from "../WorkflowContext.js"
import { withLease } from "./cacheLease.js"
import * as Stats from "./cacheStats.js"
import { CachedFailure, computeAndStore, type Flight, lookupRemotes, noBudget, type Store } from "./cacheStore.js"
import * as Tier from "./cacheTier.js"
import * as CostLedger from "./costLedger.js"

const resolve = <A, E, R>(s: Store, key: string, compute: Effect.Effect<A, E, R>, flight: Flight) => {
  // Memory only: no tier to read, no lease, no tier time to budget.
  if (!s.shared) return computeAndStore(s, noBudget, key, compute, flight)
  return Effect.suspend(() => {
    const budget = Tier.makeBudget(s.runtime, s.config.tierTimeoutMs)
    return Effect.flatMap(lookupRemotes(s, budget, key), (found): Effect.Effect<A, E, R> => {
      if (found !== undefined) {
        flight.cost = found.cost ?? s.config.costPerCall
        return Effect.succeed(found.value as A)
      }
      return s.config.lease && s.runtime.leaseTier >= 0
        ? withLease(s, budget, key, compute, flight)
        : computeAndStore(s, budget, key, compute, flight)
    })
  })
}

type Joiner = (exit: Exit.Exit<unknown, unknown>) => void

/** The computation ended: answer every caller still waiting. */
const settle = (s: Store, key: string, flight: Flight, exit: Exit.Exit<unknown, unknown>) => {
  flight.exit = exit
  if (s.state.inflight.get(key) === flight) s.state.inflight.delete(key)
  if (exit._tag === "Success") {
    // Each coalesced call still waiting saved what the computation cost.
    for (let i = 0; i < flight.coalesced; i++) Stats.saved(s.state, flight.cost)
  }
  const joiners = flight.joiners
  flight.joiners = []
  for (let i = 0; i < joiners.length; i++) joiners[i]!(exit)
}

/**
 * A caller was interrupted while waiting (or before it could start waiting):
 * the last one to leave interrupts the computation.
 */
const leave = (
  s: Store,
  key: string,
  flight: Flight,
  joiner: Joiner | undefined,
  coalesced: boolean,
  caller: FiberId.FiberId
) => {
  const at = joiner === undefined ? -1 : flight.joiners.indexOf(joiner)
  if (at >= 0) {
    flight.joiners.splice(at, 1)
    if (coalesced) flight.coalesced--
  }
  if (flight.joiners.length === 0) {
    // Nobody wants the result any more.
    if (s.state.inflight.get(key) === flight) s.state.inflight.delete(key)
    flight.fiber?.unsafeInterruptAsFork(caller)
  }
}

/**
 * Waits for the flight; the starter's own wait is not a coalesced call.
 *
 * The wait is an `Effect.async` without a canceler, under one
 * `uninterruptibleMask` and one `matchCauseEffect` that sees the caller's
 * interruption: a canceler would wrap it in `onInterrupt` (an `onExit`, an
 * `exitMatch`), which a parked caller holds for as long as it waits (about
 * 1 KB more per waiter, measured).
 */
const join = <A, E>(s: Store, key: string, flight: Flight, coalesced: boolean): Effect.Effect<A, E> => {
  let joiner: Joiner | undefined
  const wait = Effect.async<A, E>((resume) => {
    const done = flight.exit
    if (done !== undefined) {
      if (coalesced && done._tag === "Success") Stats.saved(s.state, flight.cost)
      return resume(done as Exit.Exit<A, E>)
    }
    joiner = resume as Joiner
    // Most flights have one caller: a one-slot array (a first `push` reserves 17).
    if (flight.joiners.length === 0) flight.joiners = [joiner]
    else flight.joiners.push(joiner)
    if (coalesced) flight.coalesced++
  })
  return Effect.uninterruptibleMask((restore) =>
    Effect.matchCauseEffect(restore(wait), {
      onFailure: (cause) =>
        // The computation still runs, so this failure is the caller's own interruption.
        flight.exit === undefined && Cause.isInterruptedOnly(cause)
          ? Effect.withFiberRuntime((caller) => {
            leave(s, key, flight, joiner, coalesced, caller.id())
            return Effect.failCause(cause)
          })
          : Effect.failCause(cause),
      onSuccess: Effect.succeed
    })
  )
}

/**
 * How many computations are running inside one another's start right now
 * (a cached primitive whose computation misses another cached primitive,
 * which misses another...). Each level is a run loop nested on the
 * JavaScript stack: past `maxNested` a computation starts through the
 * scheduler instead, so a deep recursion through cached primitives cannot
 * overflow the stack.
 */
let nested = 0
const maxNested = 32

/**
 * Starts the computation for `key` in a fiber of its own, from the caller's
 * fiber and in the caller's step (no `uninterruptibleMask` around starting
 * and joining: a caller interrupted before its wait begins is seen by
 * `join`, which interrupts a computation nobody waits for). The fiber inherits
 * the caller's fiber refs, like `Effect.fork`, is interruptible whatever the
 * caller's region, belongs to no scope (the layer's finalizer interrupts it)
 * and starts with a fresh cost ledger open, so model calls inside charge it
 * (no `CostLedger.measure` around the computation).
 *
 * It starts at once, inside this step (like `Effect.runFork`; below
 * `maxNested` levels): a computation that needs no asynchronous step (a
 * cached primitive over synchronous work, or a value found in L1 of an inner
 * cache) answers without any scheduler round trip; one that waits parks its
 * caller as usual.
 */
const start = <A, E, R>(
  s: Store,
  key: string,
  compute: () => Effect.Effect<A, E, R>,
  parent: Fiber.RuntimeFiber<unknown, unknown>,
  flags: RuntimeFlags.RuntimeFlags
): Effect.Effect<A, E> => {
  const flight: Flight = {
    joiners: [],
    coalesced: 0,
    fiber: undefined,
    exit: undefined,
    cost: 0,
    ledger: CostLedger.empty()
  }
  s.state.inflight.set(key, flight)
  const runtime = Runtime.make({
    context: parent.currentContext,
    // Interruptible whatever the caller's region; not winding down with a caller that ends.
    runtimeFlags: RuntimeFlags.disable(RuntimeFlags.enable(flags, RuntimeFlags.Interruption), RuntimeFlags.WindDown),
    fiberRefs: parent.getFiberRefs()
  })
  const immediate = nested < maxNested
  nested++
  let fiber: Fiber.RuntimeFiber<A, E>
  try {
    // `R`: the computation's requirements are the caller's, and the runtime carries the caller's context.
    fiber = Runtime.runFork(
      runtime as Runtime.Runtime<unknown>,
      resolve(s, key, compute(), flight) as Effect.Effect<A, E>,
      { immediate, updateRefs: CostLedger.opening(flight.ledger) }
    )
  } finally {
    nested--
  }
  flight.fiber = fiber as Fiber.RuntimeFiber<unknown, unknown>
  // Called at once when the fiber has already ended; not started yet when not `immediate`.
  fiber.addObserver((exit) => settle(s, key, flight, exit))
  // Ended within this step: the caller has its answer without parking or a
  // trip through the scheduler (the fiber ran up to its first asynchronous
  // step, or to its end, inside `runFork`).
  if (flight.exit !== undefined) return flight.exit as Exit.Exit<A, E>
  return join<A, E>(s, key, flight, false)
}

/** Joins the computation in flight for `key`, or starts it (after an L1 miss). @internal */
export const miss = <A, E, R>(s: Store, key: string, compute: () => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  const existing = s.state.inflight.get(key)
  if (existing !== undefined) {
    Stats.coalesced(s.state)
    return join<A, E>(s, key, existing, true)
  }
  return Effect.withFiberRuntime<A, E, R>((parent, status) => {
    // Looked up again: the fiber may have yielded between the lookup above and this step.
    const again = s.state.inflight.get(key)
    if (again !== undefined) {
      Stats.coalesced(s.state)
      return join<A, E>(s, key, again, true)
    }
    return start(s, key, compute, parent, status.runtimeFlags)
  })
}

/**
 * The L1 answer for `key`, or `undefined` on a miss (no Effect step, no
 * allocation but the answer). `checkpoint`: mark the hit on the run's timeline.
 *
 * @internal
 */
export const l1Hit = <A, E>(
  s: Store,
  key: string,
  now: number,
  checkpointHit: boolean
): Effect.Effect<A, E> | undefined => {
  const lru = s.state.lru
  if (lru === undefined) return undefined
  const slot = lru.lookup(key, now)
  if (slot < 0) {
    if (slot === -2) Stats.expired(s.state)
    return undefined
  }
  Stats.hit(s.state, 0, lru.computeMsAt(slot), lru.costAt(slot))
  const value = lru.valueAt(slot)
  const result: Effect.Effect<A, E> = value instanceof CachedFailure
    ? Effect.failCause(value.cause as Cause.Cause<E>)
    : Effect.succeed(value as A)
  // `checkpointHit` is only set inside a run: no need to look for its context again.
  return checkpointHit
    ? Effect.zipRight(
      WorkflowContext.checkpoint("cache.l1.hit", { cache: s.state.name, tier: s.runtime.names[0] }),
      result
    )
    : result
}

/**
 * L1 (no Effect step before the answer is known), then the miss path.
 * `checkpoint`: mark the L1 hit on the run's timeline.
 *
 * @internal
 */
export const getOrCompute = <A, E, R>(
  s: Store,
  key: string,
  compute: () => Effect.Effect<A, E, R>,
  now: number,
  checkpointHit: boolean
): Effect.Effect<A, E, R> => l1Hit<A, E>(s, key, now, checkpointHit) ?? miss(s, key, compute)
