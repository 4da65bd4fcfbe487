import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as Concurrency from "../src/Concurrency.js"
import * as Model from "../src/Model.js"
import * as Primitive from "../src/Primitive.js"
import { runVirtual } from "./support/virtualTime.js"

/**
 * A backend that takes `capacity` calls at once (100 ms each) and answers
 * 429 (`Model.RateLimited`) past it, as the simulated model's `capacity`
 * does. A plain primitive because the load tests make thousands of calls.
 * Past `knee` calls in flight its latency grows in proportion (a call
 * admitted as the n-th takes 100 * n / knee ms): it queues before it rejects.
 */
const backend = (capacity: number, knee = capacity) => {
  let inFlight = 0
  return Primitive.make("backend", (q: string) =>
    Effect.suspend(() => {
      if (inFlight >= capacity) {
        return Effect.fail(new Model.RateLimited({ model: "backend", retryAfter: Duration.millis(100) }))
      }
      inFlight++
      return Effect.as(Effect.sleep(Math.round(100 * Math.max(1, inFlight / knee))), q).pipe(
        Effect.ensuring(Effect.sync(() => inFlight--))
      )
    }))
}

/**
 * `workers` closed-loop callers for `seconds` of virtual time; returns the
 * successes, the 429s and the limit sampled every 100 ms.
 */
const drive = <E>(
  call: Primitive.Primitive<string, unknown, E>,
  limiter: Concurrency.Limiter,
  workers: number,
  seconds: number
) =>
  Effect.gen(function*() {
    let ok = 0
    let limited = 0
    let stop = false
    const worker = Effect.gen(function*() {
      while (!stop) {
        const exit = yield* Effect.exit(Primitive.run(call, "q"))
        if (Exit.isSuccess(exit)) {
          ok++
        } else {
          // A 429 is answered at once: a caller waits its retry-after before the next call.
          limited++
          yield* Effect.sleep("100 millis")
        }
      }
    })
    const fibers = yield* Effect.forEach(Array.from({ length: workers }), () => Effect.fork(worker))
    const limits: Array<number> = []
    for (let t = 0; t < seconds * 10; t++) {
      yield* Effect.sleep("100 millis")
      limits.push((yield* Concurrency.stats(limiter)).limit)
    }
    stop = true
    yield* Effect.forEach(fibers, Fiber.join)
    return { ok, limited, limits }
  })

/**
 * Load tests run on a discrete-event clock (see test/support/virtualTime.ts):
 * the TestClock costs milliseconds per wake-up, these runs have thousands.
 */
const virtual = <A, E>(effect: Effect.Effect<A, E>): A => {
  const { exit } = runVirtual(effect)
  if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
  return exit.value
}

