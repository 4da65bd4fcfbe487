/**
 * Caching a primitive, as the guide's "Apply Caching" step describes, built
 * for production: an in-process LRU with time to live and a size bound (L1),
 * then Redis (L2) and SQL (L3, PostgreSQL or SQLite) tiers with backfill,
 * stable keys independent of object key order, the guide's text normalizer,
 * single-flight (concurrent identical calls compute once, across processes
 * through a Redis lease), stats per tier and the time and money saved.
 *
 * A cached primitive does not know which backends it runs on: the tiers are
 * one `CacheTiers` service, an ordered list built by `Cache.layer(...)` from
 * tier constructors (`Cache.memory`, `CacheRedis.tier`, `CacheSql.tier`) or
 * taken whole from a one-tier layer (`Cache.layerMemory`, `CacheRedis.layer`,
 * `CacheSql.layer`).
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Cache, Primitive } from "flowtune"
 *
 * const answer = Primitive.make("answer", (q: string) => Effect.succeed(q.length)).pipe(
 *   Primitive.annotate({ costPerCall: 0.01 })
 * )
 * const cached = answer.pipe(Cache.wrap({ schema: Schema.Number, ttl: "1 hour", capacity: 10_000 }))
 *
 * const program = Effect.gen(function*() {
 *   yield* Primitive.run(cached, "What is Python?") // computes
 *   yield* Primitive.run(cached, "What is Python?") // L1 hit
 *   return yield* Cache.stats(cached) // { hits: { memory: 1 }, misses: 1, costSaved: 0.01, ... }
 * }).pipe(Effect.provide(Cache.layerMemory({ capacity: 10_000 })))
 * ```
 *
 * ## The low-level keyed store (stable API, used by streaming replay)
 *
 * `Cache.makeStore({ namespace, version?, schema, ttl?, capacity? })` gives an
 * `Effect<Store<A>, never, CacheTiers>` over the configured tiers, for callers
 * that pick their own keys:
 * - `store.get(key): Effect<Option<A>>` — L1 -> L2 -> L3 with backfill (remaining TTL);
 * - `store.set(key, value, ttl?): Effect<void>` — writes every tier;
 * - `store.invalidate(key): Effect<void>`, `store.clear: Effect<void>`;
 * - `store.getOrCompute(key, effect)` — the full path with single-flight and the Redis lease;
 * - `store.stats: Effect<Stats>`.
 * None of them fails: a tier that errors or times out is counted and skipped.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/cache.js"
import * as key from "./internal/cacheKey.js"
import type * as Primitive from "./Primitive.js"

/**
 * @since 0.1.0
 * @category symbols
 */
// `any`: the same registered symbol as the implementation's, re-declared as this module's unique symbol type.
export const TypeId: unique symbol = internal.TypeId as any

/**
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * A cache tier failed (a connection error, a timeout, a server error). It
 * never reaches the caller of a cached primitive: the tier is skipped, the
 * error is counted and logged at debug level.
 *
 * @since 0.1.0
 * @category errors
 */
export class CacheTierError extends Data.TaggedError("CacheTierError")<{
  readonly tier: string
  readonly operation: string
  readonly cause: unknown
}> {
  override get message() {
    return `Cache tier "${this.tier}" failed during ${this.operation}: ${String(this.cause)}`
  }
}

/**
 * The errors this module produces. `CacheTierError` only appears inside
 * tier implementations (a tier failure never fails a call); `InvalidKey`
 * fails a cached call whose input has no faithful key.
 *
 * @since 0.1.0
 * @category errors
 */
export type CacheError = CacheTierError | InvalidKey | MissingSchema

/**
 * A cached primitive without a `schema` ran over a `CacheTiers` layer with
 * shared tiers (Redis, SQL): its entries cannot be encoded, so rather than
 * silently caching in memory only, every call fails with this error. Give
 * the wrap a `schema`, or `memoryOnly: true` to keep its entries in L1 on
 * purpose. (The tiers are only known when the layer is provided, so this is
 * reported at the first run, not when the primitive is built.)
 *
 * @since 0.2.0
 * @category errors
 */
export class MissingSchema extends Data.TaggedError("MissingSchema")<{
  readonly primitive: string
  readonly tiers: ReadonlyArray<string>
}> {
  override get message() {
    return `Cache.wrap(${this.primitive}): shared tiers (${
      this.tiers.join(", ")
    }) are configured but the wrap has no schema to encode entries; pass \`schema\`, or \`memoryOnly: true\``
  }
}

