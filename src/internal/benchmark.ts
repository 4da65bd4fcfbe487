import type * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Benchmark from "../Benchmark.js"
import * as Primitive from "../Primitive.js"
import * as options_ from "./options.js"
import { percentile as nearestRank } from "./stats.js"

// Nonsensical options are a bug in the caller's program, reported where it is
// written, like every option in the library (`options.ts`: a thrown
// `Primitive.InvalidPrimitive`, of which `Benchmark.InvalidBenchmark` is an alias).
const checkProgress = (owner: string, options: Benchmark.ProgressOptions | undefined): void => {
  if (options?.progress !== undefined) options_.oneOf(owner, "progress", options.progress, ["auto", true, false])
  const output = options?.progressOutput
  if (output !== undefined && (typeof output !== "object" || output === null || typeof output.write !== "function")) {
    options_.invalid(owner, "progressOutput", "an object with a write(text) method", output)
  }
}

const nameOf = (owner: string, given: string | undefined, fallback: string): string =>
  given === undefined ? fallback : options_.nonEmptyString(owner, "name", given)

/** @internal */
export const percentile = (sorted: ReadonlyArray<number>, p: number): number => {
  options_.number("Benchmark.percentile", "p", p, { min: 0, max: 100 })
  return nearestRank(sorted, p)
}

/** @internal */
export const stats = (samples: ReadonlyArray<number>): Benchmark.LatencyStats => {
  const sorted = [...samples].sort((a, b) => a - b)
  const count = sorted.length
  let sum = 0
  for (const x of sorted) sum += x
  return {
    count,
    min: count === 0 ? Number.NaN : sorted[0]!,
    max: count === 0 ? Number.NaN : sorted[count - 1]!,
    mean: count === 0 ? Number.NaN : sum / count,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99)
  }
}

// ---------------------------------------------------------------------------
// progress
// ---------------------------------------------------------------------------

/** @internal */
export const renderProgress = (label: string, done: number, total: number, width = 30): string => {
  const ratio = total <= 0 ? 1 : Math.min(1, Math.max(0, done / total))
  const filled = Math.round(ratio * width)
  return `${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${Math.floor(ratio * 100)}%`
}

interface Progress {
  readonly update: (done: number, total: number) => void
  readonly finish: () => void
}

const silent: Progress = { update: () => {}, finish: () => {} }

const isCi = Effect.orElseSucceed(
  Effect.map(
    Config.option(Config.string("CI")),
    (ci) => Option.isSome(ci) && ci.value !== "" && ci.value !== "false" && ci.value !== "0"
  ),
  () => false
)

const makeProgress = (label: string, options: Benchmark.ProgressOptions | undefined): Effect.Effect<Progress> =>
  Effect.gen(function*() {
    const mode = options?.progress ?? "auto"
    if (mode === false) return silent
    const output = options?.progressOutput ?? process.stderr
    if (mode === "auto" && (output.isTTY !== true || (yield* isCi))) return silent
    let shown = -1
    return {
      update(done, total) {
        const percent = total <= 0 ? 100 : Math.floor((done / total) * 100)
        // Redraw only when the figure changes: a terminal write per run would cost more than a fast primitive.
        if (percent === shown) return
        shown = percent
        output.write(`\r${renderProgress(label, done, total)}`)
      },
      finish() {
        if (shown >= 0) output.write("\r\x1b[K")
      }
    }
  })

// ---------------------------------------------------------------------------
// latency
// ---------------------------------------------------------------------------

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(
    Clock.currentTimeNanos,
    (start) =>
      Effect.flatMap(Effect.exit(effect), (exit) =>
        Effect.map(Clock.currentTimeNanos, (end) => [Number(end - start) / 1_000_000, exit] as const))
  )

