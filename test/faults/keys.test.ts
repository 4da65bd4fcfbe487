/**
 * Hostile inputs through the default cache key (issue 12, defect 6): every
 * kind of value either gets a key that no different input shares, or is
 * refused with `Cache.InvalidKey` naming the path inside the input.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as HashMap from "effect/HashMap"
import * as HashSet from "effect/HashSet"
import * as List from "effect/List"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import fc from "fast-check"
import { isDeepStrictEqual } from "node:util"
import * as Cache from "../../src/Cache.js"
import * as Metrics from "../../src/Metrics.js"
import * as Primitive from "../../src/Primitive.js"
import * as Tracing from "../../src/Tracing.js"

const refusal = (input: unknown): Cache.InvalidKey => {
  try {
    Cache.defaultKey(input)
  } catch (error) {
    assert.instanceOf(error, Cache.InvalidKey)
    return error as Cache.InvalidKey
  }
  return assert.fail(`expected a refusal, got the key ${Cache.defaultKey(input)}`)
}

class Point {
  #secret = Math.random()
  constructor(readonly x: number) {}
  get secret() {
    return this.#secret
  }
}

class Customer {
  constructor(readonly id: string, readonly loadedAt: number) {}
  [Cache.keyEncoding]() {
    return this.id
  }
}
class Supplier {
  constructor(readonly id: string) {}
  [Cache.keyEncoding]() {
    return this.id
  }
}

class Person extends Data.Class<{ readonly name: string }> {}
class Pet extends Data.Class<{ readonly name: string }> {}

/** Pairs of different inputs that once shared a key, or easily could. */
const distinct: ReadonlyArray<readonly [string, unknown, unknown]> = [
  ["two URLs", new URL("https://a.example/x"), new URL("https://b.example/x")],
  ["a URL and its text", new URL("https://a.example/"), "https://a.example/"],
  ["two RegExps (flags)", /a/g, /a/i],
  ["two RegExps (source)", /a/, /b/],
  ["a RegExp and {}", /a/, {}],
  ["two Dates", new Date(0), new Date(1)],
  ["a Date and its time", new Date(5), 5],
  ["a bigint and a number", 1n, 1],
  ["a bigint and its text", 1n, "1n"],
  ["0 and -0", 0, -0],
  ["NaN and its text", NaN, "#NaN"],
  ["a string and a number", "1", 1],
  ["Map and object", new Map([["a", 1]]), { a: 1 }],
  ["Map values", new Map([["a", 1]]), new Map([["a", 2]])],
  ["Set and array", new Set([1, 2]), [1, 2]],
  ["Uint8Array and Int8Array", new Uint8Array([1, 255]), new Int8Array([1, -1])],
  ["Uint8Array and array", new Uint8Array([1, 2]), [1, 2]],
  ["Float32Array contents", new Float32Array([0.5]), new Float32Array([0.25])],
  ["ArrayBuffer and Uint8Array", new Uint8Array([1]).buffer, new Uint8Array([1])],
  ["Some(1) and { value: 1 }", Option.some(1), { value: 1 }],
  ["None and {}", Option.none(), {}],
  ["Some(undefined) and None", Option.some(undefined), Option.none()],
  ["Right(1) and Left(1)", Either.right(1), Either.left(1)],
  ["Right(1) and { right: 1 }", Either.right(1), { right: 1 }],
  ["HashMap and Map", HashMap.make(["a", 1]), new Map([["a", 1]])],
  ["HashSet and Set", HashSet.make(1), new Set([1])],
  ["Chunk and List", Chunk.make(1, 2), List.make(1, 2)],
  ["Chunk order", Chunk.make(1, 2), Chunk.make(2, 1)],
  ["two Data classes with one shape", new Person({ name: "Rex" }), new Pet({ name: "Rex" })],
  ["Data.struct contents", Data.struct({ a: 1 }), Data.struct({ a: 2 })],
  ["Durations", Duration.seconds(1), Duration.seconds(2)],
  ["DateTimes", DateTime.unsafeMake(0), DateTime.unsafeMake(1)],
  ["declared encodings of two classes", new Customer("1", 0), new Supplier("1")],
  ["declared encodings", new Customer("1", 0), new Customer("2", 0)],
  ["a string that looks like an encoding", "~{}", {}],
  ["array hole and null", [null], [undefined]]
]