describe("Concurrency", () => {
  it("against a backend of capacity 20, grows from 2 and settles near 20 with under 1% of 429s", () => {
    const { limited, limits, ok } = virtual(Effect.gen(function*() {
      const limiter = yield* Concurrency.make({ name: "grow", initial: 2 })
      const call = backend(20).pipe(Concurrency.limit(limiter))
      return yield* drive(call, limiter, 60, 120)
    }))
    const lastHalf = limits.slice(limits.length / 2)
    const mean = lastHalf.reduce((a, b) => a + b, 0) / lastHalf.length
    assert.isTrue(mean >= 17 && mean <= 21, `mean limit over the last 60 s: ${mean}`)
    // Capacity: 20 calls per 100 ms = 200/s; 120 s -> 24,000 at most, the first seconds ramp up.
    assert.isTrue(ok >= 0.85 * 24_000, `throughput ${ok}`)
    assert.isTrue(limited / (ok + limited) < 0.01, `429 rate ${limited / (ok + limited)}`)
  })

  it("starting far above capacity, it backs off after the 429s", () => {
    const { limits, stats } = virtual(Effect.gen(function*() {
      const limiter = yield* Concurrency.make({ name: "backoff", initial: 80 })
      const call = backend(20).pipe(Concurrency.limit(limiter))
      const { limits } = yield* drive(call, limiter, 100, 5)
      return { limits, stats: yield* Concurrency.stats(limiter) }
    }))
    assert.isTrue(stats.cuts >= 10 && stats.overloads > 0, JSON.stringify(stats))
    assert.isTrue(limits[limits.length - 1]! <= 21, `limit after 5 s: ${limits[limits.length - 1]}`)
  })

  it.effect("the simulated model's hidden capacity answers RateLimited past it, and the limiter cuts on it", () =>
    Effect.gen(function*() {
      const model = Model.simulated({ name: "capped", latency: "1 second" }, {
        capacity: { concurrency: 2, retryAfter: "300 millis" },
        retries: 0
      })
      const limiter = yield* Concurrency.make({ name: "sim", initial: 3 })
      const limited = model.pipe(Concurrency.limit(limiter))
      const fibers = yield* Effect.forEach(["a", "b", "c"], (q) => Effect.fork(Effect.exit(Primitive.run(limited, q))))
      yield* TestClock.adjust("1 second")
      const exits = yield* Effect.forEach(fibers, Fiber.join)
      const failures = exits.filter(Exit.isFailure)
      assert.strictEqual(failures.length, 1)
      assert.deepStrictEqual(
        failures.map((e) => Exit.isFailure(e) && e.cause._tag === "Fail" ? e.cause.error : undefined),
        [new Model.RateLimited({ model: "capped", retryAfter: Duration.millis(300) })]
      )
      const stats = yield* Concurrency.stats(limiter)
      assert.deepStrictEqual([stats.limit, stats.cuts], [2, 1])
    }))

  it.effect("the wait queue is bounded: past it, a caller fails at once with Overloaded", () =>
    Effect.gen(function*() {
      const limiter = yield* Concurrency.make({ name: "queue", initial: 2, min: 2, max: 2, queue: 3 })
      const slow = Primitive.make("slow", (q: string) => Effect.as(Effect.sleep("1 second"), q)).pipe(
        Concurrency.limit(limiter)
      )
      const fibers = yield* Effect.forEach(["a", "b", "c", "d", "e"], (q) => Effect.fork(Primitive.run(slow, q)))
      yield* Effect.yieldNow()
      assert.deepStrictEqual(
        yield* Effect.map(Concurrency.stats(limiter), (s) => [s.inFlight, s.waiting]),
        [2, 3]
      )
      const refused = yield* Effect.flip(Primitive.run(slow, "f"))
      assert.strictEqual(refused._tag, "Overloaded")
      assert.deepStrictEqual([refused.limit, refused.waiting], [2, 3])
      yield* TestClock.adjust("3 seconds")
      const results = yield* Effect.forEach(fibers, Fiber.join)
      assert.deepStrictEqual(results, ["a", "b", "c", "d", "e"])
      assert.strictEqual((yield* Concurrency.stats(limiter)).rejected, 1)
    }))

  it.effect("an interrupted waiter frees its place in the queue", () =>
    Effect.gen(function*() {
      const limiter = yield* Concurrency.make({ name: "interrupt", initial: 1, min: 1, max: 1, queue: 1 })
      const slow = Primitive.make("slow", (q: string) => Effect.as(Effect.sleep("1 second"), q)).pipe(
        Concurrency.limit(limiter)
      )
      const running = yield* Effect.fork(Primitive.run(slow, "running"))
      const waiting = yield* Effect.fork(Primitive.run(slow, "waiting"))
      yield* Effect.yieldNow()
      assert.strictEqual((yield* Effect.flip(Primitive.run(slow, "refused")))._tag, "Overloaded")
      yield* Fiber.interrupt(waiting)
      assert.strictEqual((yield* Concurrency.stats(limiter)).waiting, 0)
      const next = yield* Effect.fork(Primitive.run(slow, "next"))
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(yield* Fiber.join(running), "running")
      assert.strictEqual(yield* Fiber.join(next), "next")
      const stats = yield* Concurrency.stats(limiter)
      assert.deepStrictEqual([stats.inFlight, stats.waiting], [0, 0])
    }))

  it("latency growth cuts the limit", () => {
    const { after, before } = virtual(Effect.gen(function*() {
      let latency = 100
      const limiter = yield* Concurrency.make({ name: "latency", initial: 10 })
      const call = Primitive.make(
        "degrading",
        (q: string) => Effect.suspend(() => Effect.as(Effect.sleep(`${latency} millis`), q))
      ).pipe(Concurrency.limit(limiter))
      const fiber = yield* Effect.fork(drive(call, limiter, 20, 10))
      yield* Effect.sleep("5 seconds")
      const before = yield* Concurrency.stats(limiter)
      latency = 1_000
      yield* Fiber.join(fiber)
      return { before, after: yield* Concurrency.stats(limiter) }
    }))
    assert.strictEqual(before.cuts, 0)
    assert.isTrue(after.cuts > 0 && after.limit < before.limit, `${JSON.stringify(before)} -> ${JSON.stringify(after)}`)
  })

  it.effect("a call slower than `timeout` counts as an overload (it is not cut short)", () =>
    Effect.gen(function*() {
      const limiter = yield* Concurrency.make({ name: "slow", initial: 4, timeout: "500 millis" })
      const step = (ms: number) =>
        Primitive.make("step", (q: string) => Effect.as(Effect.sleep(`${ms} millis`), q)).pipe(
          Concurrency.limit(limiter)
        )
      const fast = yield* Effect.fork(Primitive.run(step(400), "fast"))
      const slow = yield* Effect.fork(Primitive.run(step(1_000), "slow"))
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual([yield* Fiber.join(fast), yield* Fiber.join(slow)], ["fast", "slow"])
      const stats = yield* Concurrency.stats(limiter)
      assert.deepStrictEqual([stats.overloads, stats.cuts, stats.limit], [1, 1, 3])
    }))

  describe("algorithm: gradient", () => {
    const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length

    it("against a backend of capacity 20, grows from 2 and settles near 20, backing off after the 429s", () => {
      const { limited, limits, ok } = virtual(Effect.gen(function*() {
        const limiter = yield* Concurrency.make({ name: "gradient", initial: 2, algorithm: "gradient" })
        return yield* drive(backend(20).pipe(Concurrency.limit(limiter)), limiter, 60, 60)
      }))
      const settled = mean(limits.slice(limits.length / 2))
      assert.isTrue(settled >= 17 && settled <= 21, `mean limit over the last 30 s: ${settled}`)
      assert.isTrue(Math.max(...limits) <= 22, `peak limit ${Math.max(...limits)}`)
      // 200 calls/s at most for 60 s. Flat latency tells the gradient nothing, so only
      // 429s stop its growth: it probes the wall faster than AIMD (measured: about 2% of calls).
      assert.isTrue(ok >= 0.85 * 12_000, `throughput ${ok}`)
      assert.isTrue(limited / (ok + limited) < 0.03, `429 rate ${limited / (ok + limited)}`)
    })

    it("stops growing as latency grows, before the backend answers 429 (AIMD runs into the 429s)", () => {
      // Latency grows past 20 calls in flight; 429 past 40.
      const run = (algorithm: "aimd" | "gradient") =>
        virtual(Effect.gen(function*() {
          const limiter = yield* Concurrency.make({ name: algorithm, initial: 2, algorithm })
          return yield* drive(backend(40, 20).pipe(Concurrency.limit(limiter)), limiter, 120, 60)
        }))
      const gradient = run("gradient")
      const aimd = run("aimd")
      assert.strictEqual(gradient.limited, 0)
      const settled = mean(gradient.limits.slice(gradient.limits.length / 2))
      // Tolerance 1.5 and headroom 4: about 1.5 * 20 + 4 = 34.
      assert.isTrue(settled >= 25 && settled <= 37, `gradient: mean limit over the last 30 s: ${settled}`)
      assert.isTrue(Math.max(...gradient.limits) < 40, `gradient: peak limit ${Math.max(...gradient.limits)}`)
      assert.isTrue(aimd.limited > 0 && Math.max(...aimd.limits) >= 40, `aimd: ${aimd.limited} 429s`)
    })

    it("latency growth shrinks the limit", () => {
      const { after, before } = virtual(Effect.gen(function*() {
        let latency = 100
        const limiter = yield* Concurrency.make({ name: "latency", initial: 10, algorithm: "gradient" })
        const call = Primitive.make(
          "degrading",
          (q: string) => Effect.suspend(() => Effect.as(Effect.sleep(`${latency} millis`), q))
        ).pipe(Concurrency.limit(limiter))
        const fiber = yield* Effect.fork(drive(call, limiter, 40, 30))
        yield* Effect.sleep("10 seconds")
        const before = yield* Concurrency.stats(limiter)
        latency = 1_000
        yield* Fiber.join(fiber)
        return { before, after: yield* Concurrency.stats(limiter) }
      }))
      // Growth is the headroom times the smoothing (0.8) per round trip of flat latency.
      assert.isTrue(before.limit >= 30 && before.overloads === 0, JSON.stringify(before))
      // 10x the latency: the gradient is clamped at 0.5, the limit falls by a tenth per round trip.
      assert.isTrue(
        after.cuts > 0 && after.limit < before.limit / 2,
        `${JSON.stringify(before)} -> ${JSON.stringify(after)}`
      )
    })
  })

  it("checks its options where they are given", () => {
    const bad: ReadonlyArray<Concurrency.Options> = [
      { name: "" },
      { name: "x", initial: 0 },
      { name: "x", min: 5, max: 4 },
      { name: "x", backoff: 1 },
      { name: "x", queue: -1 },
      { name: "x", timeout: -5 },
      // @ts-expect-error: not an algorithm
      { name: "x", algorithm: "vegas" },
      { name: "x", smoothing: 0.5 },
      { name: "x", algorithm: "aimd", headroom: 2 },
      { name: "x", algorithm: "gradient", smoothing: 0 },
      { name: "x", algorithm: "gradient", smoothing: 1.5 },
      { name: "x", algorithm: "gradient", headroom: 0 },
      { name: "x", algorithm: "gradient", latencyTolerance: 1 }
    ]
    for (const options of bad) assert.throws(() => Concurrency.make(options), /option "/)
  })
})
