/**
 * Adaptive concurrency: 40 callers against a simulated model that takes 10
 * calls at once and answers 429 past it (a capacity it does not publish).
 * The limiter starts at 2, finds the capacity and stays near it.
 *
 * Run: npx tsx examples/tail-concurrency.ts            (AIMD, the default; about 20 s)
 *      npx tsx examples/tail-concurrency.ts gradient   (the gradient algorithm: it reads latency too)
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Concurrency from "flowtune/Concurrency"
import * as Model from "flowtune/Model"
import * as Primitive from "flowtune/Primitive"

const program = Effect.gen(function*() {
  const algorithm = process.argv[2] === "gradient" ? "gradient" : "aimd"
  const limiter = yield* Concurrency.make({ name: "provider", initial: 2, queue: 100, algorithm })
  console.log(`algorithm: ${algorithm}`)
  const model = Model.simulated({ name: "capped", latency: "500 millis" }, {
    capacity: { concurrency: 10, retryAfter: "500 millis" },
    retries: 0
  }).pipe(Concurrency.limit(limiter))

  let ok = 0
  let limited = 0
  const deadline = Date.now() + 20_000
  const caller = Effect.gen(function*() {
    while (Date.now() < deadline) {
      const exit = yield* Effect.exit(Primitive.run(model, "hello"))
      if (Exit.isSuccess(exit)) ok++
      else {
        limited++
        yield* Effect.sleep("500 millis") // the retry-after
      }
    }
  })
  const report = Effect.gen(function*() {
    for (let s = 1; s <= 20; s++) {
      yield* Effect.sleep("1 second")
      const stats = yield* Concurrency.stats(limiter)
      console.log(
        `${s} s: limit ${stats.limit}, in flight ${stats.inFlight}, waiting ${stats.waiting}, cuts ${stats.cuts}`
      )
    }
  })
  yield* Effect.all([Effect.all(Array.from({ length: 40 }, () => caller), { concurrency: "unbounded" }), report], {
    concurrency: "unbounded"
  })
  console.log(
    `${ok} answers (capacity: 20 a second, 400 in 20 s), ${limited} answered 429 (${
      (100 * limited / (ok + limited)).toFixed(2)
    }%)`
  )
})

Effect.runPromise(program)
