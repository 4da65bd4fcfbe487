/**
 * Measuring a workflow without writing a single timer: the run breakdown
 * (the guide's `PerformanceTracker`, derived from spans), Effect metrics
 * tagged by primitive (latency summaries with p50/p95/p99, calls, errors,
 * tokens, cost), and a snapshot of every `flowtune_*` metric.
 *
 * - `profileRun(effect)` runs a workflow with a recording tracer and returns
 *   its value with the breakdown: per-step durations, their share of the
 *   total, sorted, the bottleneck flagged. Times come from Effect's `Clock`.
 * - `instrument(p)` makes every call of a primitive update the metrics (and,
 *   with `fingerprint`, tag its span with an input hash for the advisor);
 *   `layer` does the same for every primitive span without wrapping anything.
 * - `snapshot` gathers the `flowtune_*` metrics of every module as rows.
 *
 * Benchmarks (latency percentiles, throughput, comparisons) live in
 * `Benchmark`; findings about what to optimize in `Advisor`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Metrics, Primitive } from "flowtune"
 *
 * const input = Primitive.make("input_processing", (q: string) => Effect.as(Effect.sleep("50 millis"), q))
 * const model = Primitive.make("llm_call", (q: string) => Effect.as(Effect.sleep("2300 millis"), q))
 * const output = Primitive.make("output_formatting", (a: string) => Effect.as(Effect.sleep("100 millis"), a))
 *
 * const program = Effect.gen(function*() {
 *   const { breakdown } = yield* Metrics.profileRun(Primitive.run(Primitive.sequence(input, model, output), "hi"))
 *   console.log(Metrics.formatBreakdown(breakdown)) // llm_call 2,300ms (94%) <- bottleneck
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import type * as Metric from "effect/Metric"
import * as internal from "./internal/metrics.js"
import * as Primitive from "./Primitive.js"
import type * as Tracing from "./Tracing.js"

/**
 * Latency of primitive runs in milliseconds, tagged `primitive`: a summary
 * with p50, p95 and p99 over the last 10 minutes (at most 1,024 samples).
 *
 * @since 0.1.0
 * @category metrics
 */
export const latency: Metric.Metric.Summary<number> = internal.latency

/**
 * Primitive runs, tagged `primitive`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const calls: Metric.Metric.Counter<number> = internal.calls

/**
 * Failed primitive runs (interruptions are not failures), tagged `primitive`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const errors: Metric.Metric.Counter<number> = internal.errors

/**
 * Model tokens, tagged `primitive` and `direction` (`input` / `output`), read
 * from the span attributes `gen_ai.usage.input_tokens` / `output_tokens`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const tokens: Metric.Metric.Counter<number> = internal.tokens

/**
 * US dollars spent, tagged `primitive`: the span attribute
 * `flowtune.cost_usd` when set, else the primitive's `costPerCall`
 * annotation for each successful call.
 *
 * @since 0.1.0
 * @category metrics
 */
export const cost: Metric.Metric.Counter<number> = internal.cost

/**
 * Options of `instrument`.
 *
 * @since 0.1.0
 * @category models
 */
export interface InstrumentOptions<In> {
  /**
   * Tag each call's span with a hash of its input (`flowtune.input.hash`), so
   * the advisor can spot repeated inputs. `true` hashes a canonical JSON of
   * the input; a function supplies the fingerprint itself (cheaper for large
   * inputs). Default: off.
   */
  readonly fingerprint?: boolean | ((input: In) => string) | undefined
}

/**
 * The same primitive (same name, kind, children and span), with each call
 * updating `latency`, `calls`, `errors`, `tokens` and `cost`. Works with
 * tracing off too (tokens and the cost attribute then have no span to be
 * read from; `costPerCall` still counts). Do not combine with `layer` for
 * the same primitive: each call would be counted twice.
 *
 * @since 0.1.0
 * @category instrumentation
 */
export const instrument: {
  <In, Out, E, R>(
    self: Primitive.Primitive<In, Out, E, R>,
    options?: InstrumentOptions<In>
  ): Primitive.Primitive<In, Out, E, R>
  <In>(options?: InstrumentOptions<In>): <Out, E, R>(
    self: Primitive.Primitive<In, Out, E, R>
  ) => Primitive.Primitive<In, Out, E, R>
} = dual(
  (args) => Primitive.isPrimitive(args[0]),
  <In, Out, E, R>(self: Primitive.Primitive<In, Out, E, R>, options?: InstrumentOptions<In>) =>
    internal.instrument(self, options)
)

/**
 * Every primitive span (one with `flowtune.primitive.kind`) updates the
 * metrics when it ends, whatever primitive it is: a tracer wrapping the
 * current one. Needs tracing on.
 *
 * @since 0.1.0
 * @category instrumentation
 */
