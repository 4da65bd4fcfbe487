import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as Cache from "../src/Cache.js"
import * as Primitive from "../src/Primitive.js"
import { makeEnv } from "./support/cacheTiers.js"

const env = makeEnv("cache_tiers")
afterAll(env.cleanup)

const Answer = Schema.Struct({ text: Schema.String, tokens: Schema.Number, at: Schema.Date })
type Answer = typeof Answer.Type

let namespaces = 0
/** A cached primitive in a namespace of its own, counting upstream calls. */
const fixture = (options: Partial<Cache.WrapOptions<string, Answer, any>> = {}) =>
  Effect.map(Ref.make(0), (calls) => {
    const upstream = Primitive.make("answer", (q: string) =>
      Effect.as(
        Ref.update(calls, (n) => n + 1),
        { text: `about ${q}`, tokens: q.length, at: new Date(1_000) }
      ))
    const cached = upstream.pipe(
      Cache.wrap({ schema: Answer, ttl: "1 minute", namespace: `ns${namespaces++}`, ...options })
    )
    return { calls, cached }
  })

for (const tier of env.cases) {
  describe(`Cache behaviour on ${tier.name}`, () => {
    it.effect("computes once, then hits with a decoded, correctly typed value", () =>
      Effect.gen(function*() {
        const { cached, calls } = yield* fixture()
        const a = yield* cached.run("effect")
        const b = yield* cached.run("effect")
        assert.strictEqual(yield* Ref.get(calls), 1)
        assert.deepStrictEqual(b, a)
        assert.instanceOf(b.at, Date)
        assert.strictEqual(b.at.getTime(), 1_000)
        const stats = yield* Cache.stats(cached)
        assert.strictEqual(stats.hits[tier.firstTier], 1)
        assert.strictEqual(stats.misses, 1)
        assert.deepStrictEqual(Object.values(stats.tierErrors), Object.values(stats.tierErrors).map(() => 0))
      }).pipe(Effect.provide(tier.layer)))

    it.effect("never serves an expired entry (virtual time)", () =>
      Effect.gen(function*() {
        const { cached, calls } = yield* fixture({ ttl: "10 seconds" })
        yield* cached.run("q")
        yield* TestClock.adjust("9 seconds")
        yield* cached.run("q")
        assert.strictEqual(yield* Ref.get(calls), 1)
        yield* TestClock.adjust("1 second")
        yield* cached.run("q")
        assert.strictEqual(yield* Ref.get(calls), 2)
        // SQL filters expired rows in its query; the other tiers see and count them.
        if (tier.firstTier !== "postgres" && tier.firstTier !== "sqlite") {
          assert.isAtLeast((yield* Cache.stats(cached)).expirations, 1)
        }
      }).pipe(Effect.provide(tier.layer)))

    it.effect("invalidates one key and clears a namespace", () =>
      Effect.gen(function*() {
        const { cached, calls } = yield* fixture()
        yield* cached.run("a")
        yield* cached.run("b")
        yield* Cache.invalidate(cached, "a")
        yield* cached.run("a")
        yield* cached.run("b")
        assert.strictEqual(yield* Ref.get(calls), 3)
        yield* Cache.clear(cached[Cache.TypeId].namespace)
        yield* cached.run("a")
        yield* cached.run("b")
        assert.strictEqual(yield* Ref.get(calls), 5)
      }).pipe(Effect.provide(tier.layer)))

    it.effect("a version bump is a miss", () =>
      Effect.gen(function*() {
        const { cached, calls } = yield* fixture({ namespace: `versioned${namespaces++}`, version: 1 })
        yield* cached.run("a")
        const upstream = cached.children[0] as Primitive.Primitive<string, Answer>
        const v2 = upstream.pipe(
          Cache.wrap({ schema: Answer, namespace: cached[Cache.TypeId].namespace, version: 2 })
        )
        yield* v2.run("a")
        yield* cached.run("a")
        assert.strictEqual(yield* Ref.get(calls), 2)
      }).pipe(Effect.provide(tier.layer)))

    if (tier.shared) {
      it.effect("an entry outlives the process-local state (a second layer instance hits)", () =>
        Effect.gen(function*() {
          const { cached, calls } = yield* fixture()
          yield* Effect.provide(cached.run("shared"), tier.layer)
          const value = yield* Effect.provide(cached.run("shared"), tier.layer)
          assert.strictEqual(value.text, "about shared")
          assert.strictEqual(yield* Ref.get(calls), 1)
        }))

      it.effect("makeStore reads and writes the same tiers", () =>
        Effect.gen(function*() {
          const namespace = `store${namespaces++}`
          const write = Effect.flatMap(
            Cache.makeStore({ namespace, schema: Schema.Array(Schema.String) }),
            (store) => store.set("chunks", ["a", "b", "c"])
          )
          const read = Effect.flatMap(
            Cache.makeStore({ namespace, schema: Schema.Array(Schema.String) }),
            (store) => store.get("chunks")
          )
          yield* Effect.provide(write, tier.layer)
          const found = yield* Effect.provide(read, tier.layer)
          assert.deepStrictEqual(found._tag === "Some" ? found.value : undefined, ["a", "b", "c"])
        }))
    }
  })
}

