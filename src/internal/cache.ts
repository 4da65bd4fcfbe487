import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Cache from "../Cache.js"
import * as Primitive from "../Primitive.js"
import * as WorkflowContext from "../WorkflowContext.js"
import { defaultKey } from "./cacheKey.js"
import * as Lru from "./cacheLru.js"

/** @internal */
export const TypeId: unique symbol = Symbol.for("flowtune/Cache")

// -----------------------------------------------------------------------------
// metrics
// -----------------------------------------------------------------------------

/** @internal */
export const hitsTotal = Metric.counter("flowtune_cache_hits", { description: "Cache hits, by primitive and tier" })
/** @internal */
export const missesTotal = Metric.counter("flowtune_cache_misses", { description: "Cache misses that computed" })
/** @internal */
export const coalescedTotal = Metric.counter("flowtune_cache_coalesced", {
  description: "Calls that joined an identical computation already in flight"
})
/** @internal */
export const evictionsTotal = Metric.counter("flowtune_cache_evictions", { description: "L1 entries evicted (LRU)" })
/** @internal */
export const expirationsTotal = Metric.counter("flowtune_cache_expirations", { description: "Entries found expired" })
/** @internal */
export const tierErrorsTotal = Metric.counter("flowtune_cache_tier_errors", {
  description: "Failed or timed-out tier operations, by tier"
})
/** @internal */
export const corruptTotal = Metric.counter("flowtune_cache_corrupt", { description: "Undecodable shared-tier entries" })
/** @internal */
export const costSavedTotal = Metric.counter("flowtune_cache_cost_saved", {
  description: "US dollars not spent thanks to the cache"
})
/** @internal */
export const timeSavedTotal = Metric.counter("flowtune_cache_time_saved_ms", {
  description: "Milliseconds of computation not repeated thanks to the cache"
})

// -----------------------------------------------------------------------------
// runtime state (lives as long as the CacheTiers layer)
// -----------------------------------------------------------------------------

interface Flight {
  readonly deferred: Deferred.Deferred<any, any>
  waiters: number
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
}

interface Counters {
  readonly hits: Array<number>
  misses: number
  coalesced: number
  evictions: number
  expirations: number
  readonly tierErrors: Array<number>
  corrupt: number
  timeSavedMs: number
  costSaved: number
}

/** Per namespace+version: the L1, in-flight computations, counters. @internal */
export interface StoreState {
  readonly name: string
  readonly namespace: string
  readonly prefix: string
  readonly lru: Lru.Lru | undefined
  readonly inflight: Map<string, Flight>
  readonly counters: Counters
  /** Metric labels, one array per tier (same reference every time keeps Effect's hook cache warm). */
  readonly tierLabels: ReadonlyArray<ReadonlyArray<MetricLabel.MetricLabel>>
  readonly labels: ReadonlyArray<MetricLabel.MetricLabel>
}

/** @internal */
export interface Runtime {
  readonly scope: Scope.Scope
  readonly memory: Cache.MemoryTier | undefined
  readonly remotes: ReadonlyArray<Cache.RemoteTier>
  /** Tier names, memory first when present; index i of `counters.hits`. */
  readonly names: ReadonlyArray<string>
  readonly leaseTier: number
  readonly stores: Map<string, StoreState>
}

const escapeSegment = (s: string) => s.replace(/%/g, "%25").replace(/:/g, "%3A")

const storeId = (namespace: string, version: string) => `${escapeSegment(namespace)}:${escapeSegment(version)}:`

const storeOf = (runtime: Runtime, config: Config): StoreState => {
  const existing = runtime.stores.get(config.prefix)
  if (existing !== undefined) return existing
  const base = [MetricLabel.make("primitive", config.name)]
  const state: StoreState = {
    name: config.name,
    namespace: config.namespace,
    prefix: config.prefix,
    lru: runtime.memory === undefined ? undefined : Lru.make(config.capacity ?? runtime.memory.capacity),
    inflight: new Map(),
    counters: {
      hits: runtime.names.map(() => 0),
      misses: 0,
      coalesced: 0,
      evictions: 0,
      expirations: 0,
      tierErrors: runtime.names.map(() => 0),
      corrupt: 0,
      timeSavedMs: 0,
      costSaved: 0
    },
    tierLabels: runtime.names.map((tier) => [...base, MetricLabel.make("tier", tier)]),
    labels: base
  }
  runtime.stores.set(config.prefix, state)
  return state
}

