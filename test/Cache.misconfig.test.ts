/**
 * Misconfiguration is loud (issue 14): a Redis tier whose URL is malformed,
 * unresolvable or refused logs one warning per outage (not one per call)
 * and, with `required: true`, fails the layer at start; a wrap without a
 * schema over shared tiers fails with `MissingSchema`. And the cost a hit
 * saves is what computing that entry cost (cost ledger), stored with it.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Schema from "effect/Schema"
import * as Cache from "../src/Cache.js"
import * as CacheRedis from "../src/Cache/Redis.js"
import * as CostLedger from "../src/internal/costLedger.js"
import * as Primitive from "../src/Primitive.js"
import { freePort } from "./support/cacheRedisServer.js"
import { makeEnv } from "./support/cacheTiers.js"

const env = makeEnv("cache_misconfig")
afterAll(env.cleanup)

let namespaces = 0
const echo = () =>
  Primitive.make("echo", (q: string) => Effect.succeed(`answer ${q}`)).pipe(
    Cache.wrap({ schema: Schema.String, namespace: `misconfig-${namespaces++}` })
  )

/** Runs `effect` with a logger that keeps warnings. */
const withWarnings = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const warnings: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => {
      if (LogLevel.greaterThanEqual(logLevel, LogLevel.Warning)) warnings.push(String(message))
    })
    return Effect.map(
      Effect.provide(effect, Logger.replace(Logger.defaultLogger, logger)),
      (a) => [a, warnings] as const
    )
  })

const urls = Effect.map(Effect.promise(freePort), (port) =>
  [
    ["malformed", "not a url"],
    ["of another scheme", "http://127.0.0.1:6379"],
    ["unresolvable", "redis://no-such-host.invalid:6379"],
    ["refused", `redis://127.0.0.1:${port}`]
  ] as const)

describe("a Redis URL that cannot work", () => {
  it.live("logs one warning per outage, not one per call; every call answers", () =>
    Effect.gen(function*() {
      for (const [label, url] of yield* urls) {
        const cached = echo()
        const [answers, warnings] = yield* withWarnings(
          Effect.forEach(Array.from({ length: 20 }, (_, i) => `q${i}`), (q) => cached.run(q)).pipe(
            Effect.provide(Cache.layer(Cache.memory(), CacheRedis.tier({ url })))
          )
        )
        assert.deepStrictEqual(answers, Array.from({ length: 20 }, (_, i) => `answer q${i}`), label)
        const outages = warnings.filter((w) => w.includes("tier redis unavailable"))
        assert.strictEqual(outages.length, 1, `${label}: ${JSON.stringify(warnings)}`)
      }
    }), { timeout: 30_000 })

  it.live("with required: true, fails the layer at start with CacheTierError", () =>
    Effect.gen(function*() {
      for (const [label, url] of yield* urls) {
        const start = yield* Clock.currentTimeMillis
        const error = yield* Effect.flip(
          Layer.build(CacheRedis.layer({ url, required: true, connectTimeout: "2 seconds" })).pipe(Effect.scoped)
        )
        assert.strictEqual(error._tag, "CacheTierError", label)
        assert.strictEqual(error.operation, "connect", label)
        assert.isBelow((yield* Clock.currentTimeMillis) - start, 2_000 + 1_500, label)
      }
    }), { timeout: 30_000 })
})

describe("a wrap without schema over shared tiers", () => {
  it.live("fails with MissingSchema instead of caching in memory only; memoryOnly says it on purpose", () =>
    Effect.gen(function*() {
      const plain = Primitive.make("plain", (q: string) => Effect.succeed(q.length))
      const Tiers = Cache.layer(Cache.memory(), env.redisTier())
      const error = yield* Effect.flip(plain.pipe(Cache.wrap({ namespace: `ms-${namespaces++}` })).run("a")).pipe(
        Effect.provide(Tiers)
      )
      assert.strictEqual(error._tag, "MissingSchema")
      assert.deepStrictEqual((error as Cache.MissingSchema).tiers, ["redis"])
      const onPurpose = plain.pipe(Cache.wrap({ memoryOnly: true, namespace: `ms-${namespaces++}` }))
      assert.strictEqual(yield* onPurpose.run("abc").pipe(Effect.provide(Tiers)), 3)
      // Memory only by configuration: no shared tier, nothing to encode, no error.
      const memory = plain.pipe(Cache.wrap({ namespace: `ms-${namespaces++}` }))
      assert.strictEqual(yield* memory.run("ab").pipe(Effect.provide(Cache.layerMemory())), 2)
    }))
})

describe("the cost a hit saves", () => {
  it.live("is what computing the entry cost (ledger), in L1, across processes (payload) and for joiners", () =>
    Effect.gen(function*() {
      const namespace = `cost-${namespaces++}`
      // A model call charges the ledgers open around it; this compute does the same, for 0.05.
      const charged = Primitive.make("charged", (q: string) =>
        Effect.as(
          Effect.zipRight(CostLedger.charge({ costUsd: 0.05 }), Effect.sleep("50 millis")),
          `answer ${q}`
        )).pipe(Primitive.annotate({ costPerCall: 0.01 }), Cache.wrap({ schema: Schema.String, namespace }))
      const tiers = () => Cache.layer(Cache.memory(), env.redisTier())
      const first = yield* Effect.gen(function*() {
        yield* charged.run("a")
        yield* charged.run("a") // L1 hit
        yield* Effect.all([charged.run("b"), charged.run("b"), charged.run("b")], { concurrency: "unbounded" })
        return yield* Cache.stats(charged)
      }).pipe(Effect.provide(tiers()))
      assert.strictEqual(first.misses, 2)
      assert.strictEqual(first.coalesced, 2)
      assert.closeTo(first.costSaved, 0.05 * 3, 1e-9)
      // Another "process" (fresh L1) reads the entry's cost from Redis.
      const second = yield* Effect.zipRight(charged.run("a"), Cache.stats(charged)).pipe(Effect.provide(tiers()))
      assert.strictEqual(second.hits["redis"], 1)
      assert.closeTo(second.costSaved, 0.05, 1e-9)
      // No ledger charge: the annotation says what a call costs.
      const uncharged = Primitive.make("uncharged", (q: string) => Effect.succeed(q)).pipe(
        Primitive.annotate({ costPerCall: 0.01 }),
        Cache.wrap({ schema: Schema.String, namespace: `cost-${namespaces++}` })
      )
      const third = yield* Effect.zipRight(
        Effect.zipRight(uncharged.run("x"), uncharged.run("x")),
        Cache.stats(uncharged)
      )
        .pipe(Effect.provide(tiers()))
      assert.closeTo(third.costSaved, 0.01, 1e-9)
    }))
})