/**
 * The default key function cannot encode a cached call's input faithfully
 * (a function, a symbol, a class instance without a declared encoding, a
 * cycle, nesting deeper than 256 levels, a `Redacted`): the call fails with
 * this error, whose `path` names the part (`input.items[3].url`). Pass a
 * `key` option, or declare the class's key with {@link keyEncoding}.
 *
 * @since 0.2.0
 * @category errors
 */
export const InvalidKey: typeof key.InvalidKey = key.InvalidKey

/**
 * @since 0.2.0
 * @category errors
 */
export type InvalidKey = key.InvalidKey

/**
 * Declares a class's cache key: a method under this symbol
 * (`Symbol.for("flowtune/cacheKey")`) returns a value the default key can
 * encode, e.g. `[Cache.keyEncoding]() { return this.id }`. The class name is
 * part of the key.
 *
 * @since 0.2.0
 * @category keys
 */
export const keyEncoding: typeof key.keyEncoding = key.keyEncoding

/**
 * What a cached call can fail with because of its key: nothing for inputs
 * that are strings, numbers, booleans, bigints, `null` or `undefined`;
 * {@link InvalidKey} otherwise.
 *
 * @since 0.2.0
 * @category keys
 */
export type KeyError<In> = [In] extends [string | number | boolean | bigint | null | undefined] ? never : InvalidKey

/**
 * The in-process tier: one LRU per cached primitive (or store), bounded by
 * the primitive's `capacity` or else the tier's.
 *
 * @since 0.1.0
 * @category tiers
 */
export interface MemoryTier {
  readonly _tag: "Memory"
  readonly name: string
  /** Entries per primitive when its options do not say. */
  readonly capacity: number
}

/**
 * A cross-process lease, so that only one process computes a missing key
 * while the others wait for its result (`SET NX PX` in Redis).
 *
 * @since 0.1.0
 * @category tiers
 */
export interface Lease {
  /** How long a lease lives without renewal: the longest anyone waits for a dead holder. */
  readonly ttl: Duration.Duration
  /** How often a waiting process looks for the holder's result. */
  readonly poll: Duration.Duration
  readonly acquire: (key: string, token: string, ttlMillis: number) => Effect.Effect<boolean, CacheTierError>
  readonly renew: (key: string, token: string, ttlMillis: number) => Effect.Effect<boolean, CacheTierError>
  readonly release: (key: string, token: string) => Effect.Effect<void, CacheTierError>
  /**
   * Replaces a lease that shows no sign of a live holder (no expiry, or an
   * expiry longer than `ttlMillis`) with the caller's: `true` when the caller
   * now holds it. Without it, a waiter past its lease time computes without
   * the lease.
   */
  readonly takeOver?:
    | ((key: string, token: string, ttlMillis: number) => Effect.Effect<boolean, CacheTierError>)
    | undefined
}

/**
 * A shared tier holding encoded entries (Redis, SQL, or your own). Keys are
 * already namespaced and bounded in length; payloads are opaque strings the
 * cache encodes and validates itself. `expiresAt` is milliseconds since the
 * epoch by Effect's `Clock` (`Infinity` for never); a tier uses it to let
 * the server expire entries, while the cache checks it again on every read.
 *
 * @since 0.1.0
 * @category tiers
 */
export interface RemoteTier {
  readonly _tag: "Remote"
  readonly name: string
  /**
   * The longest one cached call spends on shared tiers in all (reads, lease,
   * writes share it); an operation cut off by it counts as a tier error.
   */
  readonly timeout: Duration.Duration
  readonly get: (key: string, now: number) => Effect.Effect<Option.Option<string>, CacheTierError>
  readonly set: (key: string, payload: string, expiresAt: number, now: number) => Effect.Effect<void, CacheTierError>
  readonly delete: (key: string) => Effect.Effect<void, CacheTierError>
  /** Deletes every key starting with `prefix`. */
  readonly clear: (prefix: string) => Effect.Effect<void, CacheTierError>
  readonly lease?: Lease | undefined
}

/**
 * @since 0.1.0
 * @category tiers
 */
export type Tier = MemoryTier | RemoteTier

