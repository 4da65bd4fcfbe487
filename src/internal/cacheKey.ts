/**
 * The default cache key: a canonical text for an input, or a typed refusal.
 *
 * Two inputs get one key only when they are the same data: object keys are
 * sorted (`{ a, b }` and `{ b, a }` agree), `Map`/`Set`/`HashMap`/`HashSet`
 * are compared without their order, `undefined` object fields are dropped as
 * JSON drops them, and array holes read as `undefined`. Everything else is
 * tagged so it can never collide with a string or a plain object that looks
 * like it. What cannot be encoded faithfully (functions, symbols, secrets,
 * class instances without a declared encoding, cycles, nesting deeper than
 * {@link maxDepth}) is refused with {@link InvalidKey}, naming the path.
 *
 * The walk is recursive but bounded by {@link maxDepth}, so a 20,000-deep
 * array is refused, never a stack overflow. Paths are only built on the way
 * out of a refusal, so a successful encoding pays nothing for them.
 *
 * @internal
 */
import * as BigDecimal from "effect/BigDecimal"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Equal from "effect/Equal"
import * as HashMap from "effect/HashMap"
import * as HashSet from "effect/HashSet"
import * as List from "effect/List"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { hash as cryptoHash } from "node:crypto"

/**
 * A class declares its cache key with a method under this symbol, returning
 * any value the default key can encode (often a string id or a plain
 * object). The class name is part of the key, so two classes never share one.
 *
 * @internal
 */
export const keyEncoding: unique symbol = Symbol.for("flowtune/cacheKey")

/** Nesting deeper than this is refused (real inputs are far shallower; the bound keeps the walk off the stack limit). @internal */
export const maxDepth = 256

/**
 * The default key function cannot encode an input faithfully. `path` names
 * the offending part (`input.items[3].url`), `reason` says why and what to do.
 *
 * @internal
 */
export class InvalidKey extends Data.TaggedError("InvalidKey")<{
  readonly path: string
  readonly reason: string
}> {
  override get message() {
    return `cannot derive a cache key: ${this.path}: ${this.reason}`
  }
}

// A refusal on its way out: each container it passes through adds its segment
// and the object itself (the objects let a depth overflow be told from a cycle).
class Refusal {
  readonly segments: Array<string> = []
  readonly objects: Array<unknown> = []
  constructor(readonly reason: string, readonly tooDeep: boolean) {}
}

const through = (error: unknown, segment: string, object: unknown): never => {
  if (error instanceof Refusal) {
    error.segments.push(segment)
    error.objects.push(object)
  }
  throw error
}

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/
const prop = (key: string) => identifier.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`

const showPath = (segments: ReadonlyArray<string>): string => {
  if (segments.length <= 16) return `input${segments.join("")}`
  const hidden = segments.length - 12
  return `input${segments.slice(0, 6).join("")}…(${hidden} more)…${segments.slice(-6).join("")}`
}

const toInvalidKey = (refusal: Refusal): InvalidKey => {
  // Collected innermost first.
  const segments = refusal.segments.slice().reverse()
  const objects = refusal.objects.slice().reverse()
  if (refusal.tooDeep) {
    for (let j = 1; j < objects.length; j++) {
      const i = objects.indexOf(objects[j])
      if (i < j) {
        return new InvalidKey({
          path: showPath(segments.slice(0, j)),
          reason: `a cycle: this refers back to ${showPath(segments.slice(0, i))}; pass a \`key\` option`
        })
      }
    }
  }
  return new InvalidKey({ path: showPath(segments), reason: refusal.reason })
}

const hexDigits = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))
const hex = (bytes: Uint8Array): string => {
  let out = ""
  for (let i = 0; i < bytes.length; i++) out += hexDigits[bytes[i]!]
  return out
}

const className = (u: object): string => {
  const ctor = (u as { readonly constructor?: { readonly name?: unknown } }).constructor
  return typeof ctor?.name === "string" && ctor.name.length > 0 ? ctor.name : Object.prototype.toString.call(u)
}

const encodeObjectFields = (u: object, depth: number): string => {
  const keys = Object.keys(u).sort()
  let out = "{"
  let first = true
  let key = ""
  try {
    for (key of keys) {
      const value = (u as Record<string, unknown>)[key]
      if (value === undefined) continue
      out += (first ? "" : ",") + JSON.stringify(key) + ":" + encode(value, depth)
      first = false
    }
  } catch (error) {
    through(error, prop(key), u)
  }
  return out + "}"
}

const encodeSequence = (items: Iterable<unknown>, depth: number, owner: object, segment: (i: number) => string) => {
  const parts: Array<string> = []
  let i = 0
  try {
    for (const item of items) {
      parts.push(encode(item, depth))
      i++
    }
  } catch (error) {
    through(error, segment(i), owner)
  }
  return parts
}

