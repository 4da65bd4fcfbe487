/**
 * The public operations: `Cache.wrap`, `Cache.stats`, `Cache.invalidate`,
 * `Cache.clear` and the keyed store.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as Cache from "../Cache.js"
import * as Primitive from "../Primitive.js"
import * as WorkflowContext from "../WorkflowContext.js"
import { getOrCompute, l1Hit, miss } from "./cacheFlight.js"
import { defaultKey, keyOf as keyOrError } from "./cacheKey.js"
import * as Stats from "./cacheStats.js"
import {
  CachedFailure,
  type Config,
  guarded,
  lookupRemotes,
  makeConfig,
  namespacePrefix,
  remoteKey,
  type Runtime,
  type Store,
  storeId,
  storeOf,
  writeTiers
} from "./cacheStore.js"
import * as Tier from "./cacheTier.js"
import * as Options from "./options.js"
import { field } from "./primitive.js"
import * as Span from "./span.js"

/** @internal */
export const TypeId: unique symbol = Symbol.for("flowtune/Cache")

// The tag lives in the public module, which imports this one: it is read
// inside functions only, never while the modules are being evaluated.
const tiersTag = (): typeof Cache.CacheTiers => Cache.CacheTiers

// `any`: a cached primitive of any input type keeps its key function here.
interface CachedInfo {
  readonly namespace: string
  readonly version: string
  // `any`: a key function of any input: the public overloads check it
  readonly key: (input: any) => string
  readonly config: Config
}

// The public type declares the namespace, version and key under `TypeId`; the config rides along.
const Info = field<CachedInfo>(TypeId)
// Every `Cache.Cached` is built by `wrap`, with its info.
// `any`: a value of any type parameters: only the fields they share are read
const infoOf = (cached: Cache.Cached<any, any, any, any>): CachedInfo => Info.get(cached)!

/** @internal */
export const wrap = dual(
  (args) => Primitive.isPrimitive(args[0]),
  <In, Out, E, R>(
    self: Primitive.Primitive<In, Out, E, R>,
    // `any`: a key function of any input: the public overloads check it
    options: Cache.WrapOptions<In, Out, any> = {}
  ): Cache.Cached<In, Out, E, R> => {
    const owner = `cache(${self.name})`
    if (typeof options !== "object" || options === null) Options.invalidShape(owner, "options must be an object")
    const annotated = self.annotations.costPerCall
    const config = makeConfig(owner, {
      ...options,
      name: self.name,
      namespace: options.namespace === undefined ? self.name : options.namespace,
      costPerCall: typeof annotated === "number" && annotated >= 0 && Number.isFinite(annotated) ? annotated : 0
    })
    const keyOf: (input: In) => string = options.key === undefined
      ? defaultKey
      : Options.func(owner, "key", options.key)
    const checkpoints = Options.booleanOr(owner, "checkpoints", options.checkpoints, false)
    const tag = tiersTag()
    const name = `cache(${self.name})`
    // One-entry memo: almost every call sees the same layer, so the store lookup is skipped.
    let last: Store | undefined
    // Same for the clock: the default services change only under a test clock or `Effect.withClock`.
    let lastServices: Fiber.RuntimeFiber<unknown, unknown>["currentDefaultServices"] | undefined
    let clock: Clock.Clock | undefined
    const lookup = (fiber: Fiber.RuntimeFiber<unknown, unknown>, input: In): Effect.Effect<Out, E, R> => {
      const context = fiber.currentContext as Context.Context<Cache.CacheTiers>
      const runtime = Context.unsafeGet(context, tag).runtime
      const store = last !== undefined && last.runtime === runtime ? last : (last = storeOf(runtime, config))
      if (store.missingSchema) {
        // `E`: the public type adds `MissingSchema` when no schema is given (see Cache.wrap).
        return Effect.fail(
          new Cache.MissingSchema({ primitive: self.name, tiers: runtime.remotes.map((t) => t.name) }) as E
        )
      }
      // An input the default key cannot encode faithfully fails the call (Cache.InvalidKey).
      const key = keyOrError(keyOf, input)
      if (typeof key !== "string") return Effect.fail(key as unknown as E) // the type says `E | InvalidKey`: see Cache.wrap
      const services = fiber.currentDefaultServices
      if (services !== lastServices) {
        lastServices = services
        clock = Context.get(services, Clock.Clock)
      }
      const inRun = checkpoints && context.unsafeMap.has(WorkflowContext.WorkflowContext.key)
      return l1Hit<Out, E>(store, key, clock!.unsafeCurrentTimeMillis(), inRun) ??
        miss(store, key, () => self.run(input))
    }
    const info: CachedInfo = { namespace: config.namespace, version: config.version, key: keyOf, config }
    // A wrapper (kind "cache", one child), built in one call: the hit path is the
    // run hook itself, in the same runloop step as the tracer check.
    const cached = Primitive.makeWith<In, Out, E, R | Cache.CacheTiers>({
      name,
      kind: "cache",
      children: [self],
      fields: Info.of(info),
      run: (input, fiber) => lookup(fiber, input)
    })
    return cached as unknown as Cache.Cached<In, Out, E, R>
  }
)

/** A span per public operation, skipped entirely when tracing is off (store operations sit on hot paths). */
const traced = <A, E, R>(effect: Effect.Effect<A, E, R>, name: string, namespace: string): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime<A, E, R>((fiber) =>
    fiber.getFiberRef(FiberRef.currentTracerEnabled)
      ? Span.withSpan(fiber, effect, name, {
        attributes: { "flowtune.cache.namespace": namespace },
        captureStackTrace: false
      })
      : effect
  )

