import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as Model from "../src/Model.js"
import * as Primitive from "../src/Primitive.js"
import * as RateLimit from "../src/RateLimit.js"

const echo = Primitive.make("echo", (s: string) => Effect.succeed(s))

describe("RateLimit", () => {
  it.effect("fail mode: the call past the limit fails with Model.RateLimited and its wait; the window resets", () =>
    Effect.gen(function*() {
      const limited = RateLimit.limit(echo, {
        key: "fixed",
        limit: 3,
        window: "1 second",
        algorithm: "fixed-window",
        onExceeded: "fail"
      })
      for (const s of ["a", "b", "c"]) expect(yield* Primitive.run(limited, s)).toBe(s)
      const error = yield* Effect.flip(Primitive.run(limited, "d"))
      expect(error).toBeInstanceOf(Model.RateLimited)
      if (error._tag === "RateLimited") expect(Duration.toMillis(error.retryAfter!)).toBeGreaterThan(0)
      yield* TestClock.adjust("1 second")
      expect(yield* Primitive.run(limited, "e")).toBe("e")
    }).pipe(Effect.provide(RateLimit.layerMemory)))

  it.effect("delay mode: calls past the limit wait their turn instead of failing", () =>
    Effect.gen(function*() {
      const limited = RateLimit.limit(echo, { key: "bucket", limit: 2, window: "1 second" })
      const fiber = yield* Effect.fork(Primitive.run(Primitive.forEach(limited), ["1", "2", "3", "4"]))
      yield* TestClock.adjust("100 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("2 seconds")
      expect(yield* Fiber.join(fiber)).toEqual(["1", "2", "3", "4"])
    }).pipe(Effect.provide(RateLimit.layerMemory)))

  it.effect("a key function limits per tenant", () =>
    Effect.gen(function*() {
      const limited = RateLimit.limit(echo, {
        key: (s: string) => s.split(":")[0]!,
        limit: 1,
        window: "1 minute",
        onExceeded: "fail"
      })
      yield* Primitive.run(limited, "acme:1")
      yield* Primitive.run(limited, "globex:1")
      const error = yield* Effect.flip(Primitive.run(limited, "acme:2"))
      expect(error._tag).toBe("RateLimited")
    }).pipe(Effect.provide(RateLimit.layerMemory)))

  it("options are checked where they are given", () => {
    for (const bad of [0, -1, Number.NaN, Infinity, 1.5, "3"]) {
      expect(() => RateLimit.limit(echo, { key: "k", limit: bad as number, window: "1 second" })).toThrow(/"limit"/)
    }
    for (const bad of [0, -5, Number.NaN, "-5 millis", "soon"]) {
      expect(() => RateLimit.limit(echo, { key: "k", limit: 1, window: bad as Duration.DurationInput })).toThrow(
        /"window"/
      )
    }
    expect(() => RateLimit.limit(echo, { key: "", limit: 1, window: "1 second" })).toThrow(/"key"/)
    expect(() => RateLimit.limit(echo, { key: "k", limit: 1, window: "1 second", algorithm: "leaky" as never }))
      .toThrow(/"algorithm"/)
    expect(() => RateLimit.limit(echo, { key: "k", limit: 1, window: "1 second", storeTimeout: -1 })).toThrow(
      /"storeTimeout"/
    )
  })
})