/**
 * The ordered tiers every cached primitive in a program uses (L1 first),
 * with the per-primitive state that lives as long as the layer: LRUs,
 * in-flight computations, counters.
 *
 * @since 0.1.0
 * @category services
 */
export interface CacheTiersShape {
  readonly tiers: ReadonlyArray<Tier>
  /** @internal */
  readonly runtime: internal.Runtime
}

/**
 * @since 0.1.0
 * @category services
 */
export class CacheTiers extends Context.Tag("flowtune/Cache/CacheTiers")<CacheTiers, CacheTiersShape>() {}

/**
 * The memory tier constructor, for `Cache.layer(...)`.
 *
 * @since 0.1.0
 * @category tiers
 */
export const memory: (options?: { readonly capacity?: number | undefined }) => Effect.Effect<MemoryTier> =
  internal.memory

/**
 * Builds the `CacheTiers` service from tier constructors, in lookup order
 * (memory first, if present). Layer release interrupts in-flight
 * computations and background work of the tiers.
 *
 * @example
 * ```ts
 * const Tiers = Cache.layer(Cache.memory({ capacity: 10_000 }), CacheRedis.tier({ url }), CacheSql.tier())
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
// `any`: a tier constructor's error and requirements flow into the layer's own type
export const layer: <const T extends ReadonlyArray<Effect.Effect<Tier, any, any>>>(
  ...tiers: T
) => Layer.Layer<
  CacheTiers,
  Effect.Effect.Error<T[number]>,
  Exclude<Effect.Effect.Context<T[number]>, Scope.Scope>
> = internal.layer as any // `any`: the overloads are checked at call sites; the implementation is untyped

/**
 * Memory only: an LRU with TTL per cached primitive.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (options?: { readonly capacity?: number | undefined }): Layer.Layer<CacheTiers> =>
  layer(memory(options))

/**
 * Options of `wrap`.
 *
 * @since 0.1.0
 * @category models
 */
export interface WrapOptions<In, Out, I = unknown> {
  /**
   * The output's schema: entries in Redis and SQL are encoded with it and
   * every read is decoded and validated. Without it, and with shared tiers
   * configured, every call fails with `MissingSchema` (unless `memoryOnly`).
   */
  readonly schema?: Schema.Schema<Out, I, never> | undefined
  /** Time to live of an entry in every tier. Default: 1 hour. `Duration.infinity` for never. */
  readonly ttl?: Duration.DurationInput | undefined
  /** Entries kept in L1 (LRU beyond it). Default: the memory tier's capacity. */
  readonly capacity?: number | undefined
  /**
   * The cache key of an input. Default: a canonical encoding of the input
   * (object keys sorted). L1 keys an entry by this text in full; the shared
   * tiers (Redis, SQL) and the Redis lease see its SHA-256 beyond 200
   * characters, for a custom key as for the default one.
   * `Cache.normalizedKey` is the guide's text normalizer.
   */
  readonly key?: ((input: In) => string) | undefined
  /** Default: the primitive's name. Entries of different namespaces never mix. */
  readonly namespace?: string | undefined
  /** Bump it when the model or prompt changes: old entries are never read again. Default: "1". */
  readonly version?: string | number | undefined
  /** Keep failures too (memory tier only, same TTL). Default: false. */
  readonly cacheFailures?: boolean | undefined
  /**
   * The longest one call spends on shared tiers in all (reads, lease, writes
   * share it), instead of the tiers' own timeouts. Positive and finite.
   */
  readonly tierTimeout?: Duration.DurationInput | undefined
  /** Keep entries in L1 only even when shared tiers are configured (no schema needed). Default: false. */
  readonly memoryOnly?: boolean | undefined
  /** Use the Redis lease so other processes wait for this one's result. Default: true when a tier has a lease. */
  readonly lease?: boolean | undefined
  /**
   * Record an L1 hit on the run's timeline (`cache.l1.hit`). Default: false:
   * a checkpoint costs a few Effect steps, more than the hit itself. Other
   * outcomes (misses, shared-tier hits, lease waits) are always recorded.
   */
  readonly checkpoints?: boolean | undefined
}

/**
 * A cached primitive.
 *
 * @since 0.1.0
 * @category models
 */