export const layer: Layer.Layer<never> = Layer.unwrapEffect(
  Effect.map(Effect.tracer, (current) => Layer.setTracer(internal.tracer(current)))
)

/**
 * One metric of a snapshot.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetricRow {
  readonly name: string
  readonly type: "counter" | "gauge" | "histogram" | "summary" | "frequency"
  readonly tags: Readonly<Record<string, string>>
  /** The count of a counter, the value of a gauge, the mean of a histogram or summary, the total of a frequency. */
  readonly value: number
  readonly count?: number | undefined
  readonly sum?: number | undefined
  readonly min?: number | undefined
  readonly max?: number | undefined
  /** Summary quantiles as `p50`, `p95`, `p99`; undefined without samples. */
  readonly quantiles?: Readonly<Record<string, number | undefined>> | undefined
  readonly occurrences?: Readonly<Record<string, number>> | undefined
}

/**
 * Every metric whose name starts with `flowtune_` (this module's and every
 * other module's `flowtune_<module>_*`), one row per metric and tag set,
 * sorted by name.
 *
 * @since 0.1.0
 * @category snapshot
 */
export const snapshot: Effect.Effect<ReadonlyArray<MetricRow>> = internal.snapshot("flowtune_")

/**
 * Like `snapshot`, for any name prefix.
 *
 * @since 0.1.0
 * @category snapshot
 */
export const snapshotPrefix: (prefix: string) => Effect.Effect<ReadonlyArray<MetricRow>> = internal.snapshot

/**
 * A markdown table of snapshot rows.
 *
 * @since 0.1.0
 * @category snapshot
 */
export const formatSnapshot: (rows: ReadonlyArray<MetricRow>) => string = internal.formatSnapshot

/**
 * One step of a run breakdown. Steps of the same name (items of a
 * `forEach`, retries) are added up.
 *
 * @since 0.1.0
 * @category models
 */
export interface StepTiming {
  readonly name: string
  /** `flowtune.primitive.kind`, when the span is a primitive's. */
  readonly kind: string | undefined
  readonly durationMillis: number
  /** `durationMillis / totalMillis`: steps that ran in parallel can add up to more than 1. */
  readonly share: number
  readonly calls: number
  readonly failures: number
  readonly bottleneck: boolean
}

/**
 * A checkpoint (span event) on the run's timeline.
 *
 * @since 0.1.0
 * @category models
 */
export interface TimelineEntry {
  readonly name: string
  /** Milliseconds since the run started. */
  readonly atMillis: number
  /** The span it was recorded in. */
  readonly span: string
  readonly attributes: Readonly<Record<string, unknown>>
}

/**
 * Where the time of one run went.
 *
 * @since 0.1.0
 * @category models
 */
export interface Breakdown {
  /** The root span's name (the workflow). */
  readonly name: string
  readonly totalMillis: number
  /** The root's direct children, longest first. */
  readonly steps: ReadonlyArray<StepTiming>
  /** The longest step, when its share reaches `bottleneckThreshold`. */
  readonly bottleneck: StepTiming | undefined
  /** Time of the run covered by no step (scheduling, glue code). */
  readonly untrackedMillis: number
  readonly checkpoints: ReadonlyArray<TimelineEntry>
}

/**
 * Options of `breakdown`.
 *
 * @since 0.1.0
 * @category models
 */
export interface BreakdownOptions {
  /** The span to break down, by name. Default: the first root span (or all roots together when there are several). */
  readonly root?: string | undefined
  /** The share from which the longest step is flagged. Default 0.5. */
  readonly bottleneckThreshold?: number | undefined
}

/**
 * The breakdown of a run from its spans.
 *
 * @since 0.1.0
 * @category breakdown
 */
export const breakdown: (spans: ReadonlyArray<Tracing.SpanRecord>, options?: BreakdownOptions) => Breakdown =
  internal.breakdown

/**
 * The guide's "Baseline Performance" printout.
 *
 * @since 0.1.0
 * @category breakdown
 */
export const formatBreakdown: (breakdown: Breakdown) => string = internal.formatBreakdown

/**
 * What `profileRun` returns.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProfiledRun<A> {
  readonly value: A
  readonly breakdown: Breakdown
  readonly spans: ReadonlyArray<Tracing.SpanRecord>
}

/**
 * Runs a workflow with tracing on and its own recording tracer (spans still
 * reach any exporter installed), and returns its value, its spans and its
 * breakdown.
 *
 * @since 0.1.0
 * @category breakdown
 */
export const profileRun: <A, E, R>(
  self: Effect.Effect<A, E, R>,
  options?: BreakdownOptions & Tracing.MemoryOptions
) => Effect.Effect<ProfiledRun<A>, E, R> = internal.profileRun
