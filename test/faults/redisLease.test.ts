/**
 * Leases left behind (issue 12 defect 3) and leases lost (issue 15), on a
 * redis-server this suite starts itself.
 *
 * - A lease without expiry (an older version, a manual SET, a crash between
 *   two commands) or with an expiry no holder sets: a waiter waits at most
 *   its own lease time, then takes the lease over and computes (counted).
 * - A holder whose lease is taken while it computes sees it at its next
 *   renewal (counted) and still answers.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import { Redis } from "ioredis"
import * as Cache from "../../src/Cache.js"
import * as CacheRedis from "../../src/Cache/Redis.js"
import * as Primitive from "../../src/Primitive.js"
import { type RedisServer as OwnRedis, startRedis as startOwnRedis } from "../support/cacheRedisServer.js"

let redis: OwnRedis | undefined
afterAll(async () => {
  await redis?.kill()
})
const server = Effect.promise(async () => (redis ??= await startOwnRedis()))

// Scheduling slack on a loaded 2-core machine; the defect waited forever.
const slackMs = 1_500
let namespaces = 0

const fixture = (latency: number) =>
  Effect.map(Ref.make(0), (computed) => {
    const namespace = `lease-${process.pid}-${namespaces++}`
    return {
      computed,
      namespace,
      leaseKey: (q: string) => `flowtune:cache:${namespace}:1:${q}\u0000lease`,
      cached: Primitive.make(
        "leased",
        (q: string) =>
          Effect.zipRight(Ref.update(computed, (n) => n + 1), Effect.as(Effect.sleep(latency), `answer ${q}`))
      ).pipe(Cache.wrap({ schema: Schema.String, namespace }))
    }
  })

const tiers = (url: string, ttl: Duration.DurationInput) =>
  Cache.layer(CacheRedis.tier({ url, timeout: "1 second", lease: { ttl, poll: "10 millis" } }))

const raw = (url: string) =>
  Effect.acquireRelease(Effect.sync(() => new Redis(url)), (r) => Effect.sync(() => r.disconnect()))

describe("stale and lost leases", () => {
  for (
    const [label, set] of [
      ["without expiry", (r: Redis, key: string) => r.set(key, "left-behind")],
      ["with an expiry no holder sets (1 hour)", (r: Redis, key: string) => r.set(key, "left-behind", "PX", 3_600_000)]
    ] as const
  ) {
    it.live(
      `a lease ${label}: the waiter waits its lease time, takes over, computes once`,
      () =>
        Effect.gen(function*() {
          const { url } = yield* server
          const client = yield* raw(url)
          const { cached, computed, leaseKey } = yield* fixture(10)
          yield* Effect.promise(() => set(client, leaseKey("k")))
          const start = yield* Clock.currentTimeMillis
          const [answer, stats] = yield* Effect.zip(cached.run("k"), Cache.stats(cached)).pipe(
            Effect.provide(tiers(url, "300 millis"))
          )
          const waited = (yield* Clock.currentTimeMillis) - start
          assert.strictEqual(answer, "answer k")
          assert.strictEqual(yield* Ref.get(computed), 1)
          assert.strictEqual(stats.leaseTakeovers, 1)
          assert.isAtLeast(waited, 300)
          assert.isBelow(waited, 300 + slackMs, `waited ${waited} ms`)
          // The taken-over lease was released (it was ours): the key is gone, not left without expiry again.
          yield* Effect.sleep("200 millis")
          assert.strictEqual(yield* Effect.promise(() => client.pttl(leaseKey("k"))), -2)
        }).pipe(Effect.scoped),
      { timeout: 15_000 }
    )
  }

  it.live("a holder whose lease is taken while it computes counts it, and still answers", () =>
    Effect.gen(function*() {
      const { url } = yield* server
      const client = yield* raw(url)
      const { cached, computed, leaseKey } = yield* fixture(600)
      const [answer, stats] = yield* Effect.gen(function*() {
        const fiber = yield* Effect.fork(cached.run("x"))
        yield* Effect.sleep("100 millis")
        // Another holder's token, as if the lease had expired and been acquired elsewhere.
        yield* Effect.promise(() => client.set(leaseKey("x"), "someone-else", "PX", 10_000))
        const answer = yield* fiber
        return [answer, yield* Cache.stats(cached)] as const
      }).pipe(Effect.provide(tiers(url, "150 millis")))
      assert.strictEqual(answer, "answer x")
      assert.strictEqual(yield* Ref.get(computed), 1)
      assert.strictEqual(stats.leasesLost, 1)
      // The release only deletes its own token: the other holder's lease is untouched.
      yield* Effect.sleep("100 millis")
      assert.strictEqual(yield* Effect.promise(() => client.get(leaseKey("x"))), "someone-else")
    }).pipe(Effect.scoped), { timeout: 15_000 })
})
