/**
 * Computing a missing key under the cross-process lease (Redis `SET NX PX`):
 * one process computes, the others wait for its result.
 *
 * - The holder reads the lease tier again after acquiring (double-checked):
 *   another process may have written the value and released between this
 *   one's first read and its acquire.
 * - The holder renews at a third of the lease time and checks the answer: a
 *   lease found gone or taken is counted (`leasesLost`); the computation
 *   goes on (its result is still right, only possibly duplicated).
 * - The lease is released in the background with its own timeout, never
 *   awaited by the caller: a frozen Redis cannot hold a finished call.
 * - A waiter waits at most its own lease time for a lease that shows no
 *   sign of life (no expiry, or an expiry longer than that time: written by
 *   hand or by an older version). It then takes the lease over (counted as
 *   `leaseTakeovers`) and computes.
 * - A tier that fails while acquiring or waiting (or a call whose tier time
 *   is used up) computes without the lease.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import type * as Payload from "./cachePayload.js"
import * as Stats from "./cacheStats.js"
import { computeAndStore, type Flight, guarded, remoteGet, remoteHit, remoteKey, type Store } from "./cacheStore.js"
import * as Tier from "./cacheTier.js"

type Acquired = "acquired" | "busy" | "unavailable"

const token: Effect.Effect<string> = Effect.zipWith(
  Random.next,
  Random.next,
  (a, b) => `${a.toString(36).slice(2)}${b.toString(36).slice(2)}`
)

/** Holds the lease while computing, or waits for the holder's result. @internal */
export const withLease = <A, E, R>(
  s: Store,
  budget: Tier.Budget,
  key: string,
  compute: Effect.Effect<A, E, R>,
  flight: Flight
): Effect.Effect<A, E, R> => {
  const remote = s.runtime.leaseTier
  const lease = s.runtime.remotes[remote]!.lease!
  const ttlMs = Duration.toMillis(lease.ttl)
  const leaseKey = remoteKey(s, key) // the key as the shared tiers see it: bounded
  const pollMs = Duration.toMillis(lease.poll)

  // Background lease work gets a budget of its own: it never delays a caller.
  const ownBudget = () => Tier.makeBudget(s.runtime, budget.override)

  const release = (held: string) =>
    Effect.forkIn(
      guarded(s, ownBudget(), remote, "lease release", lease.release(leaseKey, held), undefined),
      s.runtime.scope
    )

  const heartbeat = (held: string): Effect.Effect<void> => {
    const renew = Effect.suspend(() =>
      guarded(
        s,
        ownBudget(),
        remote,
        "lease renew",
        lease.renew(leaseKey, held, ttlMs),
        undefined as boolean | undefined
      )
    )
    const loop: Effect.Effect<void> = Effect.zipRight(
      Effect.sleep(Duration.millis(Math.max(1, Math.floor(ttlMs / 3)))),
      Effect.flatMap(renew, (renewed) =>
        renewed === false
          ? Effect.zipRight(
            Effect.sync(() => Stats.leaseLost(s.state)),
            Effect.logDebug(`flowtune cache: lease on ${leaseKey} lost while computing; computing on`)
          )
          : loop)
    )
    return loop
  }

  const asHolder = (held: string) =>
    Effect.flatMap(
      Effect.forkIn(heartbeat(held), s.runtime.scope),
      (beat) =>
        computeAndStore(s, budget, key, compute, flight).pipe(
          // Forks only: the finalizer never waits for Redis.
          Effect.onExit(() => Effect.zipRight(Fiber.interruptFork(beat), Effect.asVoid(release(held))))
        )
    )

  const found = (value: Payload.Found, now: number, mark: string): Effect.Effect<A> =>
    Effect.as(remoteHit(s, budget, key, value, now, remote, mark), value.value as A)

  // The previous holder writes its result before releasing, so a lease just
  // acquired may follow a result just written: look once more.
  const holdOrRead = (held: string) =>
    Effect.flatMap(
      Clock.currentTimeMillis,
      (now) =>
        Effect.flatMap(remoteGet(s, budget, remote, key, now, { again: true }), (value) =>
          value === undefined
            ? asHolder(held)
            : Effect.zipRight(release(held), found(value, now, "cache.lease.wait")))
    )

  const acquire = (held: string, free: boolean): Effect.Effect<Acquired> =>
    guarded(
      s,
      budget,
      remote,
      "lease",
      Effect.map(lease.acquire(leaseKey, held, ttlMs), (ok): Acquired => ok ? "acquired" : "busy"),
      "unavailable",
      { free }
    )

  const withoutLease = computeAndStore(s, budget, key, compute, flight)

  const takeOver = (held: string, now: number): Effect.Effect<A, E, R> => {
    if (lease.takeOver === undefined) {
      Stats.leaseTakeover(s.state)
      return withoutLease
    }
    return Effect.flatMap(
      guarded(s, budget, remote, "lease", lease.takeOver(leaseKey, held, ttlMs), undefined as boolean | undefined),
      (taken) => {
        if (taken === undefined) return withoutLease
        // The lease has a live expiry: its holder is renewing it; wait on.
        if (!taken) return wait(held, now)
        Stats.leaseTakeover(s.state)
        return Effect.zipRight(
          Effect.logWarning(`flowtune cache: lease on ${leaseKey} had no live holder for ${ttlMs} ms; taken over`),
          holdOrRead(held)
        )
      }
    )
  }

  const wait = (held: string, since: number): Effect.Effect<A, E, R> =>
    Effect.zipRight(
      Effect.sleep(Duration.millis(pollMs)),
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.flatMap(remoteGet(s, budget, remote, key, now, { free: true, again: true }), (value) => {
          if (value !== undefined) {
            return found(value, now, "cache.lease.wait")
          }
          if (now - since >= ttlMs) {
            return takeOver(held, now)
          }
          return Effect.flatMap(acquire(held, true), (acquired) =>
            acquired === "acquired"
              ? holdOrRead(held)
              : acquired === "busy"
              ? wait(held, since)
              : withoutLease)
        }))
    )

  return Effect.flatMap(token, (held) =>
    Effect.flatMap(acquire(held, false), (acquired) =>
      acquired === "acquired"
        ? holdOrRead(held)
        : acquired === "busy"
        ? Effect.flatMap(Clock.currentTimeMillis, (now) => wait(held, now))
        : withoutLease))
}
