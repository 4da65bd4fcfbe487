/**
 * One cached primitive (or keyed store) over the tiers of one layer: its
 * configuration, its state (L1, computations in flight, counters), reading
 * and writing the tiers, and computing a missing entry.
 *
 * Every function takes one `Store` record (runtime + configuration + state)
 * instead of threading them one by one.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as WorkflowContext from "../WorkflowContext.js"
import { bound } from "./cacheKey.js"
import * as Lru from "./cacheLru.js"
import * as Payload from "./cachePayload.js"
import * as Stats from "./cacheStats.js"
import * as Tier from "./cacheTier.js"
import type * as CostLedger from "./costLedger.js"
import * as Options from "./options.js"

/** The configuration of one cached primitive or store, checked when it is given. @internal */
export interface Config {
  readonly name: string
  readonly namespace: string
  readonly version: string
  readonly prefix: string
  readonly ttlMs: number
  readonly capacity: number | undefined
  readonly cacheFailures: boolean
  readonly tierTimeoutMs: number | undefined
  readonly lease: boolean
  readonly costPerCall: number
  readonly codec: Payload.Codec | undefined
  /** Keep entries in L1 only, even when shared tiers are configured. */
  readonly memoryOnly: boolean
}

/** An in-process computation that identical calls join. @internal */
export interface Flight {
  /** The callers waiting for it (each one's `Effect.async` resume). */
  joiners: Array<(exit: Exit.Exit<unknown, unknown>) => void>
  /** How many of `joiners` are coalesced calls (each saves what the computation cost). */
  coalesced: number
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
  /** How it ended, once it has (a caller that comes after reads it). */
  exit: Exit.Exit<unknown, unknown> | undefined
  /** What the computation cost, once it has succeeded (what each joined call saved). */
  cost: number
  /** Open in the computation's fiber from its start: model calls inside charge it. */
  readonly ledger: CostLedger.Ledger
}

/** Per namespace+version: the L1, the computations in flight, the counters. @internal */
export interface StoreState extends Stats.Counted {
  readonly name: string
  readonly prefix: string
  readonly lru: Lru.Lru | undefined
  readonly inflight: Map<string, Flight>
}

/** @internal */
export interface Store {
  readonly runtime: Runtime
  readonly config: Config
  readonly state: StoreState
  /** Shared tiers are configured and the configuration can encode entries. */
  readonly shared: boolean
  /** Shared tiers are configured, and neither a schema nor `memoryOnly` says what to do with them. */
  readonly missingSchema: boolean
}

/** @internal */
export interface Runtime extends Tier.Runtime {
  readonly stores: Map<string, StoreState>
}

const escapeSegment = (s: string) => s.replace(/%/g, "%25").replace(/:/g, "%3A")

/** @internal */
export const storeId = (namespace: string, version: string) => `${escapeSegment(namespace)}:${escapeSegment(version)}:`

/**
 * The key of an entry in the shared tiers: the store's prefix and the key,
 * hashed when longer than `maxKeyLength` (L1 keeps the full text, so a hit
 * never hashes; the hash is paid on shared-tier operations only).
 *
 * @internal
 */
export const remoteKey = (s: Store, key: string): string => s.config.prefix + bound(key)

/** @internal */
export const namespacePrefix = (namespace: string) => `${escapeSegment(namespace)}:`

/** @internal */
export const storeOf = (runtime: Runtime, config: Config): Store => {
  let state = runtime.stores.get(config.prefix)
  if (state === undefined) {
    state = {
      ...Stats.makeCounted(config.name, runtime.names),
      name: config.name,
      prefix: config.prefix,
      lru: runtime.memory === undefined ? undefined : Lru.make(config.capacity ?? runtime.memory.capacity),
      inflight: new Map()
    }
    runtime.stores.set(config.prefix, state)
  }
  const remotes = runtime.remotes.length > 0 && !config.memoryOnly
  return {
    runtime,
    config,
    state,
    shared: remotes && config.codec !== undefined,
    missingSchema: remotes && config.codec === undefined
  }
}

/** @internal */
export interface ConfigInput {
  readonly name: string
  readonly namespace: unknown
  readonly version?: unknown
  // `any`: the store encodes with the schema its cached primitive gives; the store itself is untyped
  readonly schema?: Schema.Schema<any, any, never> | undefined
  readonly ttl?: unknown
  readonly capacity?: unknown
  readonly cacheFailures?: unknown
  readonly tierTimeout?: unknown
  readonly lease?: unknown
  readonly costPerCall?: unknown
  readonly memoryOnly?: unknown
}