export interface Cached<In, Out, E = never, R = never> extends Primitive.Primitive<In, Out, E, R | CacheTiers> {
  readonly [TypeId]: {
    readonly namespace: string
    readonly version: string
    readonly key: (input: In) => string
  }
}

/**
 * Options that say what a shared tier holds (a schema), or that there is
 * none to hold (`memoryOnly`): such a wrap cannot fail with `MissingSchema`.
 *
 * @since 0.2.0
 * @category models
 */
export type Encodable = { readonly schema: {} } | { readonly memoryOnly: true }

/**
 * Wraps a primitive in the configured cache tiers. The result is a primitive
 * named `cache(<name>)` whose only child is the original one.
 *
 * Concurrent calls with the same key share one computation. When a caller
 * is interrupted the computation continues for the others; when the last
 * caller leaves, it is interrupted (nobody wants the result any more).
 *
 * @since 0.1.0
 * @category combinators
 */
export const wrap: {
  <In, Out, I = unknown>(
    options: WrapOptions<NoInfer<In>, NoInfer<Out>, I> & Encodable
  ): <E, R>(self: Primitive.Primitive<In, Out, E, R>) => Cached<In, Out, E | KeyError<In>, R>
  <In, Out, I = unknown>(
    options?: WrapOptions<NoInfer<In>, NoInfer<Out>, I>
  ): <E, R>(self: Primitive.Primitive<In, Out, E, R>) => Cached<In, Out, E | KeyError<In> | MissingSchema, R>
  <In, Out, E, R, I = unknown>(
    self: Primitive.Primitive<In, Out, E, R>,
    options: WrapOptions<NoInfer<In>, NoInfer<Out>, I> & Encodable
  ): Cached<In, Out, E | KeyError<In>, R>
  <In, Out, E, R, I = unknown>(
    self: Primitive.Primitive<In, Out, E, R>,
    options?: WrapOptions<NoInfer<In>, NoInfer<Out>, I>
  ): Cached<In, Out, E | KeyError<In> | MissingSchema, R>
} = internal.wrap as any // `any`: the overloads are checked at call sites; the implementation is untyped

/**
 * A snapshot of one cached primitive's (or store's) counters since the layer
 * was built.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  /** Hits by tier name (`memory`, `redis`, `sql`, ...). */
  readonly hits: Readonly<Record<string, number>>
  /** Calls that found nothing and computed. */
  readonly misses: number
  /** Calls that joined a computation already running in this process. */
  readonly coalesced: number
  /**
   * hits / (hits + misses + coalesced): the share of calls a tier answered.
   * A coalesced call is not a hit: it found no entry and waited for a
   * computation, so counting it would make the rate depend on timing rather
   * than on what the tiers hold (1000 concurrent calls on an empty cache
   * would read 99.9%). What single-flight saves is in `coalesced` and
   * `costSaved`; the share of calls that computed nothing is
   * `(hits + coalesced) / calls`. The tour reports this same figure.
   */
  readonly hitRate: number
  readonly evictions: number
  /** Entries found expired (memory or shared tiers). */
  readonly expirations: number
  /** Failed or timed-out tier operations, by tier name. */
  readonly tierErrors: Readonly<Record<string, number>>
  /**
   * Tier operations not attempted, by tier name: the tier's circuit was open
   * (it failed and no probe has succeeded since), or the call had used up its
   * shared-tier time.
   */
  readonly tierSkipped: Readonly<Record<string, number>>
  /** Waiters that found a lease with no live holder past their lease time, and computed. */
  readonly leaseTakeovers: number
  /** Holders whose lease renewal found the lease gone or taken (they computed on). */
  readonly leasesLost: number
  /** Shared-tier entries that could not be decoded (treated as misses and overwritten). */
  readonly corrupt: number
  /** Sum over hits of the entry's measured compute time. */
  readonly timeSaved: Duration.Duration
  /**
   * Over hits and coalesced calls, what computing the entry cost: model calls
   * inside it as charged (cost ledger), else the primitive's `costPerCall`.
   */
  readonly costSaved: number
  /** Entries in L1 now. */
  readonly size: number
}

/**
 * The Effect metrics every cached primitive updates, tagged with
 * `primitive` (its name, or the store's namespace) and, for hits and tier
 * errors, `tier`.
 *
 * @since 0.1.0
 * @category stats
 */
