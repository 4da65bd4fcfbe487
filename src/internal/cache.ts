/**
 * The cache's implementation, by concern:
 * - `cacheWrap.ts`: the public operations (`wrap`, `stats`, `invalidate`, `clear`, the keyed store);
 * - `cacheFlight.ts`: one call's path (L1, single-flight, shared tiers, compute);
 * - `cacheLease.ts`: the cross-process lease;
 * - `cacheStore.ts`: one store's configuration and state, tier reads and writes, computing an entry;
 * - `cacheTier.ts`: shared-tier operations on a per-call budget, the circuit breaker per tier;
 * - `cachePayload.ts`: the shared-tier entry format; `cacheStats.ts`: counters and metrics;
 * - `cacheLru.ts`: the L1; `cacheKey.ts`: the default key.
 *
 * This file builds the `CacheTiers` service.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Cache from "../Cache.js"
import type { Runtime } from "./cacheStore.js"
import * as Options from "./options.js"

export {
  coalescedTotal,
  corruptTotal,
  costSavedTotal,
  evictionsTotal,
  expirationsTotal,
  hitsTotal,
  leasesLostTotal,
  leaseTakeoversTotal,
  missesTotal,
  tierErrorsTotal,
  tierSkippedTotal,
  timeSavedTotal
} from "./cacheStats.js"
export type { Runtime } from "./cacheStore.js"
export { clear, invalidate, makeStore, stats, TypeId, wrap } from "./cacheWrap.js"

/** @internal */
export const memory = (options: { readonly capacity?: number | undefined } = {}): Effect.Effect<Cache.MemoryTier> => {
  // Checked when the tier is described, not when the layer is built: the error points at the call.
  const capacity = options.capacity === undefined
    ? 10_000
    : Options.number("Cache.memory", "capacity", options.capacity, { integer: true, min: 1, max: 0xFFFFFFFE })
  return Effect.succeed({ _tag: "Memory", name: "memory", capacity })
}

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
      breakers: remotes.map(() => ({ open: false, openedAt: 0, outages: 0 })),
      probeFirst: Duration.millis(100),
      probeMax: Duration.seconds(2),
      stores: new Map()
    }
    // Leave no computation running once the layer is gone. The computations
    // run in fibers of their own, in no scope (a scope per call is what a miss
    // cannot afford: see `cacheFlight.ts`): this one finalizer interrupts
    // those still in flight, and waits for them.
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        const fibers: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
        for (const state of runtime.stores.values()) {
          for (const flight of state.inflight.values()) if (flight.fiber !== undefined) fibers.push(flight.fiber)
        }
        return Fiber.interruptAll(fibers)
      })
    )
    return { tiers, runtime }
  })

/** @internal */
// `any`: a tier constructor's error and requirements flow into the layer's own type
export const layer = (...tiers: ReadonlyArray<Effect.Effect<Cache.Tier, any, any>>) =>
  Layer.scoped(
    tiersTag(),
    Effect.flatMap(Effect.all(tiers), makeTiers)
  )

// The tag lives in the public module, which imports this one: it is read
// inside functions only, never while the modules are being evaluated.
const tiersTag = (): typeof Cache.CacheTiers => Cache.CacheTiers