// -----------------------------------------------------------------------------
// tiers and layers
// -----------------------------------------------------------------------------

/** @internal */
export const memory = (options?: { readonly capacity?: number | undefined }): Effect.Effect<Cache.MemoryTier> =>
  Effect.sync(() => {
    const capacity = options?.capacity ?? 10_000
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`Cache.memory: capacity must be a positive integer, got ${capacity}`)
    }
    return { _tag: "Memory", name: "memory", capacity }
  })

/** @internal */
export const makeTiers = (tiers: ReadonlyArray<Cache.Tier>): Effect.Effect<Cache.CacheTiersShape, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const memoryTiers = tiers.filter((t): t is Cache.MemoryTier => t._tag === "Memory")
    if (memoryTiers.length > 1 || (memoryTiers.length === 1 && tiers[0]!._tag !== "Memory")) {
      return yield* Effect.dieMessage("Cache.layer: at most one memory tier, and it must come first")
    }
    const memoryTier = memoryTiers[0]
    const remotes = tiers.filter((t): t is Cache.RemoteTier => t._tag === "Remote")
    const runtime: Runtime = {
      scope,
      memory: memoryTier,
      remotes,
      names: [...(memoryTier ? [memoryTier.name] : []), ...remotes.map((t) => t.name)],
      leaseTier: remotes.findIndex((t) => t.lease !== undefined),
      stores: new Map()
    }
    // Leave no computation running once the layer is gone.
    yield* Effect.addFinalizer(() =>
      Effect.forEach(
        Array.from(runtime.stores.values()).flatMap((s) => Array.from(s.inflight.values())),
        (flight) => flight.fiber ? Fiber.interrupt(flight.fiber) : Effect.void,
        { discard: true }
      )
    )
    return { tiers, runtime }
  })

/** @internal */
export const layer = (...tiers: ReadonlyArray<Effect.Effect<Cache.Tier, any, any>>) =>
  Layer.scoped(
    tiersTag(),
    Effect.flatMap(Effect.all(tiers), makeTiers)
  )

// The tag lives in the public module, which imports this one: it is read
// inside functions only, never while the modules are being evaluated.
const tiersTag = (): typeof Cache.CacheTiers => Cache.CacheTiers

// -----------------------------------------------------------------------------
// configuration of one cached primitive or store
// -----------------------------------------------------------------------------

interface Config {
  readonly name: string
  readonly namespace: string
  readonly version: string
  readonly prefix: string
  readonly ttlMs: number
  readonly capacity: number | undefined
  readonly cacheFailures: boolean
  readonly tierTimeout: Duration.Duration | undefined
  readonly lease: boolean
  readonly costPerCall: number
  readonly encode: ((value: unknown) => Either.Either<unknown, unknown>) | undefined
  readonly decode: ((value: unknown) => Either.Either<unknown, unknown>) | undefined
}

const millis = (input: Duration.DurationInput | undefined, fallback: number): number => {
  if (input === undefined) return fallback
  const ms = Duration.toMillis(Duration.decode(input))
  if (!(ms > 0)) throw new RangeError(`a time to live must be positive, got ${String(input)}`)
  return ms
}

const makeConfig = (options: {
  readonly name: string
  readonly namespace: string
  readonly version?: string | number | undefined
  readonly schema?: Schema.Schema<any, any, never> | undefined
  readonly ttl?: Duration.DurationInput | undefined
  readonly capacity?: number | undefined
  readonly cacheFailures?: boolean | undefined
  readonly tierTimeout?: Duration.DurationInput | undefined
  readonly lease?: boolean | undefined
  readonly costPerCall?: number | undefined
}): Config => {
  const version = String(options.version ?? "1")
  // A malformed cache is a bug in the program: reported where it is defined,
  // like any other invalid primitive.
  const invalid = (reason: string) => new Primitive.InvalidPrimitive({ primitive: `cache(${options.name})`, reason })
  if (options.capacity !== undefined && (!Number.isInteger(options.capacity) || options.capacity < 1)) {
    throw invalid(`capacity must be a positive integer, got ${options.capacity}`)
  }
  let ttlMs: number
  try {
    ttlMs = millis(options.ttl, 3_600_000)
  } catch (error) {
    throw invalid(String((error as Error).message))
  }
  return {
    name: options.name,
    namespace: options.namespace,
    version,
    prefix: storeId(options.namespace, version),
    ttlMs,
    capacity: options.capacity,
    cacheFailures: options.cacheFailures ?? false,
    tierTimeout: options.tierTimeout === undefined ? undefined : Duration.decode(options.tierTimeout),
    lease: options.lease ?? true,
    costPerCall: options.costPerCall ?? 0,
    encode: options.schema ? Schema.encodeEither(options.schema) : undefined,
    decode: options.schema ? Schema.decodeUnknownEither(options.schema) : undefined
  }
}