const encodeEntries = (
  entries: Iterable<readonly [unknown, unknown]>,
  depth: number,
  owner: object,
  label: string
): string => {
  const parts: Array<string> = []
  let i = 0
  let side = "key"
  try {
    for (const [k, v] of entries) {
      side = "key"
      const key = encode(k, depth)
      side = "value"
      parts.push(`${key}=>${encode(v, depth)}`)
      i++
    }
  } catch (error) {
    through(error, `<${label} entry ${i} ${side}>`, owner)
  }
  // Unordered: two maps with the same entries agree whatever their insertion order.
  return parts.sort().join(",")
}

const encodeInner = (u: unknown, depth: number, owner: object, segment: string): string => {
  try {
    return encode(u, depth)
  } catch (error) {
    return through(error, segment, owner)
  }
}

const encodeObject = (u: object, depth: number): string => {
  if (depth > maxDepth) throw new Refusal(`nested deeper than ${maxDepth} levels; pass a \`key\` option`, true)
  const next = depth + 1
  if (Array.isArray(u)) {
    let out = "["
    let i = 0
    try {
      for (; i < u.length; i++) out += (i === 0 ? "" : ",") + encode(u[i], next)
    } catch (error) {
      through(error, `[${i}]`, u)
    }
    return out + "]"
  }
  const proto = Object.getPrototypeOf(u)
  if (proto === Object.prototype || proto === null) return encodeObjectFields(u, next)
  const declared = (u as { readonly [keyEncoding]?: unknown })[keyEncoding]
  if (typeof declared === "function") {
    return `#enc${JSON.stringify(className(u))}(${
      encodeInner((declared as () => unknown).call(u), next, u, "[keyEncoding]()")
    })`
  }
  if (u instanceof Date) return `#date(${u.getTime()})`
  if (u instanceof URL) return `#url(${JSON.stringify(u.href)})`
  if (u instanceof RegExp) return `#regexp(${JSON.stringify(u.source)},${JSON.stringify(u.flags)})`
  if (u instanceof Map) return `#map{${encodeEntries(u, next, u, "Map")}}`
  if (u instanceof Set) {
    return `#set[${encodeSequence(u, next, u, (i) => `<Set element ${i}>`).sort().join(",")}]`
  }
  if (ArrayBuffer.isView(u)) {
    const bytes = new Uint8Array(u.buffer, u.byteOffset, u.byteLength)
    // Buffer reads as Uint8Array: same bytes, same data.
    return `#${Object.prototype.toString.call(u).slice(8, -1)}(${hex(bytes)})`
  }
  if (u instanceof ArrayBuffer) return `#ArrayBuffer(${hex(new Uint8Array(u))})`
  if (typeof SharedArrayBuffer !== "undefined" && u instanceof SharedArrayBuffer) {
    return `#SharedArrayBuffer(${hex(new Uint8Array(u))})`
  }
  if (Redacted.isRedacted(u)) {
    throw new Refusal("a Redacted secret would be written into the key; key on a non-secret id instead", false)
  }
  if (Option.isOption(u)) return Option.isSome(u) ? `#some(${encodeInner(u.value, next, u, ".value")})` : "#none"
  if (Either.isEither(u)) {
    return Either.isRight(u)
      ? `#right(${encodeInner(u.right, next, u, ".right")})`
      : `#left(${encodeInner(u.left, next, u, ".left")})`
  }
  if (Duration.isDuration(u)) {
    return Duration.isFinite(u) ? `#duration(${Duration.toNanos(u).pipe(Option.getOrThrow)})` : "#duration(inf)"
  }
  if (DateTime.isDateTime(u)) {
    return DateTime.isZoned(u)
      ? `#datetime(${DateTime.toEpochMillis(u)},${JSON.stringify(DateTime.zoneToString(u.zone))})`
      : `#datetime(${DateTime.toEpochMillis(u)})`
  }
  if (BigDecimal.isBigDecimal(u)) return `#bigdecimal(${BigDecimal.format(BigDecimal.normalize(u))})`
  if (HashMap.isHashMap(u)) return `#hashmap{${encodeEntries(u, next, u, "HashMap")}}`
  if (HashSet.isHashSet(u)) {
    return `#hashset[${encodeSequence(u, next, u, (i) => `<HashSet element ${i}>`).sort().join(",")}]`
  }
  if (Chunk.isChunk(u)) return `#chunk[${encodeSequence(u, next, u, (i) => `<Chunk element ${i}>`).join(",")}]`
  if (List.isList(u)) return `#list[${encodeSequence(u, next, u, (i) => `<List element ${i}>`).join(",")}]`
  // Effect's Data values (Data.struct, Data.Class, Data.TaggedError, Schema.Class)
  // are equal when their own fields are: the fields, with the class name, are the key.
  if (Equal.isEqual(u)) return `#eq${JSON.stringify(className(u))}${encodeObjectFields(u, next)}`
  throw new Refusal(
    `a ${className(u)} instance has no declared encoding; give its class a ` +
      "[Symbol.for(\"flowtune/cacheKey\")]() method (Cache.keyEncoding) or pass a `key` option",
    false
  )
}

