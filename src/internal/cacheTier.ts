/**
 * Shared-tier operations with a bound on time and a circuit breaker.
 *
 * - One budget per call: every shared-tier operation of one cached call
 *   (reads, lease, writes) draws on the same allowance of tier time, so a
 *   frozen Redis costs a call at most one tier timeout, not one per
 *   operation (a miss makes about four in a row).
 * - Every operation is made interruptible and disconnected before its
 *   timeout, so the timeout abandons the foreign promise or query instead of
 *   waiting for it (a finalizer, an uninterruptible region or a driver's own
 *   cancellation would otherwise wait for a frozen socket).
 * - One breaker per tier: the first failure or full-length timeout opens it
 *   and logs one warning; while open the tier is skipped at no cost (and
 *   counted); a background probe retries on a schedule and closes it on its
 *   first success.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Cache from "../Cache.js"
import * as Stats from "./cacheStats.js"

/** @internal */
export interface Breaker {
  open: boolean
  openedAt: number
  /** Outages since the layer was built (each logged once). */
  outages: number
}

/** The state every cached primitive of one `CacheTiers` layer shares. @internal */
export interface Runtime {
  readonly scope: Scope.Scope
  readonly memory: Cache.MemoryTier | undefined
  readonly remotes: ReadonlyArray<Cache.RemoteTier>
  /** Tier names, memory first when present; index i of the counters' per-tier arrays. */
  readonly names: ReadonlyArray<string>
  /** The remote tier whose lease is used, or -1. */
  readonly leaseTier: number
  /** One per remote tier. */
  readonly breakers: ReadonlyArray<Breaker>
  /** When a remote tier's probe runs again after a failed probe (first, then doubling up to `probeMax`). */
  readonly probeFirst: Duration.Duration
  readonly probeMax: Duration.Duration
}

/** The shared-tier time one call may still spend, in milliseconds. @internal */
export interface Budget {
  remaining: number
  /** `tierTimeout` of the cached primitive: overrides each tier's own timeout. */
  readonly override: number | undefined
}

/** @internal */
export const makeBudget = (runtime: Runtime, override: number | undefined): Budget => {
  if (override !== undefined) return { remaining: override, override }
  let max = 0
  for (const tier of runtime.remotes) max = Math.max(max, Duration.toMillis(tier.timeout))
  return { remaining: max, override }
}

/** @internal */
export const tierIndex = (runtime: Runtime, remote: number) => remote + (runtime.memory ? 1 : 0)

const timeoutOf = (runtime: Runtime, budget: Budget, remote: number) =>
  budget.override ?? Duration.toMillis(runtime.remotes[remote]!.timeout)

class TierTimeout {
  readonly _tag = "TierTimeout"
  constructor(readonly millis: number) {}
  toString() {
    return `no answer within ${this.millis} ms`
  }
}

/**
 * A key no entry can have: an entry's key starts with its non-empty escaped
 * namespace, which never contains ":". (No NUL byte: PostgreSQL's TEXT
 * refuses it, and a probe that always fails would keep the circuit open.)
 *
 * @internal
 */
export const probeKey = ":flowtune:probe"

const describe = (error: unknown): string => {
  if (error instanceof TierTimeout) return error.toString()
  const cause = (error as { cause?: unknown })?.cause
  const text = cause instanceof Error ? cause.message : String(cause ?? error)
  return text.length > 200 ? `${text.slice(0, 197)}...` : text
}