/** @internal */
export const latency = <In, Out, E, R>(
  self: Primitive.Primitive<In, Out, E, R>,
  cases: ReadonlyArray<In>,
  options?: Benchmark.LatencyOptions
): Effect.Effect<Benchmark.LatencyResult, Benchmark.BenchmarkFailed, R> => {
  const owner = `Benchmark.latency(${self.name})`
  const runs = options?.runs === undefined ? 10 : options_.positiveInt(owner, "runs", options.runs)
  const warmup = options?.warmup === undefined ? 0 : options_.nonNegativeInt(owner, "warmup", options.warmup)
  if (!Array.isArray(cases) || cases.length === 0) {
    options_.invalid(owner, "cases", "a non-empty array of inputs", cases)
  }
  checkProgress(owner, options)
  const name = nameOf(owner, options?.name, self.name)
  const once = (input: In) => Primitive.run(self, input, {}) as Effect.Effect<Out, E, R>
  return Effect.gen(function*() {
    for (let w = 0; w < warmup; w++) {
      for (const input of cases) yield* Effect.exit(once(input))
    }
    const progress = yield* makeProgress(name, options)
    const total = runs * cases.length
    const samples: Array<number> = []
    let failures = 0
    let lastFailure: Cause.Cause<E> | undefined
    for (let run = 0; run < runs; run++) {
      for (const input of cases) {
        const [millis, exit] = yield* timed(once(input))
        if (Exit.isSuccess(exit)) samples.push(millis)
        else {
          failures++
          lastFailure = exit.cause
        }
        progress.update(samples.length + failures, total)
      }
    }
    progress.finish()
    if (samples.length === 0) {
      return yield* Effect.fail(
        new Benchmark.BenchmarkFailed({ benchmark: name, failures, cause: lastFailure! })
      )
    }
    return { _tag: "Latency" as const, name, runs, cases: cases.length, failures, samples, ...stats(samples) }
  }).pipe(Effect.withSpan("Benchmark.latency", { attributes: { "flowtune.benchmark": name } }))
}

// ---------------------------------------------------------------------------
// throughput
// ---------------------------------------------------------------------------

/** @internal */
export const throughput = <In, Out, E, R>(
  self: Primitive.Primitive<In, Out, E, R>,
  input: In,
  options: Benchmark.ThroughputOptions
): Effect.Effect<Benchmark.ThroughputResult, Benchmark.BenchmarkFailed, R> => {
  const owner = `Benchmark.throughput(${self.name})`
  if (typeof options !== "object" || options === null) {
    options_.invalid(owner, "options", "an object with a duration or a count", options)
  }
  const concurrency = options.concurrency === undefined
    ? 1
    : options_.positiveInt(owner, "concurrency", options.concurrency)
  const warmup = options.warmup === undefined ? 0 : options_.nonNegativeInt(owner, "warmup", options.warmup)
  const count = options.count === undefined ? undefined : options_.positiveInt(owner, "count", options.count)
  // Checked before decoding: `Duration.decode` reads "-5 millis" and NaN as zero.
  const duration = options.duration === undefined ? undefined : options_.duration(owner, "duration", options.duration)
  if (count === undefined && duration === undefined) {
    options_.invalidShape(owner, "throughput needs a `duration` or a `count`")
  }
  checkProgress(owner, options)
  const name = nameOf(owner, options.name, self.name)
  const once = Primitive.run(self, input, {}) as Effect.Effect<Out, E, R>
  return Effect.gen(function*() {
    for (let w = 0; w < warmup; w++) yield* Effect.exit(once)
    const progress = yield* makeProgress(name, options)
    const start = yield* Clock.currentTimeNanos
    const deadline = duration === undefined ? undefined : start + Duration.toNanos(duration).pipe(Option.getOrThrow)
    const durationNanos = deadline === undefined ? 0 : Number(deadline - start)
    let issued = 0
    let completed = 0
    let failures = 0
    let lastFailure: Cause.Cause<E> | undefined
    const samples: Array<number> = []
    // Workers share plain counters: fibers of one runtime never run at the same instant.
    const worker = Effect.gen(function*() {
      while (true) {
        if (count !== undefined && issued >= count) return
        if (deadline !== undefined && (yield* Clock.currentTimeNanos) >= deadline) return
        issued++
        const [millis, exit] = yield* timed(once)
        if (Exit.isSuccess(exit)) {
          completed++
          samples.push(millis)
        } else {
          failures++
          lastFailure = exit.cause
        }
        if (count !== undefined) progress.update(completed + failures, count)
        else {
          const now = yield* Clock.currentTimeNanos
          progress.update(Number(now - start), durationNanos)
        }
      }
    })
    yield* Effect.all(Array.from({ length: concurrency }, () => worker), { concurrency: "unbounded", discard: true })
    const end = yield* Clock.currentTimeNanos
    progress.finish()
    if (completed === 0 && failures > 0) {
      return yield* Effect.fail(
        new Benchmark.BenchmarkFailed({ benchmark: name, failures, cause: lastFailure! })
      )
    }
    const durationMillis = Number(end - start) / 1_000_000
    return {
      _tag: "Throughput" as const,
      name,
      completed,
      failures,
      concurrency,
      durationMillis,
      perSecond: durationMillis > 0 ? completed / (durationMillis / 1000) : completed === 0 ? 0 : Infinity,
      latency: stats(samples)
    }
  }).pipe(Effect.withSpan("Benchmark.throughput", { attributes: { "flowtune.benchmark": name } }))
}

