/**
 * One "process" of the two-process race (test/faults/redisRace.test.ts):
 * for each round, waits at a barrier in Redis until the other process is
 * there too, then fires `calls` identical calls for the round's new key.
 * The computation counts itself in Redis (INCR), so the parent can count
 * computations per key across both processes. Prints `{"wrong": n}`.
 *
 * Usage: node --import tsx cacheRaceWorker.ts <redis url> <namespace> <rounds> <calls>
 */
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import { Redis } from "ioredis"
import * as Cache from "../../src/Cache.js"
import * as CacheRedis from "../../src/Cache/Redis.js"
import * as Primitive from "../../src/Primitive.js"

const [url = "", namespace = "", rounds = "30", calls = "200"] = process.argv.slice(2)
const raw = new Redis(url)

const cached = Primitive.make(
  "race",
  (q: string) => Effect.as(Effect.promise(() => raw.incr(`${namespace}:count:${q}`)), `answer ${q}`)
).pipe(Cache.wrap({ schema: Schema.String, namespace }))

// A generous tier timeout: this race is about the lease, not about a slow machine spending the call's tier time.
const runtime = ManagedRuntime.make(
  Cache.layer(
    Cache.memory(),
    CacheRedis.tier({ url, timeout: "2 seconds", lease: { ttl: "5 seconds", poll: "5 millis" } })
  )
)

const main = async () => {
  let wrong = 0
  for (let round = 0; round < Number(rounds); round++) {
    const barrier = `${namespace}:barrier:${round}`
    await raw.incr(barrier)
    while (Number(await raw.get(barrier)) < 2) await new Promise((r) => setTimeout(r, 1))
    const key = `round-${round}`
    const answers = await runtime.runPromise(
      Effect.forEach(Array.from({ length: Number(calls) }), () => cached.run(key), { concurrency: "unbounded" })
    )
    wrong += answers.filter((a) => a !== `answer ${key}`).length
  }
  await runtime.dispose()
  raw.disconnect()
  process.stdout.write(JSON.stringify({ wrong }) + "\n")
}

main().catch((error) => {
  process.stderr.write(String(error) + "\n")
  process.exit(1)
})
