/**
 * The L1 store: a least-recently-used map with per-entry expiry and a hard
 * bound on entries, O(1) for get and set.
 *
 * Entries live in parallel arrays indexed by a slot number, linked into a
 * recency list through two `Uint32Array`s, with one `Map<string, slot>` for
 * lookup. Compared with a `Map` of entry objects re-inserted on every hit
 * (one delete + one set per hit), this costs one hash lookup per hit and no
 * allocation, and about half the memory per entry (see bench/cache.ts).
 *
 * @internal
 */

import * as Options from "./options.js"

const NIL = 0xFFFFFFFF

/** A copy of a typed array in a new one of the same type with `size` slots. */
const grown = <T extends Float64Array | Float32Array | Uint32Array>(array: T, size: number): T => {
  const copy = new (array.constructor as new(size: number) => T)(size)
  copy.set(array)
  return copy
}

/** @internal */
export interface Lru {
  readonly capacity: number
  readonly size: () => number
  /** The slot of a live entry (marking it most recently used), -1 when absent, -2 when expired (and now removed). */
  readonly lookup: (key: string, now: number) => number
  readonly valueAt: (slot: number) => unknown
  readonly expiresAt: (slot: number) => number
  readonly computeMsAt: (slot: number) => number
  /** What computing the entry cost (US dollars), counted as saved on each hit. */
  readonly costAt: (slot: number) => number
  /** Inserts or replaces; returns how many entries were evicted to make room (0 or 1). */
  readonly set: (key: string, value: unknown, expiresAt: number, computeMs: number, cost?: number) => number
  readonly delete: (key: string) => boolean
  readonly clear: () => void
  /** Keys from least to most recently used (tests and debugging). */
  readonly keys: () => Array<string>
  /** How many lookups found an expired entry since creation. */
  readonly expirations: () => number
}

/** @internal */
export const make = (capacity: number): Lru => {
  Options.number("Cache.memory", "capacity", capacity, { integer: true, min: 1, max: NIL - 1 })
  let allocated = Math.min(capacity, 64)
  let keys: Array<string | undefined> = new Array(allocated)
  let values: Array<unknown> = new Array(allocated)
  let expires = new Float64Array(allocated)
  let computeMs = new Float32Array(allocated)
  let costs = new Float64Array(allocated)
  let next = new Uint32Array(allocated)
  let prev = new Uint32Array(allocated)
  const index = new Map<string, number>()
  // Slots freed by `delete` are reused before fresh ones.
  const free: Array<number> = []
  let used = 0
  let head = NIL // least recently used
  let tail = NIL // most recently used
  let expired = 0

  const grow = () => {
    const size = Math.min(capacity, allocated * 2)
    const k = new Array<string | undefined>(size)
    const v = new Array<unknown>(size)
    for (let i = 0; i < allocated; i++) {
      k[i] = keys[i]
      v[i] = values[i]
    }
    keys = k
    values = v
    expires = grown(expires, size)
    computeMs = grown(computeMs, size)
    costs = grown(costs, size)
    next = grown(next, size)
    prev = grown(prev, size)
    allocated = size
  }

  const unlink = (slot: number) => {
    const p = prev[slot]!
    const n = next[slot]!
    if (p === NIL) head = n
    else next[p] = n
    if (n === NIL) tail = p
    else prev[n] = p
  }

  const append = (slot: number) => {
    prev[slot] = tail
    next[slot] = NIL
    if (tail === NIL) head = slot
    else next[tail] = slot
    tail = slot
  }

  const remove = (slot: number) => {
    unlink(slot)
    index.delete(keys[slot]!)
    keys[slot] = undefined
    values[slot] = undefined
    free.push(slot)
  }

  const lookup = (key: string, now: number): number => {
    const slot = index.get(key)
    if (slot === undefined) return -1
    if (expires[slot]! <= now) {
      expired++
      remove(slot)
      return -2
    }
    if (slot !== tail) {
      unlink(slot)
      append(slot)
    }
    return slot
  }

  const set = (key: string, value: unknown, expiresAt: number, ms: number, cost = 0): number => {
    const existing = index.get(key)
    let evicted = 0
    let slot: number
    if (existing !== undefined) {
      slot = existing
      if (slot !== tail) {
        unlink(slot)
        append(slot)
      }
    } else {
      if (index.size >= capacity) {
        remove(head)
        evicted = 1
      }
      if (free.length > 0) {
        slot = free.pop()!
      } else {
        if (used === allocated) grow()
        slot = used++
      }
      keys[slot] = key
      index.set(key, slot)
      append(slot)
    }
    values[slot] = value
    expires[slot] = expiresAt
    computeMs[slot] = ms
    costs[slot] = cost
    return evicted
  }

  return {
    capacity,
    size: () => index.size,
    lookup,
    valueAt: (slot) => values[slot],
    expiresAt: (slot) => expires[slot]!,
    computeMsAt: (slot) => computeMs[slot]!,
    costAt: (slot) => costs[slot]!,
    set,
    delete: (key) => {
      const slot = index.get(key)
      if (slot === undefined) return false
      remove(slot)
      return true
    },
    clear: () => {
      index.clear()
      keys = new Array(Math.min(capacity, 64))
      values = new Array(keys.length)
      allocated = keys.length
      expires = new Float64Array(allocated)
      computeMs = new Float32Array(allocated)
      costs = new Float64Array(allocated)
      next = new Uint32Array(allocated)
      prev = new Uint32Array(allocated)
      free.length = 0
      used = 0
      head = NIL
      tail = NIL
    },
    keys: () => {
      const out: Array<string> = []
      for (let slot = head; slot !== NIL; slot = next[slot]!) out.push(keys[slot]!)
      return out
    },
    expirations: () => expired
  }
}