/** Checks every option where it is given (a bad option is a bug in the program). @internal */
export const makeConfig = (owner: string, options: ConfigInput): Config => {
  const namespace = Options.nonEmptyString(owner, "namespace", options.namespace)
  const rawVersion = options.version === undefined ? "1" : options.version
  if (typeof rawVersion !== "string" && typeof rawVersion !== "number") {
    Options.invalid(owner, "version", "a string or a number", rawVersion)
  }
  const version = String(rawVersion)
  if (options.schema !== undefined && !Schema.isSchema(options.schema)) {
    Options.invalid(owner, "schema", "a Schema", options.schema)
  }
  const ttl = Options.durationOr(owner, "ttl", options.ttl, "1 hour", { infinite: true })
  return {
    name: options.name,
    namespace,
    version,
    prefix: storeId(namespace, version),
    ttlMs: toMillis(ttl),
    capacity: options.capacity === undefined ? undefined : Options.positiveInt(owner, "capacity", options.capacity),
    cacheFailures: Options.booleanOr(owner, "cacheFailures", options.cacheFailures, false),
    tierTimeoutMs: options.tierTimeout === undefined
      ? undefined
      : toMillis(Options.duration(owner, "tierTimeout", options.tierTimeout)),
    lease: Options.booleanOr(owner, "lease", options.lease, true),
    costPerCall: Options.numberOr(owner, "costPerCall", options.costPerCall, 0, { min: 0 }),
    memoryOnly: Options.booleanOr(owner, "memoryOnly", options.memoryOnly, false),
    codec: options.schema === undefined ? undefined : {
      encode: Schema.encodeEither(options.schema),
      decode: Schema.decodeUnknownEither(options.schema)
    }
  }
}

// Infinity for `Duration.infinity` (entries that never expire).
const toMillis = (d: Duration.Duration): number => Duration.toMillis(d)

/** A failure kept in L1 when `cacheFailures` is on. @internal */
export class CachedFailure {
  constructor(readonly cause: Cause.Cause<unknown>) {}
}

const guarded = <A>(
  s: Store,
  budget: Tier.Budget,
  remote: number,
  operation: string,
  // `any`: any tier operation's error: every one is caught here and turned into `onError`
  effect: Effect.Effect<A, any>,
  onError: A,
  options?: Tier.Guard
) => Tier.guarded(s.runtime, s.state, budget, remote, operation, effect, onError, options)

/** @internal */
export { guarded }

/** @internal */
export const remoteGet = (
  s: Store,
  budget: Tier.Budget,
  remote: number,
  key: string,
  now: number,
  options?: Tier.Guard & {
    /** A second look at an entry already read (lease checks): an expired or corrupt one was counted then. */
    readonly again?: boolean | undefined
  }
): Effect.Effect<Payload.Found | undefined> =>
  Effect.flatMap(
    guarded(
      s,
      budget,
      remote,
      "get",
      s.runtime.remotes[remote]!.get(remoteKey(s, key), now),
      Option.none(),
      options
    ),
    (payload) => {
      if (Option.isNone(payload)) return Effect.succeed(undefined)
      const decoded = Payload.decode(s.config.codec!, payload.value, now)
      if (typeof decoded === "string" && options?.again) return Effect.succeed(undefined)
      if (decoded === "expired") {
        Stats.expired(s.state)
        return Effect.succeed(undefined)
      }
      if (decoded === "corrupt") {
        Stats.corrupt(s.state, Tier.tierIndex(s.runtime, remote))
        return Effect.as(
          Effect.logWarning(
            `flowtune cache: undecodable entry in tier ${s.runtime.remotes[remote]!.name} for ${
              remoteKey(s, key)
            }; treated as a miss`
          ),
          undefined
        )
      }
      return Effect.succeed(decoded)
    }
  )

/** Writes a value to L1 and to shared tiers `[0, upTo)`. @internal */
export const writeTiers = (
  s: Store,
  budget: Tier.Budget,
  key: string,
  value: unknown,
  expiresAt: number,
  computeMs: number,
  cost: number,
  now: number,
  upTo: number,
  payload?: string
): Effect.Effect<void> => {
  if (s.state.lru !== undefined) Stats.evicted(s.state, s.state.lru.set(key, value, expiresAt, computeMs, cost))
  if (upTo === 0 || !s.shared) return Effect.void
  const encoded = payload ?? Payload.encode(s.config.codec!, value, expiresAt, computeMs, cost)
  if (encoded === undefined) {
    return Effect.logWarning(
      `flowtune cache: the value for ${remoteKey(s, key)} does not match its schema; not shared`
    )
  }
  return Effect.forEach(
    Array.from({ length: upTo }, (_, i) => i),
    (i) =>
      guarded(
        s,
        budget,
        i,
        "set",
        s.runtime.remotes[i]!.set(remoteKey(s, key), encoded, expiresAt, now),
        undefined
      ),
    { concurrency: "unbounded", discard: true }
  )
}

