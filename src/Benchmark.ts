/**
 * Benchmarking a workflow the way the guide's "Performance Benchmarking"
 * section does, as library functions for your own production measurements
 * (flowtune's own `bench/` scripts are separate):
 *
 * - `latency(p, cases, { runs, warmup })`: every case `runs` times, each in a
 *   fresh run context -> min, max, mean, p50, p95, p99 (nearest-rank
 *   percentiles: correct at p100 and unbiased on small samples, unlike the
 *   guide's `int(n * p / 100)` index).
 * - `throughput(p, input, { duration | count, concurrency })`: completed runs
 *   per second with `concurrency` callers.
 * - `compare(baseline, optimized)`: the speed-up as ratios.
 * - `formatTable`, `formatComparison`: printable markdown tables.
 *
 * Times come from Effect's `Clock`, so benchmarks run in virtual time under
 * the `TestClock`. Long runs draw a progress bar on stderr when it is a
 * terminal, and stay quiet under CI (`CI` set) or when piped.
 *
 * It is its own module rather than part of `Metrics` because it is a
 * different job: `Metrics` observes runs as they happen, `Benchmark` drives
 * runs on purpose and summarises them.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Benchmark, Primitive } from "flowtune"
 *
 * const answer = Primitive.make("answer", (q: string) => Effect.as(Effect.sleep("20 millis"), q.length))
 *
 * const program = Effect.gen(function*() {
 *   const result = yield* Benchmark.latency(answer, ["a", "bb"], { runs: 10, warmup: 1 })
 *   console.log(Benchmark.formatTable([result]))
 * })
 * ```
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as internal from "./internal/benchmark.js"
import * as Primitive from "./Primitive.js"

/**
 * Summary of a set of latencies, in milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface LatencyStats {
  readonly count: number
  readonly min: number
  readonly max: number
  readonly mean: number
  readonly p50: number
  readonly p95: number
  readonly p99: number
}

/**
 * The result of `latency`.
 *
 * @since 0.1.0
 * @category models
 */
export interface LatencyResult extends LatencyStats {
  readonly _tag: "Latency"
  readonly name: string
  readonly runs: number
  readonly cases: number
  /** Failed runs; they are left out of the statistics. */
  readonly failures: number
  /** Every successful run's latency, in the order measured. */
  readonly samples: ReadonlyArray<number>
}

/**
 * The result of `throughput`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ThroughputResult {
  readonly _tag: "Throughput"
  readonly name: string
  readonly completed: number
  readonly failures: number
  readonly concurrency: number
  /** From the first call to the last completion (calls in flight at the deadline finish). */
  readonly durationMillis: number
  /** Successful runs per second. */
  readonly perSecond: number
  readonly latency: LatencyStats
}

/**
 * Where and whether to draw a progress bar.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProgressOptions {
  /** `"auto"` (default): only when the output is a terminal and `CI` is not set. */
  readonly progress?: "auto" | boolean | undefined
  /** Default `process.stderr`. */
  readonly progressOutput?: { readonly isTTY?: boolean | undefined; write(text: string): unknown } | undefined
}

/**
 * Options of `latency`.
 *
 * @since 0.1.0
 * @category models
 */
export interface LatencyOptions extends ProgressOptions {
  /** Passes over all cases that are measured. Default 10. */
  readonly runs?: number | undefined
  /** Passes over all cases run first and not measured (warms caches, JIT, connections). Default 0. */
  readonly warmup?: number | undefined
  /** The name in results and tables. Default: the primitive's. */
  readonly name?: string | undefined
}

/**
 * Options of `throughput`: a `duration`, a `count`, or both (whichever ends
 * first).
 *
 * @since 0.1.0
 * @category models
 */
export interface ThroughputOptions extends ProgressOptions {
  readonly duration?: Duration.DurationInput | undefined
  readonly count?: number | undefined
  /** Callers running at the same time. Default 1. */
  readonly concurrency?: number | undefined
  /** Runs before the measurement starts. Default 0. */
  readonly warmup?: number | undefined
  readonly name?: string | undefined
}

/**
 * Every measured run failed: there is nothing to summarise. Holds the last
 * failure.
 *
 * @since 0.1.0
 * @category errors
 */