// -----------------------------------------------------------------------------
// counting
// -----------------------------------------------------------------------------

const countHit = (state: StoreState, config: Config, tier: number, computeMs: number) => {
  const c = state.counters
  c.hits[tier]!++
  c.timeSavedMs += computeMs
  c.costSaved += config.costPerCall
  hitsTotal.unsafeUpdate(1, state.tierLabels[tier]!)
  if (computeMs > 0) timeSavedTotal.unsafeUpdate(computeMs, state.labels)
  if (config.costPerCall > 0) costSavedTotal.unsafeUpdate(config.costPerCall, state.labels)
}

const countExpired = (state: StoreState) => {
  state.counters.expirations++
  expirationsTotal.unsafeUpdate(1, state.labels)
}

const countEvictions = (state: StoreState, n: number) => {
  if (n === 0) return
  state.counters.evictions += n
  evictionsTotal.unsafeUpdate(n, state.labels)
}

const countTierError = (state: StoreState, tier: number) => {
  state.counters.tierErrors[tier]!++
  tierErrorsTotal.unsafeUpdate(1, state.tierLabels[tier]!)
}

/** A failure kept in L1 when `cacheFailures` is on. */
class CachedFailure {
  constructor(readonly cause: Cause.Cause<unknown>) {}
}

// -----------------------------------------------------------------------------
// shared tiers: guarded operations, payloads
// -----------------------------------------------------------------------------

const tierIndex = (runtime: Runtime, remote: number) => remote + (runtime.memory ? 1 : 0)

/** Runs a tier operation with its timeout; a failure is counted, logged and becomes `onError`. */
const guarded = <A>(
  runtime: Runtime,
  state: StoreState,
  config: Config,
  remote: number,
  operation: string,
  effect: Effect.Effect<A, Cache.CacheTierError>,
  onError: A
): Effect.Effect<A> => {
  const tier = runtime.remotes[remote]!
  return effect.pipe(
    Effect.timeoutFail({
      duration: config.tierTimeout ?? tier.timeout,
      onTimeout: () => ({ _tag: "Timeout" as const })
    }),
    Effect.catchAllCause((cause) => {
      countTierError(state, tierIndex(runtime, remote))
      return Effect.as(
        Effect.logDebug(`flowtune cache: tier ${tier.name} ${operation} failed`, cause),
        onError
      )
    })
  )
}

interface Found {
  readonly value: unknown
  readonly expiresAt: number
  readonly computeMs: number
  readonly payload: string
}

const encodePayload = (config: Config, value: unknown, expiresAt: number, computeMs: number): string | undefined => {
  const encoded = config.encode!(value)
  if (Either.isLeft(encoded)) return undefined
  return JSON.stringify({
    v: encoded.right,
    e: expiresAt === Infinity ? null : expiresAt,
    d: Math.round(computeMs)
  })
}

type Decoded = Found | "corrupt" | "expired"

const decodePayload = (config: Config, payload: string, now: number): Decoded => {
  let parsed: unknown
  try {
    parsed = JSON.parse(payload)
  } catch {
    return "corrupt"
  }
  if (typeof parsed !== "object" || parsed === null || !("v" in parsed) || !("e" in parsed)) return "corrupt"
  const e = (parsed as { e: unknown }).e
  const d = (parsed as { d?: unknown }).d
  if (e !== null && typeof e !== "number") return "corrupt"
  const expiresAt = e === null ? Infinity : e
  if (expiresAt <= now) return "expired"
  const decoded = config.decode!((parsed as { v: unknown }).v)
  if (Either.isLeft(decoded)) return "corrupt"
  return { value: decoded.right, expiresAt, computeMs: typeof d === "number" ? d : 0, payload }
}