/** Marks the run's timeline, inside a run only (the context read off the fiber: no service lookup). @internal */
export const checkpoint = (name: string, s: Store, tier?: string): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) =>
    WorkflowContext.unsafeCurrent(fiber) === undefined
      ? Effect.void
      : WorkflowContext.checkpoint(name, tier ? { cache: s.state.name, tier } : { cache: s.state.name })
  )

/** The budget of a store with no shared tier: nothing draws on it. @internal */
export const noBudget: Tier.Budget = Object.freeze({ remaining: 0, override: undefined })

/** The cost a hit on this entry saves: what computing it cost, else the `costPerCall` annotation. */
const costOf = (s: Store, found: Payload.Found) => found.cost ?? s.config.costPerCall

/** A value found in remote tier `remote`: count the hit, backfill the tiers above it, mark the timeline. @internal */
export const remoteHit = (
  s: Store,
  budget: Tier.Budget,
  key: string,
  found: Payload.Found,
  now: number,
  remote: number,
  mark: string
): Effect.Effect<void> => {
  const tier = Tier.tierIndex(s.runtime, remote)
  Stats.hit(s.state, tier, found.computeMs, costOf(s, found))
  return Effect.zipRight(
    writeTiers(
      s,
      budget,
      key,
      found.value,
      found.expiresAt,
      found.computeMs,
      costOf(s, found),
      now,
      remote,
      found.payload
    ),
    checkpoint(mark, s, s.runtime.names[tier])
  )
}

/** L2..Ln in order; a hit backfills the tiers above it with the entry's own expiry. @internal */
export const lookupRemotes = (s: Store, budget: Tier.Budget, key: string): Effect.Effect<Payload.Found | undefined> => {
  if (!s.shared) return Effect.succeed(undefined)
  return Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const loop = (i: number): Effect.Effect<Payload.Found | undefined> => {
      if (i >= s.runtime.remotes.length) return Effect.succeed(undefined)
      return Effect.flatMap(remoteGet(s, budget, i, key, now), (found) => {
        if (found === undefined) return loop(i + 1)
        const mark = `cache.l${Tier.tierIndex(s.runtime, i) + 1}.hit`
        return Effect.as(remoteHit(s, budget, key, found, now, i, mark), found)
      })
    }
    return loop(0)
  })
}

/** The computation is over: count the miss, read the time. */
const ended = (s: Store, clock: Clock.Clock): number => {
  Stats.miss(s.state)
  return clock.unsafeCurrentTimeMillis()
}

/** `then`, after the miss's mark on the run's timeline when the computation belongs to a run. */
const marked = <X, Y>(s: Store, fiber: Fiber.RuntimeFiber<unknown, unknown>, then: Effect.Effect<X, Y>) =>
  WorkflowContext.unsafeCurrent(fiber) === undefined
    ? then
    : Effect.zipRight(WorkflowContext.checkpoint("cache.miss", { cache: s.state.name }), then)

/**
 * Computes, measuring what it took (time by the fiber's Clock, money by the
 * flight's cost ledger: model calls inside charge it), and writes every tier.
 * Runs in the flight's own fiber (see `cacheFlight.ts`), where that ledger
 * is open. A chain of steps, not `Effect.gen`: it is on every miss.
 *
 * @internal
 */
export const computeAndStore = <A, E, R>(
  s: Store,
  budget: Tier.Budget,
  key: string,
  compute: Effect.Effect<A, E, R>,
  flight: Flight
): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime<A, E, R>((fiber) => {
    const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
    const start = clock.unsafeCurrentTimeMillis()
    return Effect.matchCauseEffect(compute, {
      onSuccess: (value) => {
        const now = ended(s, clock)
        const ledger = flight.ledger
        // No ledger charge (a primitive that calls no model): the annotation says what a call costs.
        const cost = ledger.calls > 0 ? ledger.costUsd : s.config.costPerCall
        flight.cost = cost
        const write = writeTiers(
          s,
          budget,
          key,
          value,
          now + s.config.ttlMs,
          now - start,
          cost,
          now,
          s.runtime.remotes.length
        )
        return marked(s, fiber, write === Effect.void ? Effect.succeed(value) : Effect.as(write, value))
      },
      onFailure: (cause) => {
        const now = ended(s, clock)
        // Only typed failures: a defect is a bug, and an interruption is not an answer.
        if (s.config.cacheFailures && s.state.lru !== undefined && !Cause.isDie(cause) && !Cause.isInterrupted(cause)) {
          Stats.evicted(s.state, s.state.lru.set(key, new CachedFailure(cause), now + s.config.ttlMs, now - start))
        }
        return marked(s, fiber, Effect.failCause(cause))
      }
    })
  })
