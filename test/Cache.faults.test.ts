import { PgClient } from "@effect/sql-pg"
import * as SqlClient from "@effect/sql/SqlClient"
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as Cache from "../src/Cache.js"
import * as Primitive from "../src/Primitive.js"
import { freePort, startRedis } from "./support/cacheRedisServer.js"
import { makeEnv } from "./support/cacheTiers.js"
import { startProxy } from "./support/redisFaults.js"
import { postgresUrl } from "./support/services.js"

const env = makeEnv("cache_faults")
afterAll(env.cleanup)

const Answer = Schema.Struct({ text: Schema.String })

let namespaces = 0
const fixture = () =>
  Effect.map(Ref.make(0), (calls) => ({
    calls,
    cached: Primitive.make("faulty", (q: string) => Effect.as(Ref.update(calls, (n) => n + 1), { text: q })).pipe(
      Cache.wrap({ schema: Answer, ttl: "1 minute", namespace: `faults${namespaces++}` })
    )
  }))

const keyOf = (cached: Cache.Cached<string, any, any, any>, input: string) =>
  `${cached[Cache.TypeId].namespace}:1:${Cache.defaultKey(input)}`

describe("Cache faults", () => {
  it.live("Redis at a closed port: every call succeeds, one error opens the circuit, the rest are skipped", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const Tiers = Cache.layer(Cache.memory(), env.redisTier({ url: `redis://127.0.0.1:${port}` }))
      const { cached, calls } = yield* fixture()
      const results = yield* Effect.forEach(["a", "b", "a", "c", "b"], (q) => cached.run(q)).pipe(
        Effect.zip(Cache.stats(cached)),
        Effect.provide(Tiers)
      )
      assert.deepStrictEqual(results[0].map((r) => r.text), ["a", "b", "a", "c", "b"])
      assert.strictEqual(yield* Ref.get(calls), 3)
      // The first failure opens the tier's circuit: later operations are skipped, not attempted.
      assert.isAtLeast(results[1].tierErrors["redis"]!, 1)
      assert.isAtLeast(results[1].tierSkipped["redis"]!, 2)
      assert.strictEqual(results[1].hits["memory"], 2)
    }))

  it.live(
    "Redis stopped mid-run: zero failed calls, and the tier is used again once it is back",
    () =>
      Effect.gen(function*() {
        const server = yield* Effect.acquireRelease(
          Effect.promise(() => startRedis()),
          (s) => Effect.promise(() => s.stop())
        )
        const Tiers = Cache.layer(env.redisTier({ url: `redis://127.0.0.1:${server.port}` }))
        const { cached, calls } = yield* fixture()
        yield* Effect.gen(function*() {
          yield* cached.run("a")
          yield* cached.run("a")
          assert.strictEqual((yield* Cache.stats(cached)).hits["redis"], 1)

          yield* Effect.promise(() => server.stop())
          for (const q of ["a", "b", "a"]) assert.strictEqual((yield* cached.run(q)).text, q)
          const down = yield* Cache.stats(cached)
          assert.isAtLeast(down.tierErrors["redis"]!, 1)
          assert.isAtLeast(down.tierErrors["redis"]! + down.tierSkipped["redis"]!, 3)
          assert.strictEqual(yield* Ref.get(calls), 4)

          yield* Effect.promise(() => server.start())
          // The client reconnects on its own; wait (bounded) until a write and a read go through again.
          const hitsBefore = (yield* Cache.stats(cached)).hits["redis"]!
          const backAt = yield* Effect.gen(function*() {
            for (let i = 0; i < 100; i++) {
              yield* cached.run(`after${i}`)
              yield* cached.run(`after${i}`)
              if ((yield* Cache.stats(cached)).hits["redis"]! > hitsBefore) return i
              yield* Effect.sleep("50 millis")
            }
            return -1
          })
          assert.isAtLeast(backAt, 0)
        }).pipe(Effect.provide(Tiers))
      }).pipe(Effect.scoped),
    { timeout: 20_000 }
  )

  it.live("a corrupt entry written straight into Redis is a miss, then a good entry", () =>
    Effect.gen(function*() {
      const { cached, calls } = yield* fixture()
      const redis = env.rawRedis()
      const raw = `${env.redisPrefix}${keyOf(cached, "x")}`
      const raw2 = `${env.redisPrefix}${keyOf(cached, "y")}`
      yield* Effect.promise(() => redis.set(raw, "{not json"))
      yield* Effect.promise(() => redis.set(raw2, JSON.stringify({ v: { text: 42 }, e: null, d: 0 })))
      const stats = yield* Effect.gen(function*() {
        assert.strictEqual((yield* cached.run("x")).text, "x")
        assert.strictEqual((yield* cached.run("y")).text, "y")
        assert.strictEqual((yield* cached.run("x")).text, "x")
        assert.strictEqual((yield* cached.run("y")).text, "y")
        return yield* Cache.stats(cached)
      }).pipe(Effect.provide(Cache.layer(env.redisTier())))
      assert.strictEqual(stats.corrupt, 2)
      assert.strictEqual(stats.hits["redis"], 2)
      assert.strictEqual(yield* Ref.get(calls), 2)
      const rewritten = JSON.parse((yield* Effect.promise(() => redis.get(raw)))!)
      assert.deepStrictEqual(rewritten.v, { text: "x" })
      redis.disconnect()
    }))

  const sqlCases: ReadonlyArray<readonly [string, Layer.Layer<SqlClient.SqlClient, unknown>, typeof env.pgTier]> = [
    ["sqlite", env.Sqlite, env.sqliteTier],
    ["postgres", env.Pg, env.pgTier]
  ]
  for (const [name, Client, tier] of sqlCases) {
    it.live(`a corrupt entry written straight into ${name} is a miss, then a good entry`, () =>
      Effect.gen(function*() {
        const { cached, calls } = yield* fixture()
        const stats = yield* Effect.gen(function*() {
          // First use creates the table.
          assert.strictEqual((yield* cached.run("warm")).text, "warm")
          const sql = yield* SqlClient.SqlClient
          const far = Date.now() + 3_600_000
          yield* sql`INSERT INTO ${sql(env.table)} (cache_key, value, expires_at) VALUES (${
            keyOf(cached, "x")
          }, ${"garbage"}, ${far})`
          yield* sql`INSERT INTO ${sql(env.table)} (cache_key, value, expires_at) VALUES (${keyOf(cached, "y")}, ${
            JSON.stringify({ v: ["wrong shape"], e: null, d: 0 })
          }, ${far})`
          assert.strictEqual((yield* cached.run("x")).text, "x")
          assert.strictEqual((yield* cached.run("y")).text, "y")
          assert.strictEqual((yield* cached.run("x")).text, "x")
          assert.strictEqual((yield* cached.run("y")).text, "y")
          const rows = yield* sql<{ value: string }>`SELECT value FROM ${sql(env.table)} WHERE cache_key = ${
            keyOf(cached, "x")
          }`
          assert.deepStrictEqual(JSON.parse(rows[0]!.value).v, { text: "x" })
          return yield* Cache.stats(cached)
        }).pipe(Effect.provide(Cache.layer(tier()).pipe(Layer.provideMerge(Client))))
        assert.strictEqual(stats.corrupt, 2)
        assert.strictEqual(stats.hits[name], 2)
        assert.strictEqual(yield* Ref.get(calls), 3)
      }))
  }

  it.effect("a tier slower than its timeout costs a call one timeout in all, then is skipped (virtual time)", () =>
    Effect.gen(function*() {
      const hanging: Cache.RemoteTier = {
        _tag: "Remote",
        name: "hanging",
        timeout: Duration.millis(100),
        get: () => Effect.never,
        set: () => Effect.never,
        delete: () => Effect.never,
        clear: () => Effect.never
      }
      const { cached, calls } = yield* fixture()
      const fiber = yield* Effect.fork(
        Effect.zip(cached.run("slow"), Cache.stats(cached)).pipe(
          Effect.provide(Cache.layer(Effect.succeed(hanging)))
        )
      )
      // The read times out; the call's tier time is spent and the circuit is open, so the write is skipped.
      // (Before: one timeout per operation, 200 ms here, about four on a miss with a lease.)
      yield* TestClock.adjust("100 millis")
      const [value, stats] = yield* Fiber.join(fiber)
      assert.strictEqual(value.text, "slow")
      assert.strictEqual(yield* Ref.get(calls), 1)
      assert.strictEqual(stats.tierErrors["hanging"], 1)
      assert.strictEqual(stats.tierSkipped["hanging"], 1)
    }))
})

