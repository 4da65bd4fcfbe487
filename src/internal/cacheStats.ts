/**
 * The cache's counters and Effect metrics: what `Cache.stats` reports per
 * cached primitive (or store) and what `Cache.metrics` exports.
 *
 * Counters are plain fields on the store's state, updated synchronously on
 * the hit path (a metric update through `unsafeUpdate` with pre-built label
 * arrays costs no Effect step).
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Metric from "effect/Metric"
import type * as MetricHook from "effect/MetricHook"
import * as MetricKey from "effect/MetricKey"
import * as MetricLabel from "effect/MetricLabel"
import type * as Cache from "../Cache.js"

const hitsKey = MetricKey.counter("flowtune_cache_hits", { description: "Cache hits, by primitive and tier" })
const costSavedKey = MetricKey.counter("flowtune_cache_cost_saved", {
  description: "US dollars not spent thanks to the cache"
})
const timeSavedKey = MetricKey.counter("flowtune_cache_time_saved_ms", {
  description: "Milliseconds of computation not repeated thanks to the cache"
})

/** @internal */
export const hitsTotal = Metric.fromMetricKey(hitsKey)
const missesKey = MetricKey.counter("flowtune_cache_misses", { description: "Cache misses that computed" })
const coalescedKey = MetricKey.counter("flowtune_cache_coalesced", {
  description: "Calls that joined an identical computation already in flight"
})
/** @internal */
export const missesTotal = Metric.fromMetricKey(missesKey)
/** @internal */
export const coalescedTotal = Metric.fromMetricKey(coalescedKey)
const evictionsKey = MetricKey.counter("flowtune_cache_evictions", { description: "L1 entries evicted (LRU)" })
/** @internal */
export const evictionsTotal = Metric.fromMetricKey(evictionsKey)
/** @internal */
export const expirationsTotal = Metric.counter("flowtune_cache_expirations", { description: "Entries found expired" })
/** @internal */
export const tierErrorsTotal = Metric.counter("flowtune_cache_tier_errors", {
  description: "Failed or timed-out tier operations, by tier"
})
/** @internal */
export const tierSkippedTotal = Metric.counter("flowtune_cache_tier_skipped", {
  description: "Tier operations skipped, by tier: circuit open, or the call's tier time used up"
})
/** @internal */
export const corruptTotal = Metric.counter("flowtune_cache_corrupt", { description: "Undecodable shared-tier entries" })
/** @internal */
export const leaseTakeoversTotal = Metric.counter("flowtune_cache_lease_takeovers", {
  description: "Waiters that stopped waiting on a lease past their lease time and computed"
})
/** @internal */
export const leasesLostTotal = Metric.counter("flowtune_cache_leases_lost", {
  description: "Holders whose lease renewal found the lease gone or taken"
})
/** @internal */
export const costSavedTotal = Metric.fromMetricKey(costSavedKey)
/** @internal */
export const timeSavedTotal = Metric.fromMetricKey(timeSavedKey)

/** @internal */
export interface Counters {
  readonly hits: Array<number>
  misses: number
  coalesced: number
  evictions: number
  expirations: number
  readonly tierErrors: Array<number>
  readonly tierSkipped: Array<number>
  corrupt: number
  leaseTakeovers: number
  leasesLost: number
  timeSavedMs: number
  costSaved: number
}

/** What a store's counters need: its tier names and its metric labels. @internal */
export interface Counted {
  readonly counters: Counters
  /** Metric labels, one array per tier (same reference every time keeps Effect's hook cache warm). */
  readonly tierLabels: ReadonlyArray<ReadonlyArray<MetricLabel.MetricLabel>>
  readonly labels: ReadonlyArray<MetricLabel.MetricLabel>
  /** The hit and miss paths' metrics, resolved once: a call updates them with no lookup. */
  readonly hooks: {
    readonly hits: ReadonlyArray<MetricHook.MetricHook.Counter<number>>
    readonly misses: MetricHook.MetricHook.Counter<number>
    readonly coalesced: MetricHook.MetricHook.Counter<number>
    readonly timeSaved: MetricHook.MetricHook.Counter<number>
    readonly costSaved: MetricHook.MetricHook.Counter<number>
    /** Resolved on the first eviction (a full L1 evicts on every miss; a store that never fills has no series). */
    evictions: MetricHook.MetricHook.Counter<number> | undefined
  }
}

// The hook `Metric.unsafeUpdate` would find for these labels (the same object, from the same registry).
const hookOf = (key: MetricKey.MetricKey.Counter<number>, labels: ReadonlyArray<MetricLabel.MetricLabel>) =>
  Metric.globalMetricRegistry.get(MetricKey.taggedWithLabels(key, labels))

