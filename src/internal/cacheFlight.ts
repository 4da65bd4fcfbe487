/**
 * The whole path of one cached call: L1 synchronously, then single-flight
 * in process (identical calls join one computation), then the shared tiers
 * and the lease, then computing.
 *
 * The computation runs in its own fiber in the layer's scope, so an
 * interrupted caller does not cancel it for the others; when the last caller
 * leaves, it is interrupted. Every shared-tier operation of the computation
 * draws on one budget (see `cacheTier.ts`), so a frozen tier delays it, and
 * every call that joined it, by at most one tier timeout.
 *
 * @internal
 */
import type * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { withLease } from "./cacheLease.js"
import * as Stats from "./cacheStats.js"
import { CachedFailure, checkpoint, computeAndStore, type Flight, lookupRemotes, type Store } from "./cacheStore.js"
import * as Tier from "./cacheTier.js"

const resolve = <A, E, R>(s: Store, key: string, compute: Effect.Effect<A, E, R>, flight: Flight) =>
  Effect.suspend(() => {
    const budget = Tier.makeBudget(s.runtime, s.config.tierTimeoutMs)
    return Effect.flatMap(lookupRemotes(s, budget, key), (found): Effect.Effect<A, E, R> => {
      if (found !== undefined) {
        flight.cost = found.cost ?? s.config.costPerCall
        return Effect.succeed(found.value as A)
      }
      return s.config.lease && s.runtime.leaseTier >= 0 && s.shared
        ? withLease(s, budget, key, compute, flight)
        : computeAndStore(s, budget, key, compute, flight)
    })
  })

/** Waits for the flight; the starter's own wait is not a coalesced call. */
const join = <A, E>(s: Store, key: string, flight: Flight, coalesced: boolean): Effect.Effect<A, E> =>
  Effect.suspend(() => {
    flight.waiters++
    return Effect.onExit(Deferred.await(flight.deferred), (exit) =>
      Effect.suspend(() => {
        flight.waiters--
        if (coalesced && Exit.isSuccess(exit)) Stats.saved(s.state, flight.cost)
        if (flight.waiters === 0 && Exit.isInterrupted(exit) && flight.fiber !== undefined) {
          // The last caller left: nobody wants the result any more.
          if (s.state.inflight.get(key) === flight) s.state.inflight.delete(key)
          return Fiber.interruptFork(flight.fiber)
        }
        return Effect.void
      }))
  })

/** Joins the computation in flight for `key`, or starts it in the layer's scope (after an L1 miss). @internal */
export const miss = <A, E, R>(s: Store, key: string, compute: () => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  const existing = s.state.inflight.get(key)
  if (existing !== undefined) {
    Stats.coalesced(s.state)
    return join<A, E>(s, key, existing, true)
  }
  return Effect.uninterruptibleMask((restore) =>
    Effect.withFiberRuntime<A, E, R>((parent) => {
      const deferred = Deferred.unsafeMake<A, E>(parent.id())
      const flight: Flight = { deferred, waiters: 0, fiber: undefined, cost: 0 }
      s.state.inflight.set(key, flight)
      const work = resolve(s, key, compute(), flight).pipe(
        Effect.onExit((exit) =>
          Effect.suspend(() => {
            if (s.state.inflight.get(key) === flight) s.state.inflight.delete(key)
            return Deferred.done(deferred, exit)
          })
        )
      )
      return Effect.flatMap(Effect.forkIn(Effect.interruptible(work), s.runtime.scope), (fiber) => {
        flight.fiber = fiber as Fiber.RuntimeFiber<unknown, unknown>
        return restore(join<A, E>(s, key, flight, false))
      })
    })
  )
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
  return checkpointHit ? Effect.zipRight(checkpoint("cache.l1.hit", s, s.runtime.names[0]), result) : result
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
