import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Ref from "effect/Ref"
import * as TestClock from "effect/TestClock"
import * as Benchmark from "../src/Benchmark.js"
import * as Primitive from "../src/Primitive.js"

const sleeper = Primitive.make("sleeper", (ms: number) => Effect.as(Effect.sleep(`${ms} millis`), ms))

const inVirtualTime = <A, E>(effect: Effect.Effect<A, E>, millis: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(`${millis} millis`)
    return yield* Fiber.join(fiber)
  })

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe("Benchmark.percentile", () => {
  it("uses nearest rank on small samples (hand-computed)", () => {
    assert.strictEqual(Benchmark.percentile([10, 20, 30, 40], 50), 20) // the guide's int(4 * 0.5) picks 30
    assert.strictEqual(Benchmark.percentile([10, 20, 30, 40], 75), 30)
    assert.strictEqual(Benchmark.percentile([10, 20, 30, 40], 76), 40)
    assert.strictEqual(Benchmark.percentile([1, 2, 3], 50), 2)
    assert.strictEqual(Benchmark.percentile([1, 2, 3], 95), 3)
    assert.strictEqual(Benchmark.percentile([7], 99), 7)
    assert.strictEqual(Benchmark.percentile(range(1, 10), 0), 1)
    assert.strictEqual(Benchmark.percentile(range(1, 10), 50), 5) // the guide's helper gives 6
    assert.strictEqual(Benchmark.percentile(range(1, 10), 95), 10)
    assert.strictEqual(Benchmark.percentile(range(1, 10), 100), 10) // the guide's helper indexes past the end
    assert.isNaN(Benchmark.percentile([], 50))
  })

  it("is exact on large samples (hand-computed)", () => {
    const thousand = range(1, 1000)
    assert.deepStrictEqual([50, 95, 99, 100].map((p) => Benchmark.percentile(thousand, p)), [500, 950, 990, 1000])
    const odd = range(1, 1001)
    assert.deepStrictEqual([50, 95, 99].map((p) => Benchmark.percentile(odd, p)), [501, 951, 991])
  })

  it("returns a sample with at least p% of samples at or below it, and fewer than p% strictly below", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.array(FastCheck.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 200 }),
        FastCheck.integer({ min: 1, max: 100 }),
        (values, p) => {
          const sorted = [...values].sort((a, b) => a - b)
          const v = Benchmark.percentile(sorted, p)
          const atOrBelow = sorted.filter((x) => x <= v).length
          const below = sorted.filter((x) => x < v).length
          return sorted.includes(v) && atOrBelow >= (p / 100) * sorted.length && below < (p / 100) * sorted.length
        }
      )
    )
  })

  it("summarises samples", () => {
    assert.deepStrictEqual(Benchmark.stats([30, 10, 20, 10, 30, 20]), {
      count: 6,
      min: 10,
      max: 30,
      mean: 20,
      p50: 20,
      p95: 30,
      p99: 30
    })
  })
})

describe("Benchmark.latency", () => {
  it.effect("measures every case in virtual time, warm-up excluded", () =>
    Effect.gen(function*() {
      const callCount = yield* Ref.make(0)
      const counted = Primitive.make("counted", (ms: number) =>
        Effect.zipRight(Ref.update(callCount, (n) => n + 1), Effect.as(Effect.sleep(`${ms} millis`), ms)))
      const result = yield* inVirtualTime(
        Benchmark.latency(counted, [10, 20, 30], { runs: 2, warmup: 1, progress: false }),
        180
      )
      assert.strictEqual(yield* Ref.get(callCount), 9)
      assert.deepStrictEqual(result.samples, [10, 20, 30, 10, 20, 30])
      assert.deepStrictEqual(
        [result.count, result.min, result.max, result.mean, result.p50, result.p95, result.p99, result.failures],
        [6, 10, 30, 20, 20, 30, 30, 0]
      )
      assert.include(
        Benchmark.formatTable([result]),
        "| counted | 6 | 10.00ms | 20.00ms | 20.00ms | 30.00ms | 30.00ms |"
      )
    }))

  it.effect("counts failed runs apart, and fails with BenchmarkFailed when all fail", () =>
    Effect.gen(function*() {
      const flaky = Primitive.make("flaky", (n: number) =>
        n % 2 === 0 ? Effect.fail("odd one" as const) : Effect.succeed(n))
      const result = yield* Benchmark.latency(flaky, [1, 2, 3], { runs: 2, progress: false })
      assert.strictEqual(result.failures, 2)
      assert.strictEqual(result.count, 4)
      const error = yield* Effect.flip(Benchmark.latency(flaky, [2], { runs: 3, progress: false }))
      assert.strictEqual(error._tag, "BenchmarkFailed")
      assert.strictEqual(error.failures, 3)
    }))
})