const encode = (u: unknown, depth: number): string => {
  switch (typeof u) {
    case "string":
      return JSON.stringify(u)
    case "number":
      return Number.isFinite(u) ? (Object.is(u, -0) ? "-0" : String(u)) : `#${String(u)}`
    case "boolean":
      return u ? "true" : "false"
    case "bigint":
      return `${u}n`
    case "undefined":
      return "#undefined"
    case "object":
      return u === null ? "null" : encodeObject(u, depth)
    case "function":
      throw new Refusal("a function has no stable identity across processes; pass a `key` option", false)
    case "symbol":
      throw new Refusal("a symbol has no stable identity across processes; pass a `key` option", false)
  }
}

/**
 * The canonical text of an input, or the refusal. Never throws (a cyclic
 * getter that throws something else is a bug in the input, rethrown).
 *
 * @internal
 */
export const canonicalOrError = (u: unknown): string | InvalidKey => {
  try {
    return encode(u, 0)
  } catch (error) {
    if (error instanceof Refusal) return toInvalidKey(error)
    throw error
  }
}

/**
 * The canonical text of an input; throws {@link InvalidKey}.
 *
 * @internal
 */
export const canonical = (u: unknown): string => {
  const text = canonicalOrError(u)
  if (typeof text === "string") return text
  throw text
}

/** Keys longer than this are replaced by their SHA-256, so every tier sees bounded keys. @internal */
export const maxKeyLength = 200

/** The one hash of the library: SHA-256, base64url. @internal */
export const sha256 = (text: string): string => cryptoHash("sha256", text, "base64url")

/** @internal */
export const bound = (key: string): string => key.length <= maxKeyLength ? key : `#sha256:${sha256(key)}`

/**
 * The full text of an input's key, never hashed: what L1 and the in-process
 * single-flight are keyed on, so a hit hashes nothing whatever the key's
 * length (SHA-256 of a 275-character key was half the cost of a hit in
 * bench/cache.ts). The shared tiers see `bound` of it (see `remoteKey` in
 * cacheStore.ts).
 *
 * A string input is its own key (the engine keeps a string's hash, and
 * JSON-encoding it cost ~7x an `lru-cache` get). Every other input is "~" +
 * its canonical encoding, which never starts with "~"; a string that does is
 * escaped with a second "~", so "1" and 1 never share a key.
 *
 * @internal
 */
export const rawKeyOrError = (input: unknown): string | InvalidKey => {
  if (typeof input === "string") return input.charCodeAt(0) === 126 ? `~${input}` : input
  const text = canonicalOrError(input)
  return typeof text === "string" ? `~${text}` : text
}

/**
 * {@link rawKeyOrError}, bounded: the key as the shared tiers see it.
 *
 * @internal
 */
export const defaultKeyOrError = (input: unknown): string | InvalidKey => {
  const key = rawKeyOrError(input)
  return typeof key === "string" ? bound(key) : key
}

/**
 * {@link defaultKeyOrError} as a key function: throws {@link InvalidKey}.
 * The cache catches it and fails the call with it (see `keyOf`).
 *
 * @internal
 */
export const defaultKey = (input: unknown): string => {
  const key = defaultKeyOrError(input)
  if (typeof key === "string") return key
  throw key
}

/**
 * The L1 key of an input: runs a key function, turning an {@link InvalidKey}
 * it throws into a value so the cached call can fail with it (any other
 * throw is a bug: rethrown). For the default key, the unbounded text
 * ({@link rawKeyOrError}): the shared tiers bound it themselves.
 *
 * @internal
 */
export const keyOf = <In>(key: (input: In) => string, input: In): string | InvalidKey => {
  if (key === defaultKey) return rawKeyOrError(input)
  try {
    return key(input)
  } catch (error) {
    if (error instanceof InvalidKey) return error
    throw error
  }
}

/**
 * A short fingerprint of an input (for `Metrics.instrument`): the first 16
 * characters of the SHA-256 of its canonical text, `undefined` when the input
 * has no faithful encoding (it then cannot be recognised as a repeat).
 *
 * @internal
 */
export const fingerprint = (input: unknown): string | undefined => {
  // Same escaping as the key, so a string never shares a text with another input.
  const text = typeof input === "string"
    ? (input.charCodeAt(0) === 126 ? `~${input}` : input)
    : canonicalOrError(input)
  if (typeof text !== "string") return undefined
  return sha256(typeof input === "string" ? text : `~${text}`).slice(0, 16)
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