/** @internal */
export const makeCounted = (name: string, tierNames: ReadonlyArray<string>): Counted => {
  const base = [MetricLabel.make("primitive", name)]
  const tierLabels = tierNames.map((tier) => [...base, MetricLabel.make("tier", tier)])
  return {
    counters: {
      hits: tierNames.map(() => 0),
      misses: 0,
      coalesced: 0,
      evictions: 0,
      expirations: 0,
      tierErrors: tierNames.map(() => 0),
      tierSkipped: tierNames.map(() => 0),
      corrupt: 0,
      leaseTakeovers: 0,
      leasesLost: 0,
      timeSavedMs: 0,
      costSaved: 0
    },
    tierLabels,
    labels: base,
    hooks: {
      hits: tierLabels.map((labels) => hookOf(hitsKey, labels)),
      misses: hookOf(missesKey, base),
      coalesced: hookOf(coalescedKey, base),
      timeSaved: hookOf(timeSavedKey, base),
      costSaved: hookOf(costSavedKey, base),
      evictions: undefined
    }
  }
}

/** A hit in tier `tier` (index in the tier names): the entry's own compute time and cost are saved. @internal */
export const hit = (s: Counted, tier: number, computeMs: number, cost: number) => {
  const c = s.counters
  c.hits[tier]!++
  c.timeSavedMs += computeMs
  c.costSaved += cost
  s.hooks.hits[tier]!.update(1)
  if (computeMs > 0) s.hooks.timeSaved.update(computeMs)
  if (cost > 0) s.hooks.costSaved.update(cost)
}

/** @internal */
export const miss = (s: Counted) => {
  s.counters.misses++
  s.hooks.misses.update(1)
}

/** @internal */
export const coalesced = (s: Counted) => {
  s.counters.coalesced++
  s.hooks.coalesced.update(1)
}

/** A coalesced call's saving, known once the computation it joined has finished. @internal */
export const saved = (s: Counted, cost: number) => {
  if (cost <= 0) return
  s.counters.costSaved += cost
  s.hooks.costSaved.update(cost)
}

/** @internal */
export const expired = (s: Counted) => {
  s.counters.expirations++
  expirationsTotal.unsafeUpdate(1, s.labels)
}

/** @internal */
export const evicted = (s: Counted, n: number) => {
  if (n === 0) return
  s.counters.evictions += n
  s.hooks.evictions ??= hookOf(evictionsKey, s.labels)
  s.hooks.evictions.update(n)
}

/** @internal */
export const tierError = (s: Counted, tier: number) => {
  s.counters.tierErrors[tier]!++
  tierErrorsTotal.unsafeUpdate(1, s.tierLabels[tier]!)
}

/** @internal */
export const tierSkipped = (s: Counted, tier: number) => {
  s.counters.tierSkipped[tier]!++
  tierSkippedTotal.unsafeUpdate(1, s.tierLabels[tier]!)
}

/** @internal */
export const corrupt = (s: Counted, tier: number) => {
  s.counters.corrupt++
  corruptTotal.unsafeUpdate(1, s.tierLabels[tier]!)
}

/** @internal */
export const leaseTakeover = (s: Counted) => {
  s.counters.leaseTakeovers++
  leaseTakeoversTotal.unsafeUpdate(1, s.labels)
}

/** @internal */
export const leaseLost = (s: Counted) => {
  s.counters.leasesLost++
  leasesLostTotal.unsafeUpdate(1, s.labels)
}

/** The public snapshot; `names` are the tier names (memory first when present). @internal */
export const snapshot = (names: ReadonlyArray<string>, s: Counted | undefined, size: number): Cache.Stats => {
  const hits: Record<string, number> = {}
  const tierErrors: Record<string, number> = {}
  const tierSkipped: Record<string, number> = {}
  let totalHits = 0
  names.forEach((name, i) => {
    const h = s?.counters.hits[i] ?? 0
    hits[name] = (hits[name] ?? 0) + h
    totalHits += h
    tierErrors[name] = (tierErrors[name] ?? 0) + (s?.counters.tierErrors[i] ?? 0)
    tierSkipped[name] = (tierSkipped[name] ?? 0) + (s?.counters.tierSkipped[i] ?? 0)
  })
  const c = s?.counters
  const calls = totalHits + (c?.misses ?? 0) + (c?.coalesced ?? 0)
  return {
    hits,
    misses: c?.misses ?? 0,
    coalesced: c?.coalesced ?? 0,
    hitRate: calls === 0 ? 0 : totalHits / calls,
    evictions: c?.evictions ?? 0,
    expirations: c?.expirations ?? 0,
    tierErrors,
    tierSkipped,
    corrupt: c?.corrupt ?? 0,
    leaseTakeovers: c?.leaseTakeovers ?? 0,
    leasesLost: c?.leasesLost ?? 0,
    timeSaved: Duration.millis(c?.timeSavedMs ?? 0),
    costSaved: c?.costSaved ?? 0,
    size
  }
}