describe("the circuit per tier", () => {
  it.effect("one failure opens it (one warning), calls skip the tier, a background probe closes it", () =>
    Effect.gen(function*() {
      let down = true
      const reads = { attempted: 0 }
      const flaky: Cache.RemoteTier = {
        _tag: "Remote",
        name: "flaky",
        timeout: Duration.millis(100),
        get: () =>
          Effect.suspend(() => {
            reads.attempted++
            return down
              ? Effect.fail(new Cache.CacheTierError({ tier: "flaky", operation: "get", cause: "down" }))
              : Effect.succeedNone
          }),
        set: () => Effect.void,
        delete: () => Effect.void,
        clear: () => Effect.void
      }
      const { cached } = yield* fixture()
      const stats = yield* Effect.gen(function*() {
        for (const q of ["a", "b", "c"]) assert.strictEqual((yield* cached.run(q)).text, q)
        const open = yield* Cache.stats(cached)
        assert.strictEqual(open.tierErrors["flaky"], 1)
        assert.isAtLeast(open.tierSkipped["flaky"]!, 2)
        const attemptedWhileOpen = reads.attempted
        down = false
        // The first probe runs 100 ms after the failure; its success closes the circuit.
        yield* TestClock.adjust("150 millis")
        assert.strictEqual(reads.attempted, attemptedWhileOpen + 1)
        yield* cached.run("d")
        assert.strictEqual(reads.attempted, attemptedWhileOpen + 2)
        return yield* Cache.stats(cached)
      }).pipe(Effect.provide(Cache.layer(Effect.succeed(flaky))))
      assert.strictEqual(stats.tierErrors["flaky"], 1)
    }))

  it.live(
    "PostgreSQL partitioned then healed: calls bounded while cut, the tier used again after (the probe)",
    () =>
      Effect.gen(function*() {
        const proxy = yield* Effect.acquireRelease(
          Effect.promise(() => startProxy(Number(new URL(postgresUrl).port || 5432))),
          (p) => Effect.promise(() => p.close())
        )
        const url = new URL(postgresUrl)
        url.host = `127.0.0.1:${proxy.port}`
        const Pg = PgClient.layer({ url: Redacted.make(url.toString()), applicationName: "flowtune_cache_faults" })
        const { cached } = yield* fixture()
        yield* Effect.gen(function*() {
          assert.strictEqual((yield* cached.run("warm")).text, "warm")
          proxy.partition()
          const start = Date.now()
          for (const q of ["x", "y", "z"]) assert.strictEqual((yield* cached.run(q)).text, q)
          // One tier timeout (500 ms) in all for the first call, then the circuit is open.
          assert.isBelow(Date.now() - start, 500 + 1_500)
          assert.isAtLeast((yield* Cache.stats(cached)).tierSkipped["postgres"]!, 2)
          proxy.heal()
          let back = -1
          for (let i = 0; i < 60 && back < 0; i++) {
            yield* Effect.sleep("100 millis")
            const before = (yield* Cache.stats(cached)).tierSkipped["postgres"]!
            yield* cached.run(`after-${i}`)
            if ((yield* Cache.stats(cached)).tierSkipped["postgres"] === before) back = i
          }
          assert.isAtLeast(back, 0, "the circuit never closed")
        }).pipe(Effect.provide(Cache.layer(env.pgTier()).pipe(Layer.provide(Pg))))
      }).pipe(Effect.scoped),
    { timeout: 30_000 }
  )
})