/** Pairs of different values that are the same data. */
const same: ReadonlyArray<readonly [string, unknown, unknown]> = [
  ["object key order", { a: 1, b: { c: 2, d: 3 } }, { b: { d: 3, c: 2 }, a: 1 }],
  ["Map insertion order", new Map([["a", 1], ["b", 2]]), new Map([["b", 2], ["a", 1]])],
  ["Set insertion order", new Set([1, 2, 3]), new Set([3, 1, 2])],
  ["HashMap insertion order", HashMap.make(["a", 1], ["b", 2]), HashMap.make(["b", 2], ["a", 1])],
  ["HashSet insertion order", HashSet.make("x", "y"), HashSet.make("y", "x")],
  ["Duration units", Duration.seconds(1), Duration.millis(1000)],
  ["a Buffer and a Uint8Array of its bytes", Buffer.from([1, 2]), new Uint8Array([1, 2])],
  ["declared encoding ignores other fields", new Customer("1", 0), new Customer("1", 99)],
  ["Data.Class copies", new Person({ name: "Ann" }), new Person({ name: "Ann" })]
]

const deep = (depth: number): unknown => {
  let value: unknown = "bottom"
  for (let i = 0; i < depth; i++) value = [value]
  return value
}

describe("hostile cache keys", () => {
  for (const [name, a, b] of distinct) {
    it(`different inputs, different keys: ${name}`, () => {
      assert.notStrictEqual(Cache.defaultKey(a), Cache.defaultKey(b))
    })
  }
  for (const [name, a, b] of same) {
    it(`the same data, one key: ${name}`, () => {
      assert.strictEqual(Cache.defaultKey(a), Cache.defaultKey(b))
    })
  }

  it("refuses what it cannot encode, naming the path", () => {
    const cases: ReadonlyArray<readonly [unknown, string, string]> = [
      [{ items: [1, 2, 3, { url: new Point(1) }] }, "input.items[3].url", "Point instance"],
      [new Error("boom"), "input", "Error instance"],
      [{ f: () => 1 }, "input.f", "function"],
      [[Symbol("s")], "input[0]", "symbol"],
      [{ "a b": { token: Redacted.make("secret") } }, "input[\"a b\"].token", "Redacted"],
      [new Map([["k", { p: new Point(2) }]]), "input<Map entry 0 value>.p", "Point instance"],
      [Option.some({ cb: () => 0 }), "input.value.cb", "function"],
      [new Customer("x", 0), "input", ""] // encodable: checked below
    ]
    for (const [input, path, reason] of cases.slice(0, -1)) {
      const error = refusal(input)
      assert.strictEqual(error._tag, "InvalidKey")
      assert.strictEqual(error.path, path)
      assert.include(error.reason, reason)
    }
    assert.strictEqual(typeof Cache.defaultKey(new Customer("x", 0)), "string")
    assert.include(refusal(new Point(1)).reason, "Cache.keyEncoding")
  })

  it("refuses a cycle and says where it closes", () => {
    const node: { name: string; children: Array<unknown> } = { name: "root", children: [] }
    node.children.push({ name: "leaf", parent: node })
    const error = refusal({ tree: node })
    assert.strictEqual(error.path, "input.tree.children[0].parent")
    assert.include(error.reason, "cycle")
    assert.include(error.reason, "input.tree")
  })

  it("shared (non-cyclic) references are fine", () => {
    const shared = { x: 1 }
    assert.strictEqual(Cache.defaultKey({ a: shared, b: shared }), Cache.defaultKey({ a: { x: 1 }, b: { x: 1 } }))
  })

  it("a 20,000-deep array is refused within 50 ms, no stack overflow", () => {
    const start = performance.now()
    const error = refusal(deep(20_000))
    assert.isBelow(performance.now() - start, 50)
    assert.include(error.reason, "deeper than 256")
    assert.match(error.path, /^input\[0\]\[0\].*more.*\[0\]$/)
    assert.strictEqual(typeof Cache.defaultKey(deep(256)), "string")
  })

  it.effect("a cached call with a refused input fails with InvalidKey and computes nothing", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const p = Primitive.make(
        "fetch",
        (input: { readonly url: unknown }) => Effect.as(Ref.update(calls, (n) => n + 1), String(input.url))
      )
      const cached = p.pipe(Cache.wrap())
      const error = yield* Effect.flip(Primitive.run(cached, { url: new Point(1) }))
      assert.strictEqual(error._tag, "InvalidKey")
      assert.strictEqual(error._tag === "InvalidKey" ? error.path : undefined, "input.url")
      assert.strictEqual(yield* Ref.get(calls), 0)
      // An input with no key was never cached: invalidating it is a no-op, not a defect.
      yield* Cache.invalidate(cached, { url: () => 0 })
    }).pipe(Effect.provide(Cache.layerMemory({ capacity: 100 }))))

  it.effect("two URLs through a cached primitive: each gets its own answer", () =>
    Effect.gen(function*() {
      const p = Primitive.make("host", (url: URL) => Effect.succeed(url.host))
      const cached = p.pipe(Cache.wrap())
      const a = yield* Primitive.run(cached, new URL("https://a.example/"))
      const b = yield* Primitive.run(cached, new URL("https://b.example/"))
      assert.deepStrictEqual([a, b], ["a.example", "b.example"])
    }).pipe(Effect.provide(Cache.layerMemory({ capacity: 100 }))))

  it.effect("Metrics' input fingerprint uses the same encoding: none for a refused input, never a failure", () =>
    Effect.gen(function*() {
      const step = Metrics.instrument(Primitive.make("echo", (u: unknown) => Effect.succeed(u)), {
        fingerprint: true
      })
      const inputs = [new URL("https://a.example/"), new URL("https://b.example/"), { f: () => 1 }]
      const [, spans] = yield* Tracing.record(Effect.forEach(inputs, (u) => Primitive.run(step, u)))
      const hashes = spans.filter((s) => s.name === "echo").map((s) => s.attributes[Tracing.Attributes.inputHash])
      assert.strictEqual(hashes.length, 3)
      assert.isString(hashes[0])
      assert.notStrictEqual(hashes[0], hashes[1])
      assert.isUndefined(hashes[2])
    }))
})

