// One process of the shared rate-limit test: calls as fast as it is let for RUN_MS,
// waiting out each RateLimited, and prints how many calls were admitted.
import * as Effect from "effect/Effect"
import * as Primitive from "../../src/Primitive.js"
import * as RateLimit from "../../src/RateLimit.js"
import * as RateLimitRedis from "../../src/RateLimit/Redis.js"

const runMs = Number(process.env.RUN_MS ?? 3000)
const limited = Primitive.make("call", (i: number) => Effect.succeed(i)).pipe(
  RateLimit.limit({ key: "shared", limit: 10, window: "1 second", algorithm: "fixed-window", onExceeded: "fail" })
)
const store = process.env.STORE === "memory"
  ? RateLimit.layerMemory
  : RateLimitRedis.layer({ port: Number(process.env.REDIS_PORT ?? 6379), prefix: process.env.PREFIX! })

// Both processes start their loop together: each says it is ready, then waits for "go" on stdin.
const go = Effect.async<void>((resume) => {
  console.log("ready")
  process.stdin.once("data", () => resume(Effect.void))
})

const main = Effect.gen(function*() {
  yield* go
  const end = Date.now() + runMs
  let admitted = 0
  while (Date.now() < end) {
    const exit = yield* Effect.either(Primitive.run(limited, admitted))
    if (exit._tag === "Right") admitted++
    else if (exit.left._tag === "RateLimited") yield* Effect.sleep(exit.left.retryAfter ?? "10 millis")
    else return yield* Effect.die(exit.left)
  }
  console.log(JSON.stringify({ admitted }))
  process.stdin.destroy()
})
Effect.runPromise(Effect.provide(main, store)).then(() => process.exit(0), (e) => {
  console.error(e)
  process.exit(1)
})