/** Retries a cheap read on a schedule until it succeeds, then closes the breaker. */
const probe = (runtime: Runtime, remote: number): Effect.Effect<void> => {
  const tier = runtime.remotes[remote]!
  const breaker = runtime.breakers[remote]!
  const once = Effect.flatMap(Clock.currentTimeMillis, (now) => tier.get(probeKey, now)).pipe(
    Effect.interruptible,
    Effect.disconnect,
    Effect.timeoutFail({ duration: tier.timeout, onTimeout: () => new TierTimeout(Duration.toMillis(tier.timeout)) })
  )
  const schedule = Schedule.union(Schedule.exponential(runtime.probeFirst), Schedule.spaced(runtime.probeMax))
  return Effect.sleep(runtime.probeFirst).pipe(
    // The schedule never ends, so the retry only returns on a success.
    Effect.zipRight(Effect.orDie(Effect.retry(once, schedule))),
    Effect.zipRight(Clock.currentTimeMillis),
    Effect.flatMap((now) => {
      breaker.open = false
      return Effect.logInfo(`flowtune cache: tier ${tier.name} is back after ${now - breaker.openedAt} ms`)
    })
  )
}

/** Opens the breaker (once per outage: one warning, one probe fiber). @internal */
export const trip = (runtime: Runtime, remote: number, error: unknown): Effect.Effect<void> =>
  Effect.suspend(() => {
    const breaker = runtime.breakers[remote]!
    if (breaker.open) return Effect.void
    breaker.open = true
    breaker.outages++
    const tier = runtime.remotes[remote]!
    return Effect.flatMap(Clock.currentTimeMillis, (now) => {
      breaker.openedAt = now
      return Effect.zipRight(
        Effect.logWarning(
          `flowtune cache: tier ${tier.name} unavailable (${describe(error)}); skipped until a probe succeeds`
        ),
        Effect.asVoid(Effect.forkIn(probe(runtime, remote), runtime.scope))
      )
    })
  })

/** @internal */
export interface Guard {
  /** Do not charge the call's budget when the operation succeeds (lease polls: waiting, not tier trouble). */
  readonly free?: boolean | undefined
}

/**
 * Runs one operation of remote tier `remote` within what is left of the
 * call's budget. A failure or a timeout is counted and becomes `onError`;
 * an open breaker or a spent budget skips the operation (counted).
 *
 * @internal
 */
export const guarded = <A>(
  runtime: Runtime,
  counted: Stats.Counted,
  budget: Budget,
  remote: number,
  operation: string,
  effect: Effect.Effect<A, Cache.CacheTierError>,
  onError: A,
  options?: Guard
): Effect.Effect<A> => {
  const tier = tierIndex(runtime, remote)
  if (runtime.breakers[remote]!.open || budget.remaining <= 0) {
    Stats.tierSkipped(counted, tier)
    return Effect.succeed(onError)
  }
  const full = timeoutOf(runtime, budget, remote)
  const timeout = Math.min(full, budget.remaining)
  return Effect.flatMap(Clock.currentTimeMillis, (start) =>
    effect.pipe(
      Effect.interruptible,
      // Do not wait for the interruption either: a driver may clean up slowly
      // (the PostgreSQL client cancels a query through its pool, up to 5 s).
      Effect.disconnect,
      Effect.timeoutFail({ duration: Duration.millis(timeout), onTimeout: () => new TierTimeout(timeout) }),
      Effect.matchCauseEffect({
        onSuccess: (a) =>
          options?.free
            ? Effect.succeed(a)
            : Effect.map(Clock.currentTimeMillis, (now) => {
              budget.remaining -= now - start
              return a
            }),
        onFailure: (cause) =>
          // Interrupted from outside (the caller left, the layer closes): not the tier's fault.
          Cause.isInterruptedOnly(cause) ?
            Effect.failCause(cause as Cause.Cause<never>) :
            Effect.flatMap(Clock.currentTimeMillis, (now) => {
              budget.remaining -= now - start
              Stats.tierError(counted, tier)
              const error = cause._tag === "Fail" ? cause.error : cause
              // A timeout cut short by the call's budget says nothing about the
              // tier: only an error or a full-length timeout opens the breaker.
              const broken = !(error instanceof TierTimeout) || timeout >= full
              return Effect.zipRight(
                Effect.logDebug(`flowtune cache: tier ${runtime.remotes[remote]!.name} ${operation} failed`, cause),
                broken ? Effect.as(trip(runtime, remote, error), onError) : Effect.succeed(onError)
              )
            })
      })
    ))
}