describe("Benchmark.throughput", () => {
  it.effect("counts a fixed number of runs with a concurrency level", () =>
    Effect.gen(function*() {
      const result = yield* inVirtualTime(Benchmark.throughput(sleeper, 100, { count: 10, concurrency: 2 }), 500)
      assert.deepStrictEqual([result.completed, result.durationMillis, result.perSecond, result.failures], [
        10,
        500,
        20,
        0
      ])
    }))

  it.effect("runs for a duration", () =>
    Effect.gen(function*() {
      const result = yield* inVirtualTime(
        Benchmark.throughput(sleeper, 100, { duration: "1 second", concurrency: 4 }),
        1000
      )
      assert.deepStrictEqual([result.completed, result.durationMillis, result.perSecond], [40, 1000, 40])
      assert.strictEqual(result.latency.p99, 100)
    }))

  it.effect("compares baseline and optimized as ratios", () =>
    Effect.gen(function*() {
      const slow = Primitive.make("sequential", (_: number) => Effect.as(Effect.sleep("6 seconds"), 1))
      const fast = Primitive.make("parallel", (_: number) => Effect.as(Effect.sleep("2 seconds"), 1))
      const baseline = yield* inVirtualTime(Benchmark.latency(slow, [1], { runs: 3, progress: false }), 18_000)
      const optimized = yield* inVirtualTime(Benchmark.latency(fast, [1], { runs: 3, progress: false }), 6_000)
      const comparison = Benchmark.compare(baseline, optimized)
      assert.strictEqual(comparison.speedup, 3)
      assert.deepStrictEqual(comparison.ratios, { mean: 3, p50: 3, p95: 3, p99: 3 })
      const t1 = yield* inVirtualTime(Benchmark.throughput(slow, 1, { count: 2, concurrency: 1 }), 12_000)
      const t2 = yield* inVirtualTime(Benchmark.throughput(fast, 1, { count: 2, concurrency: 2 }), 2_000)
      assert.strictEqual(Benchmark.compare(t1, t2).ratios["throughput"], 6)
      assert.include(Benchmark.formatComparison(comparison), "| mean | 3.00x |")
    }))
})

describe("Benchmark options", () => {
  it("rejects nonsensical options where the benchmark is written, naming the option (one error type)", () => {
    const option = (f: () => unknown) => {
      try {
        f()
        return "no error"
      } catch (error) {
        assert.instanceOf(error, Primitive.InvalidPrimitive)
        // The deprecated alias still matches.
        assert.instanceOf(error, Benchmark.InvalidBenchmark)
        return (error as Primitive.InvalidPrimitive).option ?? (error as Primitive.InvalidPrimitive).reason
      }
    }
    assert.strictEqual(option(() => Benchmark.latency(sleeper, [])), "cases")
    assert.strictEqual(option(() => Benchmark.latency(sleeper, [1], { runs: 0 })), "runs")
    assert.strictEqual(option(() => Benchmark.latency(sleeper, [1], { runs: NaN })), "runs")
    assert.strictEqual(option(() => Benchmark.latency(sleeper, [1], { warmup: -1 })), "warmup")
    assert.match(option(() => Benchmark.throughput(sleeper, 1, {})), /needs a `duration` or a `count`/)
    assert.strictEqual(option(() => Benchmark.throughput(sleeper, 1, { count: 1, concurrency: 0 })), "concurrency")
    assert.strictEqual(option(() => Benchmark.throughput(sleeper, 1, { duration: "-5 millis" })), "duration")
    assert.strictEqual(option(() => Benchmark.throughput(sleeper, 1, { duration: NaN })), "duration")
    assert.strictEqual(option(() => Benchmark.percentile([1], 101)), "p")
    assert.strictEqual(option(() => Benchmark.latency(sleeper, [1], { runs: 1 })), "no error")
  })
})

describe("Benchmark progress", () => {
  const fakeTerminal = (isTTY: boolean) => {
    const written: Array<string> = []
    return { written, output: { isTTY, write: (text: string) => written.push(text) } }
  }
  const noCi = ConfigProvider.fromMap(new Map())
  const ci = ConfigProvider.fromMap(new Map([["CI", "true"]]))

  it.effect("draws on a terminal, and stays quiet under CI or when piped", () =>
    Effect.gen(function*() {
      const step = Primitive.fromFunction("quick", (n: number) => n)
      const tty = fakeTerminal(true)
      yield* Benchmark.latency(step, [1, 2], { runs: 50, progressOutput: tty.output }).pipe(
        Effect.withConfigProvider(noCi)
      )
      assert.isAbove(tty.written.length, 10)
      assert.isAtMost(tty.written.length, 102) // one redraw per percent, plus clearing the line
      assert.include(tty.written, `\r${Benchmark.renderProgress("quick", 100, 100)}`)
      const underCi = fakeTerminal(true)
      yield* Benchmark.latency(step, [1], { runs: 20, progressOutput: underCi.output }).pipe(
        Effect.withConfigProvider(ci)
      )
      assert.deepStrictEqual(underCi.written, [])
      const piped = fakeTerminal(false)
      yield* Benchmark.latency(step, [1], { runs: 20, progressOutput: piped.output }).pipe(
        Effect.withConfigProvider(noCi)
      )
      assert.deepStrictEqual(piped.written, [])
    }))

  it("renders a bar", () => {
    assert.strictEqual(Benchmark.renderProgress("x", 5, 10, 10), "x [#####-----] 50%")
    assert.strictEqual(Benchmark.renderProgress("x", 10, 10, 4), "x [####] 100%")
  })
})
