/**
 * Every option of the cache's constructors, given 0, negative, NaN,
 * Infinity and the wrong type, is refused where it is given, with an error
 * naming the option (issue 12 defect 7). `purgeInterval: 0` used to freeze
 * the process at 100% CPU; `tierTimeout: 0` turned every shared tier off.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import * as Cache from "../src/Cache.js"
import * as CacheRedis from "../src/Cache/Redis.js"
import * as CacheSql from "../src/Cache/Sql.js"
import * as Primitive from "../src/Primitive.js"

const p = Primitive.fromFunction("p", (s: string) => s)

const refused = (build: () => unknown, option: string) => {
  try {
    build()
  } catch (error) {
    assert.instanceOf(error, Primitive.InvalidPrimitive)
    assert.strictEqual((error as Primitive.InvalidPrimitive).option, option)
    assert.include((error as Error).message, option)
    return
  }
  assert.fail(`option ${option}: accepted`)
}

const badDurations: ReadonlyArray<unknown> = [0, -1, NaN, "-5 millis", "soon", true, {}, -Infinity]
const badFiniteDurations: ReadonlyArray<unknown> = [...badDurations, Infinity, Duration.infinity]
const badCounts: ReadonlyArray<unknown> = [0, -1, 1.5, NaN, Infinity, "10", null]
const badBooleans: ReadonlyArray<unknown> = [0, 1, "true", null, {}]

describe("Cache options are checked where they are given", () => {
  it("Cache.wrap", () => {
    // `as any`: the point is to pass what the types forbid, as untyped callers can.
    const wrap = (options: Record<string, unknown>) => () => Cache.wrap(p, options as any)
    for (const v of badCounts) refused(wrap({ capacity: v }), "capacity")
    for (const v of badDurations) refused(wrap({ ttl: v }), "ttl")
    for (const v of badFiniteDurations) refused(wrap({ tierTimeout: v }), "tierTimeout")
    for (const v of ["", "  ", 3, null]) refused(wrap({ namespace: v }), "namespace")
    for (const v of [{}, null, true]) refused(wrap({ version: v }), "version")
    for (const v of ["k", 1, {}]) refused(wrap({ key: v }), "key")
    for (const v of [{}, "String", 1]) refused(wrap({ schema: v }), "schema")
    for (const option of ["cacheFailures", "lease", "checkpoints", "memoryOnly"]) {
      for (const v of badBooleans) refused(wrap({ [option]: v }), option)
    }
    // What is allowed stays allowed.
    Cache.wrap(p, { ttl: Duration.infinity, tierTimeout: "50 millis", capacity: 1, version: 2, schema: Schema.String })
  })

  it("Cache.memory and Cache.layerMemory", () => {
    for (const v of badCounts) refused(() => Cache.memory({ capacity: v as number }), "capacity")
    for (const v of badCounts) refused(() => Cache.layerMemory({ capacity: v as number }), "capacity")
  })

  it("Cache.makeStore", () => {
    const store = (options: Record<string, unknown>) => () =>
      Cache.makeStore({ schema: Schema.String, ...options } as any)
    for (const v of ["", 3, undefined]) refused(store({ namespace: v }), "namespace")
    for (const v of badDurations) refused(store({ namespace: "s", ttl: v }), "ttl")
    for (const v of badCounts) refused(store({ namespace: "s", capacity: v }), "capacity")
    for (const v of [-0.01, NaN, Infinity, "1"]) refused(store({ namespace: "s", costPerCall: v }), "costPerCall")
    refused(store({ namespace: "s", schema: undefined }), "schema")
  })

  it("CacheRedis.tier", () => {
    const tier = (options: Record<string, unknown>) => () => CacheRedis.tier(options as any)
    for (const v of badFiniteDurations) refused(tier({ timeout: v }), "timeout")
    for (const v of badFiniteDurations) refused(tier({ connectTimeout: v }), "connectTimeout")
    for (const v of badFiniteDurations) refused(tier({ lease: { ttl: v } }), "lease.ttl")
    for (const v of badFiniteDurations) refused(tier({ lease: { poll: v } }), "lease.poll")
    refused(tier({ lease: { ttl: "100 millis", poll: "1 second" } }), "lease.poll")
    for (const v of [true, "no", 3]) refused(tier({ lease: v }), "lease")
    for (const v of ["", 3]) refused(tier({ name: v }), "name")
    for (const v of ["", 3]) refused(tier({ prefix: v }), "prefix")
    for (const v of [3, {}]) refused(tier({ url: v }), "url")
    for (const v of [{}, "redis"]) refused(tier({ client: v }), "client")
    for (const v of badBooleans) refused(tier({ required: v }), "required")
  })

  it("CacheSql.tier", () => {
    const tier = (options: Record<string, unknown>) => () => CacheSql.tier(options as any)
    for (const v of badFiniteDurations) refused(tier({ timeout: v }), "timeout")
    for (const v of badFiniteDurations) refused(tier({ purgeInterval: v }), "purgeInterval")
    for (const v of ["", "1table", "drop table x;", 3]) refused(tier({ table: v }), "table")
    for (const v of ["", 3]) refused(tier({ name: v }), "name")
  })
})
