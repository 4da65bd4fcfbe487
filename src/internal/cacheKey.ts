import { hash as cryptoHash } from "node:crypto"

/**
 * A canonical text for any JSON-like input: object keys sorted, so
 * `{ a: 1, b: 2 }` and `{ b: 2, a: 1 }` encode the same; `undefined` fields
 * dropped as JSON does; Dates, bigints, Maps and Sets given a tagged form so
 * they never collide with a string that looks like them.
 *
 * @internal
 */
export const canonical = (u: unknown): string => {
  switch (typeof u) {
    case "string":
      return JSON.stringify(u)
    case "number":
      return Number.isFinite(u) ? String(u) : `#${String(u)}`
    case "boolean":
      return u ? "true" : "false"
    case "bigint":
      return `${u}n`
    case "undefined":
      return "#undefined"
    case "object": {
      if (u === null) return "null"
      if (Array.isArray(u)) {
        let out = "["
        for (let i = 0; i < u.length; i++) out += (i === 0 ? "" : ",") + canonical(u[i])
        return out + "]"
      }
      if (u instanceof Date) return `#date(${u.getTime()})`
      if (u instanceof Map) {
        const entries = Array.from(u.entries(), ([k, v]) => `${canonical(k)}=>${canonical(v)}`).sort()
        return `#map{${entries.join(",")}}`
      }
      if (u instanceof Set) return `#set[${Array.from(u, canonical).sort().join(",")}]`
      const keys = Object.keys(u).sort()
      let out = "{"
      let first = true
      for (const key of keys) {
        const value = (u as Record<string, unknown>)[key]
        if (value === undefined) continue
        out += (first ? "" : ",") + JSON.stringify(key) + ":" + canonical(value)
        first = false
      }
      return out + "}"
    }
    default:
      // Functions and symbols have no stable identity across processes.
      throw new TypeError(`cannot derive a cache key from a ${typeof u}`)
  }
}

/** Keys longer than this are replaced by their SHA-256, so every tier sees bounded keys. @internal */
export const maxKeyLength = 200

/** @internal */
export const bound = (key: string): string =>
  key.length <= maxKeyLength ? key : `#sha256:${cryptoHash("sha256", key, "base64url")}`

/**
 * A string input is its own key (a hit then hashes nothing: the engine keeps
 * a string's hash, and JSON-encoding it cost ~7x an `lru-cache` get in
 * bench/cache.ts). Every other input is "~" + its canonical encoding, which
 * never starts with "~"; a string that does is escaped with a second "~", so
 * "1" and 1 never share a key.
 *
 * @internal
 */
export const defaultKey = (input: unknown): string => {
  if (typeof input === "string") {
    return input.length <= maxKeyLength && input.charCodeAt(0) !== 126
      ? input
      : bound(input.charCodeAt(0) === 126 ? `~${input}` : input)
  }
  return bound(`~${canonical(input)}`)
}

const punctuation = /[^\p{L}\p{N}_\s]/gu
const whitespace = /\s+/u

/**
 * The guide's normalizer: lowercase, strip punctuation, collapse whitespace,
 * sort the words.
 *
 * @internal
 */
export const normalizeText = (text: string): string =>
  text.toLowerCase().replace(punctuation, "").split(whitespace).filter((w) => w.length > 0).sort().join(" ")