const withRuntime = <A>(f: (runtime: Runtime) => Effect.Effect<A>): Effect.Effect<A, never, Cache.CacheTiers> =>
  Effect.flatMap(tiersTag(), (tiers) => f(tiers.runtime))

/** @internal */
// `any`: a value of any type parameters: only the fields they share are read
export const stats = (cached: Cache.Cached<any, any, any, any>): Effect.Effect<Cache.Stats, never, Cache.CacheTiers> =>
  withRuntime((runtime) =>
    Effect.sync(() => {
      const state = runtime.stores.get(infoOf(cached).config.prefix)
      return Stats.snapshot(runtime.names, state, state?.lru?.size() ?? 0)
    })
  )

const invalidateKey = (s: Store, key: string): Effect.Effect<void> =>
  Effect.suspend(() => {
    s.state.lru?.delete(key)
    // Each tier on its own budget: an invalidation is not a cached call.
    return Effect.forEach(
      s.runtime.remotes,
      (tier, i) =>
        guarded(
          s,
          Tier.makeBudget(s.runtime, s.config.tierTimeoutMs),
          i,
          "delete",
          tier.delete(remoteKey(s, key)),
          undefined
        ),
      { concurrency: "unbounded", discard: true }
    )
  })

/** @internal */
export const invalidate = dual(
  2,
  // `any`: a value of any type parameters: only the fields they share are read
  (cached: Cache.Cached<any, any, any, any>, input: unknown): Effect.Effect<void, never, Cache.CacheTiers> => {
    const info = infoOf(cached)
    return withRuntime((runtime) =>
      traced(
        Effect.suspend(() => {
          // An input with no key was never cached: nothing to invalidate.
          const key = keyOrError(info.key, input)
          return typeof key === "string" ? invalidateKey(storeOf(runtime, info.config), key) : Effect.void
        }),
        "Cache.invalidate",
        info.namespace
      )
    )
  }
)

const clearNamespace = (runtime: Runtime, namespace: string, version?: string): Effect.Effect<void> =>
  Effect.suspend(() => {
    const prefix = version === undefined ? namespacePrefix(namespace) : storeId(namespace, version)
    for (const state of runtime.stores.values()) {
      if (state.prefix.startsWith(prefix)) state.lru?.clear()
    }
    return Effect.forEach(
      runtime.remotes,
      (tier) =>
        tier.clear(prefix).pipe(
          Effect.interruptible,
          Effect.timeout(Duration.max(tier.timeout, Duration.seconds(30))),
          Effect.catchAllCause((cause) => Effect.logWarning(`flowtune cache: clearing tier ${tier.name} failed`, cause))
        ),
      { concurrency: "unbounded", discard: true }
    )
  })

/** @internal */
export const clear = (namespace: string): Effect.Effect<void, never, Cache.CacheTiers> =>
  traced(withRuntime((runtime) => clearNamespace(runtime, namespace)), "Cache.clear", namespace)

/** @internal */
export const makeStore = <A, I>(
  options: Cache.StoreOptions<A, I>
): Effect.Effect<Cache.Store<A>, never, Cache.CacheTiers> => {
  // Checked at the call, like every constructor's options.
  const owner = `Cache.makeStore(${Options.show(options?.namespace)})`
  if (typeof options !== "object" || options === null) Options.invalidShape(owner, "options must be an object")
  if (options.schema === undefined) Options.invalid(owner, "schema", "a Schema", options.schema)
  const config = makeConfig(owner, { ...options, name: String(options.namespace) })
  return withRuntime((runtime) =>
    Effect.sync(() => {
      const s = storeOf(runtime, config)
      const get = (key: string): Effect.Effect<Option.Option<A>> =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const lru = s.state.lru
          if (lru !== undefined) {
            const slot = lru.lookup(key, now)
            if (slot >= 0) {
              const value = lru.valueAt(slot)
              if (!(value instanceof CachedFailure)) {
                Stats.hit(s.state, 0, lru.computeMsAt(slot), lru.costAt(slot))
                return Effect.succeed(Option.some(value as A))
              }
            } else if (slot === -2) {
              Stats.expired(s.state)
            }
          }
          return Effect.map(lookupRemotes(s, Tier.makeBudget(runtime, config.tierTimeoutMs), key), (found) => {
            if (found !== undefined) return Option.some(found.value as A)
            Stats.miss(s.state)
            return Option.none()
          })
        })
      const set = (key: string, value: A, ttl?: Duration.DurationInput): Effect.Effect<void> =>
        Effect.suspend(() => {
          const ttlMs = ttl === undefined
            ? config.ttlMs
            : Duration.toMillis(Options.duration(`${owner}.set`, "ttl", ttl, { infinite: true }))
          return Effect.flatMap(Clock.currentTimeMillis, (now) =>
            writeTiers(
              s,
              Tier.makeBudget(runtime, config.tierTimeoutMs),
              key,
              value,
              now + ttlMs,
              0,
              0,
              now,
              runtime.remotes.length
            ))
        })
      const store: Cache.Store<A> = {
        namespace: config.namespace,
        version: config.version,
        get: (key) => traced(get(key), "Cache.get", config.namespace),
        set: (key, value, ttl) => traced(set(key, value, ttl), "Cache.set", config.namespace),
        invalidate: (key) => traced(invalidateKey(s, key), "Cache.invalidate", config.namespace),
        getOrCompute: (key, compute) =>
          Effect.withFiberRuntime((fiber) =>
            getOrCompute(
              s,
              key,
              () => compute,
              Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis(),
              false
            )
          ),
        clear: traced(clearNamespace(runtime, config.namespace, config.version), "Cache.clear", config.namespace),
        stats: Effect.sync(() => Stats.snapshot(runtime.names, s.state, s.state.lru?.size() ?? 0))
      }
      return store
    })
  )
}
