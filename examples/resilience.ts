/**
 * Retry, timeout and fallback around a flaky model call.
 *
 * Run: npx tsx examples/resilience.ts
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Primitive from "flowtune/Primitive"

class RateLimited extends Data.TaggedError("RateLimited")<{}> {}
class BadRequest extends Data.TaggedError("BadRequest")<{}> {}

const program = Effect.gen(function*() {
  // Fails twice with a rate limit, then answers.
  const attempts = yield* Ref.make(0)
  const flaky = Primitive.make("flaky-model", (prompt: string) =>
    Effect.gen(function*() {
      const n = yield* Ref.updateAndGet(attempts, (k) => k + 1)
      if (n <= 2) return yield* new RateLimited()
      return `answer to "${prompt}" on attempt ${n}`
    }))
  const retried = Primitive.retry(flaky, {
    schedule: Schedule.exponential("20 millis").pipe(Schedule.intersect(Schedule.recurs(4))),
    while: (error) => error._tag === "RateLimited"
  })
  console.log("retry:   ", yield* Primitive.run(retried, "hello"))

  // A model that hangs is cut off and interrupted.
  const hanging = Primitive.make("hanging-model", (_: string) => Effect.as(Effect.sleep("10 seconds"), "late"))
  const bounded = Primitive.timeout(hanging, "100 millis")
  const timeoutError = yield* Effect.flip(Primitive.run(bounded, "hello"))
  console.log("timeout: ", timeoutError.message)

  // The primary model is down: fall back to the next one in order.
  const primary = Primitive.make("primary", (_: string) => Effect.fail(new RateLimited()))
  const secondary = Primitive.make("secondary", (_: string) => Effect.fail(new BadRequest()))
  const tertiary = Primitive.fromFunction("tertiary", (prompt: string) => `tertiary answered "${prompt}"`)
  console.log("fallback:", yield* Primitive.run(Primitive.fallback(primary, [secondary, tertiary]), "hello"))
})

Effect.runPromise(program)