describe("Cache backfill", () => {
  it.effect("a lower-tier hit backfills the tiers above with the remaining TTL, not a fresh one", () =>
    Effect.gen(function*() {
      const { cached, calls } = yield* fixture({ ttl: "100 seconds" })
      const SqlOnly = Cache.layer(env.pgTier()).pipe(Layer.provide(env.Pg))
      const Full = Cache.layer(Cache.memory(), env.redisTier(), env.pgTier()).pipe(Layer.provide(env.Pg))
      // Only PostgreSQL holds the entry (written at t = 0, expires at t = 100 s).
      yield* Effect.provide(cached.run("deep"), SqlOnly)
      yield* TestClock.adjust("40 seconds")
      const redis = env.rawRedis()
      const redisKey = `${env.redisPrefix}${cached[Cache.TypeId].namespace}:1:${Cache.defaultKey("deep")}`
      assert.strictEqual(yield* Effect.promise(() => redis.exists(redisKey)), 0)

      yield* Effect.gen(function*() {
        yield* cached.run("deep") // postgres hit at t = 40 s: backfills redis and memory
        let stats = yield* Cache.stats(cached)
        assert.deepStrictEqual(stats.hits, { memory: 0, redis: 0, postgres: 1 })
        const pttl = yield* Effect.promise(() => redis.pttl(redisKey))
        assert.isAbove(pttl, 55_000)
        assert.isAtMost(pttl, 60_000)
        yield* TestClock.adjust("59999 millis")
        yield* cached.run("deep") // t = 99.999 s: still in memory
        stats = yield* Cache.stats(cached)
        assert.strictEqual(stats.hits["memory"], 1)
        yield* TestClock.adjust("1 millis")
        yield* cached.run("deep") // t = 100 s: expired in every tier
        stats = yield* Cache.stats(cached)
        assert.strictEqual(stats.misses, 1)
        assert.strictEqual(stats.expirations, 2) // memory and redis (postgres filters it out in the query)
      }).pipe(Effect.provide(Full))
      redis.disconnect()
      assert.strictEqual(yield* Ref.get(calls), 2)
    }))

  it.effect("a miss writes every tier", () =>
    Effect.gen(function*() {
      const { cached, calls } = yield* fixture()
      const Full = Cache.layer(Cache.memory(), env.redisTier(), env.pgTier()).pipe(Layer.provide(env.Pg))
      yield* Effect.provide(cached.run("everywhere"), Full)
      const runAndStats = Effect.zipRight(cached.run("everywhere"), Cache.stats(cached))
      const pg = yield* Effect.provide(runAndStats, Cache.layer(env.pgTier()).pipe(Layer.provide(env.Pg)))
      const redis = yield* Effect.provide(runAndStats, Cache.layer(env.redisTier()))
      assert.deepStrictEqual(pg.hits, { postgres: 1 })
      assert.deepStrictEqual(redis.hits, { redis: 1 })
      assert.strictEqual(yield* Ref.get(calls), 1)
    }))
})