const remoteGet = (
  runtime: Runtime,
  state: StoreState,
  config: Config,
  remote: number,
  key: string,
  now: number
): Effect.Effect<Found | undefined> =>
  Effect.flatMap(
    guarded(
      runtime,
      state,
      config,
      remote,
      "get",
      runtime.remotes[remote]!.get(config.prefix + key, now),
      Option.none()
    ),
    (payload) => {
      if (Option.isNone(payload)) return Effect.succeed(undefined)
      const decoded = decodePayload(config, payload.value, now)
      if (decoded === "expired") {
        countExpired(state)
        return Effect.succeed(undefined)
      }
      if (decoded === "corrupt") {
        state.counters.corrupt++
        corruptTotal.unsafeUpdate(1, state.tierLabels[tierIndex(runtime, remote)]!)
        return Effect.as(
          Effect.logWarning(
            `flowtune cache: undecodable entry in tier ${
              runtime.remotes[remote]!.name
            } for ${config.prefix}${key}; treated as a miss`
          ),
          undefined
        )
      }
      return Effect.succeed(decoded)
    }
  )

const remoteSet = (
  runtime: Runtime,
  state: StoreState,
  config: Config,
  remote: number,
  key: string,
  payload: string,
  expiresAt: number,
  now: number
) =>
  guarded(
    runtime,
    state,
    config,
    remote,
    "set",
    runtime.remotes[remote]!.set(config.prefix + key, payload, expiresAt, now),
    undefined
  )

const usesRemotes = (runtime: Runtime, config: Config) => config.decode !== undefined && runtime.remotes.length > 0

/** Writes a value to L1 and to shared tiers `[0, upTo)`. */
const writeTiers = (
  runtime: Runtime,
  state: StoreState,
  config: Config,
  key: string,
  value: unknown,
  expiresAt: number,
  computeMs: number,
  now: number,
  upTo: number,
  payload?: string
): Effect.Effect<void> => {
  if (state.lru !== undefined) countEvictions(state, state.lru.set(key, value, expiresAt, computeMs))
  if (upTo === 0 || !usesRemotes(runtime, config)) return Effect.void
  const encoded = payload ?? encodePayload(config, value, expiresAt, computeMs)
  if (encoded === undefined) {
    return Effect.logWarning(
      `flowtune cache: the value for ${config.prefix}${key} does not match its schema; not shared`
    )
  }
  return Effect.forEach(
    Array.from({ length: upTo }, (_, i) => i),
    (i) => remoteSet(runtime, state, config, i, key, encoded, expiresAt, now),
    { concurrency: "unbounded", discard: true }
  )
}

/** L2..Ln in order; a hit backfills the tiers above it with the entry's own expiry. */
const lookupRemotes = (
  runtime: Runtime,
  state: StoreState,
  config: Config,
  key: string
): Effect.Effect<Found | undefined> => {
  if (!usesRemotes(runtime, config)) return Effect.succeed(undefined)
  return Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const loop = (i: number): Effect.Effect<Found | undefined> => {
      if (i >= runtime.remotes.length) return Effect.succeed(undefined)
      return Effect.flatMap(remoteGet(runtime, state, config, i, key, now), (found) => {
        if (found === undefined) return loop(i + 1)
        const hitTier = tierIndex(runtime, i)
        return Effect.as(
          remoteHit(runtime, state, config, key, found, now, i, `cache.l${hitTier + 1}.hit`, runtime.names[hitTier]!),
          found
        )
      })
    }
    return loop(0)
  })
}

/** A value found in remote tier `remote`: count the hit, backfill the tiers above it, mark the timeline. */
const remoteHit = (
  runtime: Runtime,
  state: StoreState,
  config: Config,
  key: string,
  found: Found,
  now: number,
  remote: number,
  mark: string,
  tier: string
): Effect.Effect<void> => {
  countHit(state, config, tierIndex(runtime, remote), found.computeMs)
  return Effect.zipRight(
    writeTiers(runtime, state, config, key, found.value, found.expiresAt, found.computeMs, now, remote, found.payload),
    checkpoint(mark, state, tier)
  )
}

const checkpoint = (name: string, state: StoreState, tier?: string): Effect.Effect<void> =>
  Effect.serviceOption(WorkflowContext.WorkflowContext).pipe(
    Effect.flatMap((context) =>
      Option.isSome(context)
        ? WorkflowContext.checkpoint(name, tier ? { cache: state.name, tier } : { cache: state.name })
        : Effect.void
    )
  )

// -----------------------------------------------------------------------------
// computing a missing key: single-flight in process, lease across processes
// -----------------------------------------------------------------------------