export class BenchmarkFailed extends Data.TaggedError("BenchmarkFailed")<{
  readonly benchmark: string
  readonly failures: number
  readonly cause: Cause.Cause<unknown>
}> {
  override get message() {
    return `Benchmark "${this.benchmark}": all ${this.failures} runs failed`
  }
}

/**
 * Options that make no sense (no cases, a negative run count, neither a
 * duration nor a count, a percentile outside 0..100) are reported like every
 * option in the library: `Primitive.InvalidPrimitive`, thrown where the
 * benchmark is written (it is a bug, not a failure of a run), naming the
 * option, the value and the range. This alias keeps
 * `instanceof Benchmark.InvalidBenchmark` working; its `_tag` is
 * `"InvalidPrimitive"`.
 *
 * @since 0.1.0
 * @category errors
 * @deprecated Use `Primitive.InvalidPrimitive`: one construction error for the whole library.
 */
export const InvalidBenchmark: typeof Primitive.InvalidPrimitive = Primitive.InvalidPrimitive

/**
 * @since 0.1.0
 * @category errors
 * @deprecated Use `Primitive.InvalidPrimitive`.
 */
export type InvalidBenchmark = Primitive.InvalidPrimitive

/**
 * The errors of this module.
 *
 * @since 0.1.0
 * @category errors
 */
export type BenchmarkError = BenchmarkFailed

/**
 * The nearest-rank percentile of sorted values: the smallest value with at
 * least `p`% of the values at or below it (`p` from 0 to 100). `NaN` when
 * there are no values.
 *
 * @since 0.1.0
 * @category statistics
 */
export const percentile: (sorted: ReadonlyArray<number>, p: number) => number = internal.percentile

/**
 * Count, min, max, mean, p50, p95 and p99 of some latencies.
 *
 * @since 0.1.0
 * @category statistics
 */
export const stats: (samples: ReadonlyArray<number>) => LatencyStats = internal.stats

/**
 * Runs every case `runs` times (after `warmup` unmeasured passes), each in a
 * fresh run context, and summarises the latencies. Failed runs are counted
 * and left out; if all fail, `BenchmarkFailed`.
 *
 * @since 0.1.0
 * @category benchmarks
 */
export const latency: <In, Out, E, R>(
  self: Primitive.Primitive<In, Out, E, R>,
  cases: ReadonlyArray<In>,
  options?: LatencyOptions
) => Effect.Effect<LatencyResult, BenchmarkFailed, R> = internal.latency

/**
 * Runs `input` through the primitive with `concurrency` callers until
 * `duration` has passed or `count` runs were started, and reports completed
 * runs per second.
 *
 * @since 0.1.0
 * @category benchmarks
 */
export const throughput: <In, Out, E, R>(
  self: Primitive.Primitive<In, Out, E, R>,
  input: In,
  options: ThroughputOptions
) => Effect.Effect<ThroughputResult, BenchmarkFailed, R> = internal.throughput

/**
 * Baseline versus optimized, as ratios: `mean`, `p50`, `p95`, `p99` are
 * baseline / optimized latency (2 = twice as fast); `throughput`, for two
 * throughput results, is optimized / baseline runs per second.
 *
 * @since 0.1.0
 * @category models
 */
export interface Comparison {
  readonly baseline: string
  readonly optimized: string
  /** The mean latency ratio. */
  readonly speedup: number
  readonly ratios: Readonly<Record<string, number>>
}

/**
 * Compares two latency (or two throughput) results.
 *
 * @since 0.1.0
 * @category benchmarks
 */
export const compare: (
  baseline: LatencyResult | ThroughputResult,
  optimized: LatencyResult | ThroughputResult
) => Comparison = internal.compare

/**
 * A markdown table of results (latency and throughput results in two tables).
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatTable: (results: ReadonlyArray<LatencyResult | ThroughputResult>) => string = internal.formatTable

/**
 * A markdown table of a comparison's ratios.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatComparison: (comparison: Comparison) => string = internal.formatComparison

/**
 * The progress bar's text for `done` of `total` (used on terminals).
 *
 * @since 0.1.0
 * @category formatting
 */
export const renderProgress: (label: string, done: number, total: number, width?: number) => string =
  internal.renderProgress
