import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Cache from "../src/Cache.js"
import * as Primitive from "../src/Primitive.js"
import { makeEnv } from "./support/cacheTiers.js"

const env = makeEnv("cache_sf")
afterAll(env.cleanup)

let namespaces = 0
// These cases are about the lease, not the tier timeout: on a loaded CI machine the first Redis command of a
// fresh runtime can take over 100 ms, which would (rightly) spend the call's tier time and skip the lease.
const timeout = "1 second"

// Real time on purpose: the lease is a Redis key with a server-side expiry (PX) and
// waiters poll the real server, which the TestClock cannot drive. Every wait is
// bounded (hundreds of milliseconds) and the suite takes under 2 s.
describe("Cache single-flight across processes (Redis lease)", () => {
  it.live("2 runtimes on separate Redis connections, 2 x 100 concurrent identical calls -> 1 upstream call", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const cached = Primitive.make(
        "expensive",
        (q: string) =>
          // Real time on purpose: two runtimes race for a lease in the real Redis, whose expiry is wall-clock.
          Effect.zipRight(Ref.update(calls, (n) => n + 1), Effect.as(Effect.sleep("300 millis"), `answer ${q}`))
      ).pipe(
        Cache.wrap({ schema: Schema.String, namespace: `sf${namespaces++}` })
      )
      // Two independent stacks: their own L1, in-flight maps and Redis connections, as two processes would have.
      const tiers = () =>
        Cache.layer(Cache.memory(), env.redisTier({ timeout, lease: { ttl: "2 seconds", poll: "10 millis" } }))
      const a = ManagedRuntime.make(tiers())
      const b = ManagedRuntime.make(tiers())
      yield* Effect.addFinalizer(() => Effect.promise(() => Promise.all([a.dispose(), b.dispose()])))
      const burst = (rt: ManagedRuntime.ManagedRuntime<Cache.CacheTiers, never>) =>
        Effect.promise(() =>
          rt.runPromise(
            Effect.forEach(Array.from({ length: 100 }), () => cached.run("same"), { concurrency: "unbounded" })
          )
        )
      const [ra, rb] = yield* Effect.all([burst(a), burst(b)], { concurrency: 2 })
      assert.strictEqual(yield* Ref.get(calls), 1)
      assert.isTrue([...ra, ...rb].every((r) => r === "answer same"))
      const sa = yield* Effect.promise(() => a.runPromise(Cache.stats(cached)))
      const sb = yield* Effect.promise(() => b.runPromise(Cache.stats(cached)))
      assert.strictEqual(sa.misses + sb.misses, 1)
      assert.strictEqual(sa.coalesced + sb.coalesced, 198)
      // The other runtime got the value from Redis after waiting on the lease.
      assert.strictEqual((sa.hits["redis"] ?? 0) + (sb.hits["redis"] ?? 0), 1)
    }).pipe(Effect.scoped))

  it.live("a lease whose holder died expires, and the waiter computes", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const namespace = `sf${namespaces++}`
      const cached = Primitive.make("orphaned", (q: string) => Effect.as(Ref.update(calls, (n) => n + 1), q)).pipe(
        Cache.wrap({ schema: Schema.String, namespace })
      )
      // A "process" took the lease and died: nobody renews or releases it.
      const redis = env.rawRedis()
      const leaseKey = `${env.redisPrefix}${namespace}:1:${Cache.defaultKey("k")}\u0000lease`
      yield* Effect.promise(() => redis.set(leaseKey, "dead-holder", "PX", 400))
      redis.disconnect()
      const start = Date.now()
      const value = yield* cached.run("k").pipe(
        Effect.provide(Cache.layer(env.redisTier({ timeout, lease: { ttl: "5 seconds", poll: "20 millis" } })))
      )
      const waited = Date.now() - start
      assert.strictEqual(value, "k")
      assert.strictEqual(yield* Ref.get(calls), 1)
      assert.isAtLeast(waited, 300)
      assert.isBelow(waited, 3_000)
    }))

  it.live("a holder renews its lease while it computes, so waiters do not compute too", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const cached = Primitive.make("long", (q: string) =>
        // Real time on purpose: the computation must outlast the real Redis lease ttl so renewal is exercised.
        Effect.zipRight(Ref.update(calls, (n) => n + 1), Effect.as(Effect.sleep("700 millis"), q))).pipe(
          Cache.wrap({ schema: Schema.String, namespace: `sf${namespaces++}` })
        )
      // The lease lives 200 ms unless renewed; the computation takes 700 ms.
      const tiers = () => Cache.layer(env.redisTier({ timeout, lease: { ttl: "200 millis", poll: "10 millis" } }))
      const results = yield* Effect.all([
        Effect.provide(cached.run("x"), tiers()),
        Effect.zipRight(Effect.sleep("50 millis"), Effect.provide(cached.run("x"), tiers()))
      ], { concurrency: 2 })
      assert.deepStrictEqual(results, ["x", "x"])
      assert.strictEqual(yield* Ref.get(calls), 1)
    }))
})