/** Drops `undefined` object fields (the one equivalence the key adds to deep equality). */
const normalize = (u: unknown): unknown => {
  if (Array.isArray(u)) return Array.from(u, normalize)
  if (u instanceof Map) return new Map(Array.from(u, ([k, v]) => [normalize(k), normalize(v)]))
  if (u instanceof Set) return new Set(Array.from(u, normalize))
  if (typeof u === "object" && u !== null && Object.getPrototypeOf(u) === Object.prototype) {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(u)) {
      const value = (u as Record<string, unknown>)[key]
      // defineProperty: a generated "__proto__" key must stay a field.
      if (value !== undefined) Object.defineProperty(out, key, { value: normalize(value), enumerable: true })
    }
    return out
  }
  return u
}

const anything = fc.anything({
  withMap: true,
  withSet: true,
  withBigInt: true,
  withDate: true,
  withTypedArray: true,
  withSparseArray: true,
  maxDepth: 4
})

describe("default key properties", () => {
  it("distinct inputs -> distinct keys; equal data -> one key", () => {
    fc.assert(
      fc.property(anything, anything, (a, b) => {
        const sameKey = Cache.defaultKey(a) === Cache.defaultKey(b)
        return sameKey === isDeepStrictEqual(normalize(a), normalize(b))
      }),
      { numRuns: 3000 }
    )
  })

  it("a value and a structural copy share a key", () => {
    fc.assert(
      fc.property(anything, (a) => Cache.defaultKey(a) === Cache.defaultKey(structuredClone(a))),
      { numRuns: 1000 }
    )
  })

  it("near-identical inputs (one change inside) never share a key", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), anything), fc.string(), anything, (record, key, value) => {
        const changed = { ...record, [key]: value }
        const same = isDeepStrictEqual(normalize(record), normalize(changed))
        return same || Cache.defaultKey(record) !== Cache.defaultKey(changed)
      }),
      { numRuns: 2000 }
    )
  })
})