// ---------------------------------------------------------------------------
// errors, comparison, tables
// ---------------------------------------------------------------------------

/** @internal */
export const compare = (
  baseline: Benchmark.LatencyResult | Benchmark.ThroughputResult,
  optimized: Benchmark.LatencyResult | Benchmark.ThroughputResult
): Benchmark.Comparison => {
  const b = baseline._tag === "Latency" ? baseline : baseline.latency
  const o = optimized._tag === "Latency" ? optimized : optimized.latency
  const ratio = (x: number, y: number) => (y === 0 ? (x === 0 ? 1 : Infinity) : x / y)
  const ratios: Record<string, number> = {
    mean: ratio(b.mean, o.mean),
    p50: ratio(b.p50, o.p50),
    p95: ratio(b.p95, o.p95),
    p99: ratio(b.p99, o.p99)
  }
  if (baseline._tag === "Throughput" && optimized._tag === "Throughput") {
    ratios["throughput"] = ratio(optimized.perSecond, baseline.perSecond)
  }
  return { baseline: baseline.name, optimized: optimized.name, speedup: ratios.mean!, ratios }
}

const ms = (x: number) =>
  Number.isNaN(x)
    ? "-"
    : x >= 100
    ? `${x.toLocaleString("en-US", { maximumFractionDigits: 0 })}ms`
    : `${x.toFixed(2)}ms`

/** @internal */
export const formatTable = (
  results: ReadonlyArray<Benchmark.LatencyResult | Benchmark.ThroughputResult>
): string => {
  const lines: Array<string> = []
  const latencies = results.filter((r): r is Benchmark.LatencyResult => r._tag === "Latency")
  const throughputs = results.filter((r): r is Benchmark.ThroughputResult => r._tag === "Throughput")
  if (latencies.length > 0) {
    lines.push(
      "| benchmark | n | min | mean | p50 | p95 | p99 | max | failures |",
      "|---|---|---|---|---|---|---|---|---|"
    )
    for (const r of latencies) {
      lines.push(
        `| ${r.name} | ${r.count} | ${ms(r.min)} | ${ms(r.mean)} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ${
          ms(r.max)
        } | ${r.failures} |`
      )
    }
  }
  if (throughputs.length > 0) {
    if (lines.length > 0) lines.push("")
    lines.push(
      "| benchmark | concurrency | completed | duration | req/s | p50 | p95 | failures |",
      "|---|---|---|---|---|---|---|---|"
    )
    for (const r of throughputs) {
      lines.push(
        `| ${r.name} | ${r.concurrency} | ${r.completed} | ${ms(r.durationMillis)} | ${r.perSecond.toFixed(2)} | ${
          ms(r.latency.p50)
        } | ${ms(r.latency.p95)} | ${r.failures} |`
      )
    }
  }
  return lines.join("\n")
}

/** @internal */
export const formatComparison = (comparison: Benchmark.Comparison): string => {
  const lines = [`${comparison.optimized} vs ${comparison.baseline}`, "| measure | x |", "|---|---|"]
  for (const [key, value] of Object.entries(comparison.ratios)) lines.push(`| ${key} | ${value.toFixed(2)}x |`)
  return lines.join("\n")
}