const computeAndStore = <A, E, R>(
  runtime: Runtime,
  state: StoreState,
  config: Config,
  key: string,
  compute: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const exit = yield* Effect.exit(compute)
    const now = yield* Clock.currentTimeMillis
    const computeMs = now - start
    state.counters.misses++
    missesTotal.unsafeUpdate(1, state.labels)
    yield* checkpoint("cache.miss", state)
    if (Exit.isSuccess(exit)) {
      yield* writeTiers(
        runtime,
        state,
        config,
        key,
        exit.value,
        now + config.ttlMs,
        computeMs,
        now,
        runtime.remotes.length
      )
      return exit.value
    }
    // Only typed failures: a defect is a bug, and an interruption is not an answer.
    if (
      config.cacheFailures && state.lru !== undefined && !Cause.isDie(exit.cause) && !Cause.isInterrupted(exit.cause)
    ) {
      countEvictions(state, state.lru.set(key, new CachedFailure(exit.cause), now + config.ttlMs, computeMs))
    }
    return yield* exit
  })

const randomToken = () => `${process.pid}-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`

/** Holds the Redis lease while computing (renewed at a third of its TTL), or waits for the holder's result. */
const withLease = <A, E, R>(
  runtime: Runtime,
  state: StoreState,
  config: Config,
  key: string,
  compute: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => {
  const remote = runtime.leaseTier
  const tier = runtime.remotes[remote]!
  const lease = tier.lease!
  const ttlMs = Duration.toMillis(lease.ttl)
  const leaseKey = config.prefix + key
  const token = randomToken()
  const asHolder = Effect.gen(function*() {
    const renew = guarded(runtime, state, config, remote, "lease", lease.renew(leaseKey, token, ttlMs), false).pipe(
      Effect.repeat(Schedule.spaced(Duration.millis(Math.max(1, Math.floor(ttlMs / 3))))),
      Effect.interruptible
    )
    const heartbeat = yield* Effect.forkDaemon(renew)
    return yield* computeAndStore(runtime, state, config, key, compute).pipe(
      Effect.ensuring(
        Effect.zipRight(
          Fiber.interrupt(heartbeat),
          guarded(runtime, state, config, remote, "lease", lease.release(leaseKey, token), undefined)
        )
      )
    )
  })
  const takeOver = (found: Found, now: number): Effect.Effect<A> => {
    return Effect.as(
      remoteHit(runtime, state, config, key, found, now, remote, "cache.lease.wait", tier.name),
      found.value as A
    )
  }
  // The previous holder writes its result before releasing the lease, so a
  // lease just acquired may follow a result just written: look once more
  // before computing (without this, bursts of 2 x 100 calls computed 1.3
  // times each on average in bench/cache.ts).
  const acquiredThenCheck = Effect.flatMap(
    Clock.currentTimeMillis,
    (now) =>
      Effect.flatMap(remoteGet(runtime, state, config, remote, key, now), (found) =>
        found === undefined
          ? asHolder
          : Effect.zipRight(
            guarded(runtime, state, config, remote, "lease", lease.release(leaseKey, token), undefined),
            takeOver(found, now)
          ))
  )
  // `first`: the tiers were read just before, so a fresh lease computes at once.
  const attempt = (first: boolean): Effect.Effect<A, E, R> =>
    Effect.flatMap(
      // A failing lease (Redis down) must not block the call: compute without it.
      guarded(runtime, state, config, remote, "lease", lease.acquire(leaseKey, token, ttlMs), true),
      (acquired) =>
        acquired
          ? (first ? asHolder : acquiredThenCheck)
          : Effect.zipRight(
            Effect.sleep(lease.poll),
            Effect.flatMap(Clock.currentTimeMillis, (now) =>
              Effect.flatMap(
                remoteGet(runtime, state, config, remote, key, now),
                (found) => found === undefined ? attempt(false) : takeOver(found, now)
              ))
          )
    )
  return attempt(true)
}

const resolve = <A, E, R>(
  runtime: Runtime,
  state: StoreState,
  config: Config,
  key: string,
  compute: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.flatMap(lookupRemotes(runtime, state, config, key), (found) => {
    if (found !== undefined) return Effect.succeed(found.value as A)
    return config.lease && runtime.leaseTier >= 0 && usesRemotes(runtime, config)
      ? withLease(runtime, state, config, key, compute)
      : computeAndStore(runtime, state, config, key, compute)
  })

const join = <A, E>(state: StoreState, key: string, flight: Flight): Effect.Effect<A, E> =>
  Effect.suspend(() => {
    flight.waiters++
    return Effect.onExit(Deferred.await(flight.deferred), (exit) =>
      Effect.suspend(() => {
        flight.waiters--
        if (flight.waiters === 0 && Exit.isInterrupted(exit) && flight.fiber !== undefined) {
          // The last caller left: nobody wants the result any more.
          if (state.inflight.get(key) === flight) state.inflight.delete(key)
          return Fiber.interruptFork(flight.fiber)
        }
        return Effect.void
      }))
  })

/** Joins the computation in flight for `key`, or starts it in the layer's scope. */
const miss = <A, E, R>(
  runtime: Runtime,
  state: StoreState,
  config: Config,
  key: string,
  compute: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => {
  const existing = state.inflight.get(key)
  if (existing !== undefined) {
    state.counters.coalesced++
    state.counters.costSaved += config.costPerCall
    coalescedTotal.unsafeUpdate(1, state.labels)
    if (config.costPerCall > 0) costSavedTotal.unsafeUpdate(config.costPerCall, state.labels)
    return join<A, E>(state, key, existing)
  }
  return Effect.uninterruptibleMask((restore) =>
    Effect.withFiberRuntime<A, E, R>((parent) => {
      const deferred = Deferred.unsafeMake<A, E>(parent.id())
      const flight: Flight = { deferred, waiters: 0, fiber: undefined }
      state.inflight.set(key, flight)
      const work = resolve(runtime, state, config, key, compute).pipe(
        Effect.onExit((exit) =>
          Effect.suspend(() => {
            if (state.inflight.get(key) === flight) state.inflight.delete(key)
            return Deferred.done(deferred, exit)
          })
        )
      )
      return Effect.flatMap(Effect.forkIn(Effect.interruptible(work), runtime.scope), (fiber) => {
        flight.fiber = fiber as Fiber.RuntimeFiber<unknown, unknown>
        return restore(join<A, E>(state, key, flight))
      })
    })
  )
}

/** The whole path for one key: L1 synchronously, then the in-flight/remote/compute path. */
const getOrCompute = <A, E, R, In>(
  runtime: Runtime,
  state: StoreState,
  config: Config,
  key: string,
  compute: { readonly run: (input: In) => Effect.Effect<A, E, R> },
  input: In,
  now: number,
  inRun: boolean
): Effect.Effect<A, E, R> => {
  const lru = state.lru
  if (lru !== undefined) {
    const slot = lru.lookup(key, now)
    if (slot >= 0) {
      countHit(state, config, 0, lru.computeMsAt(slot))
      const value = lru.valueAt(slot)
      const result: Effect.Effect<A, E> = value instanceof CachedFailure
        ? Effect.failCause(value.cause as Cause.Cause<E>)
        : Effect.succeed(value as A)
      return inRun ? Effect.zipRight(checkpoint("cache.l1.hit", state, runtime.names[0]), result) : result
    }
    if (slot === -2) countExpired(state)
  }
  return miss(runtime, state, config, key, compute.run(input))
}

// -----------------------------------------------------------------------------
// wrap
// -----------------------------------------------------------------------------

// `any`: a cached primitive of any input type keeps its key function here.
interface CachedInfo {
  readonly namespace: string
  readonly version: string
  readonly key: (input: any) => string
  readonly config: Config
}

// `any`: the info lives under a symbol the public type does not declare.
const infoOf = (cached: Cache.Cached<any, any, any, any>): CachedInfo => (cached as any)[TypeId]

/** @internal */
export const wrap = dual(
  (args) => Primitive.isPrimitive(args[0]),
  <In, Out, E, R>(
    self: Primitive.Primitive<In, Out, E, R>,
    options?: Cache.WrapOptions<In, Out, any>
  ): Cache.Cached<In, Out, E, R> => {
    const config = makeConfig({
      name: self.name,
      namespace: options?.namespace ?? self.name,
      version: options?.version,
      schema: options?.schema,
      ttl: options?.ttl,
      capacity: options?.capacity,
      cacheFailures: options?.cacheFailures,
      tierTimeout: options?.tierTimeout,
      lease: options?.lease,
      costPerCall: typeof self.annotations.costPerCall === "number" ? self.annotations.costPerCall : 0
    })
    const keyOf = options?.key ?? defaultKey
    const checkpoints = options?.checkpoints ?? true
    const tag = tiersTag()
    const name = `cache(${self.name})`
    // No stack capture: the span's name already says where it comes from, and
    // capturing one cost more than the hit itself in bench/cache.ts.
    const spanOptions = { attributes: { "flowtune.primitive.kind": "cache" }, captureStackTrace: false }
    // One-entry memo: almost every call sees the same layer, so the store lookup is skipped.
    let lastRuntime: Runtime | undefined
    let lastState: StoreState | undefined
    const lookup = (fiber: Fiber.RuntimeFiber<unknown, unknown>, input: In): Effect.Effect<Out, E, R> => {
      const context = fiber.currentContext as Context.Context<Cache.CacheTiers>
      const runtime = Context.unsafeGet(context, tag).runtime
      let state: StoreState
      if (runtime === lastRuntime) {
        state = lastState!
      } else {
        state = storeOf(runtime, config)
        lastRuntime = runtime
        lastState = state
      }
      const now = Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis()
      const inRun = checkpoints && context.unsafeMap.has(WorkflowContext.WorkflowContext.key)
      return getOrCompute(runtime, state, config, keyOf(input), self, input, now, inRun)
    }
    const body = (input: In): Effect.Effect<Out, E, R | Cache.CacheTiers> =>
      Effect.withFiberRuntime((fiber) => lookup(fiber as Fiber.RuntimeFiber<unknown, unknown>, input))
    const cached = Primitive.make(name, body)
    // The hit path is one fiber-runtime step: the tracer check that
    // `Primitive.make` adds as a second step is folded into it (an L1 hit is
    // ~4 runloop steps in all; each extra one was measurable in bench/cache.ts).
    const run = (input: In): Effect.Effect<Out, E, R | Cache.CacheTiers> =>
      Effect.withFiberRuntime<Out, E, R | Cache.CacheTiers>((fiber) =>
        fiber.getFiberRef(FiberRef.currentTracerEnabled)
          ? Effect.withSpan(body(input), name, spanOptions)
          : lookup(fiber as Fiber.RuntimeFiber<unknown, unknown>, input)
      )
    // A cached primitive is a wrapper (kind "cache", one child), not a step.
    Object.assign(cached, { kind: "cache", children: [self], run })
    ;(cached as any)[TypeId] = { // `any`: see `infoOf`
      namespace: config.namespace,
      version: config.version,
      key: keyOf,
      config
    } satisfies CachedInfo
    return cached as unknown as Cache.Cached<In, Out, E, R>
  }
)

/** A span per public operation, skipped entirely when tracing is off (store operations sit on hot paths). */
const traced = <A, E, R>(effect: Effect.Effect<A, E, R>, name: string, namespace: string): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime<A, E, R>((fiber) =>
    fiber.getFiberRef(FiberRef.currentTracerEnabled)
      ? Effect.withSpan(effect, name, {
        attributes: { "flowtune.cache.namespace": namespace },
        captureStackTrace: false
      })
      : effect
  )

// -----------------------------------------------------------------------------
// stats, invalidation
// -----------------------------------------------------------------------------

const snapshot = (runtime: Runtime, state: StoreState | undefined): Cache.Stats => {
  const hits: Record<string, number> = {}
  const tierErrors: Record<string, number> = {}
  let totalHits = 0
  runtime.names.forEach((name, i) => {
    const h = state?.counters.hits[i] ?? 0
    hits[name] = (hits[name] ?? 0) + h
    totalHits += h
    tierErrors[name] = (tierErrors[name] ?? 0) + (state?.counters.tierErrors[i] ?? 0)
  })
  const c = state?.counters
  const calls = totalHits + (c?.misses ?? 0) + (c?.coalesced ?? 0)
  return {
    hits,
    misses: c?.misses ?? 0,
    coalesced: c?.coalesced ?? 0,
    hitRate: calls === 0 ? 0 : totalHits / calls,
    evictions: c?.evictions ?? 0,
    expirations: c?.expirations ?? 0,
    tierErrors,
    corrupt: c?.corrupt ?? 0,
    timeSaved: Duration.millis(c?.timeSavedMs ?? 0),
    costSaved: c?.costSaved ?? 0,
    size: state?.lru?.size() ?? 0
  }
}

const withRuntime = <A>(f: (runtime: Runtime) => Effect.Effect<A>): Effect.Effect<A, never, Cache.CacheTiers> =>
  Effect.flatMap(tiersTag(), (tiers) => f(tiers.runtime))

/** @internal */
export const stats = (cached: Cache.Cached<any, any, any, any>): Effect.Effect<Cache.Stats, never, Cache.CacheTiers> =>
  withRuntime((runtime) => Effect.sync(() => snapshot(runtime, runtime.stores.get(infoOf(cached).config.prefix))))

const invalidateKey = (runtime: Runtime, config: Config, key: string): Effect.Effect<void> =>
  Effect.suspend(() => {
    const state = storeOf(runtime, config)
    state.lru?.delete(key)
    return Effect.forEach(
      runtime.remotes,
      (tier, i) => guarded(runtime, state, config, i, "delete", tier.delete(config.prefix + key), undefined),
      { concurrency: "unbounded", discard: true }
    )
  })

/** @internal */
export const invalidate = dual(
  2,
  (cached: Cache.Cached<any, any, any, any>, input: unknown): Effect.Effect<void, never, Cache.CacheTiers> => {
    const info = infoOf(cached)
    return withRuntime((runtime) =>
      traced(
        Effect.suspend(() => invalidateKey(runtime, info.config, info.key(input))),
        "Cache.invalidate",
        info.namespace
      )
    )
  }
)

const clearNamespace = (runtime: Runtime, namespace: string, version?: string): Effect.Effect<void> =>
  Effect.suspend(() => {
    const prefix = version === undefined ? `${escapeSegment(namespace)}:` : storeId(namespace, version)
    for (const state of runtime.stores.values()) {
      if (state.prefix.startsWith(prefix)) state.lru?.clear()
    }
    return Effect.forEach(
      runtime.remotes,
      (tier) =>
        tier.clear(prefix).pipe(
          Effect.timeout(Duration.max(tier.timeout, Duration.seconds(30))),
          Effect.catchAllCause((cause) => Effect.logWarning(`flowtune cache: clearing tier ${tier.name} failed`, cause))
        ),
      { concurrency: "unbounded", discard: true }
    )
  })

/** @internal */
export const clear = (namespace: string): Effect.Effect<void, never, Cache.CacheTiers> =>
  traced(withRuntime((runtime) => clearNamespace(runtime, namespace)), "Cache.clear", namespace)

// -----------------------------------------------------------------------------
// the keyed store
// -----------------------------------------------------------------------------

/** @internal */
export const makeStore = <A, I>(
  options: Cache.StoreOptions<A, I>
): Effect.Effect<Cache.Store<A>, never, Cache.CacheTiers> =>
  withRuntime((runtime) =>
    Effect.sync(() => {
      const config = makeConfig({ ...options, name: options.namespace })
      const state = storeOf(runtime, config)
      const get = (key: string): Effect.Effect<Option.Option<A>> =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const lru = state.lru
          if (lru !== undefined) {
            const slot = lru.lookup(key, now)
            if (slot >= 0) {
              const value = lru.valueAt(slot)
              if (!(value instanceof CachedFailure)) {
                countHit(state, config, 0, lru.computeMsAt(slot))
                return Effect.succeed(Option.some(value as A))
              }
            } else if (slot === -2) {
              countExpired(state)
            }
          }
          return Effect.map(lookupRemotes(runtime, state, config, key), (found) => {
            if (found !== undefined) return Option.some(found.value as A)
            state.counters.misses++
            missesTotal.unsafeUpdate(1, state.labels)
            return Option.none()
          })
        })
      const set = (key: string, value: A, ttl?: Duration.DurationInput): Effect.Effect<void> =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          writeTiers(
            runtime,
            state,
            config,
            key,
            value,
            now + (ttl === undefined ? config.ttlMs : millis(ttl, config.ttlMs)),
            0,
            now,
            runtime.remotes.length
          ))
      const store: Cache.Store<A> = {
        namespace: config.namespace,
        version: config.version,
        get: (key) => traced(get(key), "Cache.get", config.namespace),
        set: (key, value, ttl) => traced(set(key, value, ttl), "Cache.set", config.namespace),
        invalidate: (key) => traced(invalidateKey(runtime, config, key), "Cache.invalidate", config.namespace),
        getOrCompute: (key, compute) =>
          Effect.withFiberRuntime((fiber) =>
            getOrCompute(
              runtime,
              state,
              config,
              key,
              { run: () => compute },
              undefined,
              Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis(),
              fiber.currentContext.unsafeMap.has(WorkflowContext.WorkflowContext.key)
            )
          ),
        clear: traced(clearNamespace(runtime, config.namespace, config.version), "Cache.clear", config.namespace),
        stats: Effect.sync(() => snapshot(runtime, state))
      }
      return store
    })
  )