export const metrics = {
  hits: internal.hitsTotal,
  misses: internal.missesTotal,
  coalesced: internal.coalescedTotal,
  evictions: internal.evictionsTotal,
  expirations: internal.expirationsTotal,
  tierErrors: internal.tierErrorsTotal,
  tierSkipped: internal.tierSkippedTotal,
  leaseTakeovers: internal.leaseTakeoversTotal,
  leasesLost: internal.leasesLostTotal,
  corrupt: internal.corruptTotal,
  costSaved: internal.costSavedTotal,
  timeSavedMillis: internal.timeSavedTotal
} as const

/**
 * The counters of a cached primitive or of a store namespace.
 *
 * @since 0.1.0
 * @category stats
 */
// `any`: a value of any type parameters: only the fields they share are read
export const stats: (cached: Cached<any, any, any, any>) => Effect.Effect<Stats, never, CacheTiers> = internal.stats

/**
 * Removes one input's entry from every tier.
 *
 * @since 0.1.0
 * @category invalidation
 */
export const invalidate: {
  <In>(input: In): <Out, E, R>(cached: Cached<In, Out, E, R>) => Effect.Effect<void, never, CacheTiers>
  <In, Out, E, R>(cached: Cached<In, Out, E, R>, input: In): Effect.Effect<void, never, CacheTiers>
} = internal.invalidate

/**
 * Removes every entry of a namespace (all versions) from every tier; Redis
 * by `SCAN`, never `KEYS`.
 *
 * @since 0.1.0
 * @category invalidation
 */
export const clear: (namespace: string) => Effect.Effect<void, never, CacheTiers> = internal.clear

/**
 * A keyed view over the configured tiers, for callers that choose their own
 * keys (a cached stream replays through it).
 *
 * @since 0.1.0
 * @category models
 */
export interface Store<A> {
  readonly namespace: string
  readonly version: string
  readonly get: (key: string) => Effect.Effect<Option.Option<A>>
  readonly set: (key: string, value: A, ttl?: Duration.DurationInput) => Effect.Effect<void>
  readonly invalidate: (key: string) => Effect.Effect<void>
  readonly getOrCompute: <E, R>(key: string, compute: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  readonly clear: Effect.Effect<void>
  readonly stats: Effect.Effect<Stats>
}

/**
 * Options of `makeStore`.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoreOptions<A, I> {
  readonly namespace: string
  readonly version?: string | number | undefined
  readonly schema: Schema.Schema<A, I, never>
  readonly ttl?: Duration.DurationInput | undefined
  readonly capacity?: number | undefined
  readonly tierTimeout?: Duration.DurationInput | undefined
  readonly lease?: boolean | undefined
  /** Used by `getOrCompute` for the cost saved. */
  readonly costPerCall?: number | undefined
}

/**
 * A keyed store over the configured tiers.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeStore: <A, I>(options: StoreOptions<A, I>) => Effect.Effect<Store<A>, never, CacheTiers> =
  internal.makeStore

/**
 * The default key function: a canonical encoding (object keys sorted,
 * `undefined` fields dropped; `Date`, `URL`, `RegExp`, `Map`, `Set`, typed
 * arrays, `ArrayBuffer`, `bigint` and Effect's data types — `Data.struct`,
 * `Data.Class`, `Option`, `Either`, `HashMap`, `HashSet`, `Chunk`, `List`,
 * `Duration`, `DateTime` — each tagged so it never collides with another
 * input; unordered collections without their order), hashed with SHA-256
 * beyond 200 characters (the shared tiers' form; inside a cached primitive
 * L1 keeps the text unhashed, so a hit never hashes). Throws {@link InvalidKey} for what it cannot
 * encode faithfully; a cached call fails with it instead.
 *
 * @since 0.1.0
 * @category keys
 */
export const defaultKey: (input: unknown) => string = key.defaultKey

/**
 * The guide's normalizer: lowercase, strip punctuation, collapse whitespace,
 * sort words. "What is Python?", "what is python" and "python what is" all
 * give "is python what".
 *
 * @since 0.1.0
 * @category keys
 */
export const normalizeText: (text: string) => string = key.normalizeText

/**
 * `normalizeText` as a key function for string inputs.
 *
 * @since 0.1.0
 * @category keys
 */
export const normalizedKey = (input: string): string => key.normalizeText(input)
