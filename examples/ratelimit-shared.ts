/**
 * A rate limit shared across processes: two independent stacks (two Redis connections, as two processes
 * would have) each try 15 calls against one budget of 10 calls per 10 seconds. Together they get 10
 * answers; the other 20 calls fail at once with `Model.RateLimited` and the wait. Without Redis (no
 * REDIS_URL) each stack gets an in-memory store of its own, and each gets its 10: a limit per process,
 * which is what the Redis store is for.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/ratelimit-shared.ts
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Primitive from "flowtune/Primitive"
import * as RateLimit from "flowtune/RateLimit"
import * as RateLimitRedis from "flowtune/RateLimit/Redis"

const redisUrl = process.env.REDIS_URL
// A key prefix of its own, so two runs of this example never share counts.
const prefix = `flowtune:example:${Date.now()}:`

const call = Primitive.make("provider", (prompt: string) => Effect.succeed(`answer to ${prompt}`))
const limited = call.pipe(
  RateLimit.limit({ key: "provider", limit: 10, window: "10 seconds", algorithm: "fixed-window", onExceeded: "fail" })
)

const store = () => {
  if (redisUrl === undefined) return RateLimit.layerMemory
  const url = new URL(redisUrl)
  return RateLimitRedis.layer({ host: url.hostname, port: Number(url.port || 6379), prefix })
}

const oneProcess = (name: string) =>
  Effect.gen(function*() {
    let answered = 0
    let refused = 0
    for (let i = 0; i < 15; i++) {
      const exit = yield* Effect.exit(Primitive.run(limited, `${name}-${i}`))
      if (Exit.isSuccess(exit)) answered++
      else if (exit.cause._tag === "Fail" && exit.cause.error._tag === "RateLimited") {
        refused++
        if (refused === 1) {
          const wait = exit.cause.error.retryAfter
          console.log(`${name}: first refusal, retry after ${wait === undefined ? "?" : Duration.format(wait)}`)
        }
      } else return yield* Effect.failCause(exit.cause)
    }
    return { name, answered, refused }
  }).pipe(Effect.provide(store()))

const program = Effect.gen(function*() {
  const results = yield* Effect.all([oneProcess("a"), oneProcess("b")], { concurrency: 2 })
  for (const r of results) console.log(`${r.name}: ${r.answered} answered, ${r.refused} refused`)
  const total = results.reduce((n, r) => n + r.answered, 0)
  console.log(`together: ${total} answered against a limit of 10 (${redisUrl ? "shared in Redis" : "one store each"})`)
})

Effect.runPromise(program)
