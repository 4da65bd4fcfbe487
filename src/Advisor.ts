/**
 * The guide's "Identify Bottleneck Types" table, automated: from the spans of
 * a run, findings about what to optimise, each with its evidence and an
 * estimate of the time it would save.
 *
 * | finding | what it sees in the spans | suggestion |
 * |---|---|---|
 * | `Parallelize` | model calls (`gen_ai.*` attributes) under one parent, one after another | `Primitive.parallel` |
 * | `Cache` | a primitive called again with an input it already had (`flowtune.input.hash`, see `Metrics.instrument`) | cache, with the hit rate it would get |
 * | `DominantStep` | one step taking most of the run while nothing else runs | optimise that step |
 * | `Batch` | many calls to one backend (`flowtune.backend`, `server.address`, or the same step) | the Batch module |
 * | `Stream` | a model call with a long wait before its first output (`flowtune.stream.ttft_ms`, or none) | the Stream module |
 *
 * A workflow that is already in shape (model calls in parallel, distinct
 * inputs, streamed answers) gets no finding.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Advisor, Primitive } from "flowtune"
 *
 * declare const workflow: Primitive.Primitive<string, string>
 *
 * const program = Effect.gen(function*() {
 *   const { findings } = yield* Advisor.adviseRun(Primitive.run(workflow, "question"))
 *   console.log(Advisor.formatFindings(findings))
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as internal from "./internal/advisor.js"
import * as Metrics from "./Metrics.js"
import type * as Tracing from "./Tracing.js"

interface FindingBase<Tag extends string, Evidence> {
  readonly _tag: Tag
  /** One line saying what was seen. */
  readonly title: string
  /** What to do about it. */
  readonly suggestion: string
  /** Milliseconds of run (or call) time it would save, an estimate used to rank findings. */
  readonly estimatedSavingMillis: number
  readonly evidence: Evidence
}

/**
 * Model calls that ran one after another under the same parent.
 *
 * @since 0.1.0
 * @category models
 */
export interface Parallelize extends
  FindingBase<"Parallelize", {
    readonly parent: string | undefined
    readonly calls: ReadonlyArray<{ readonly name: string; readonly durationMillis: number }>
    readonly sequentialMillis: number
    readonly parallelMillis: number
    readonly shareOfRun: number
  }>
{}

/**
 * A primitive called more than once with the same input.
 *
 * @since 0.1.0
 * @category models
 */
export interface Cache extends
  FindingBase<"Cache", {
    readonly primitive: string
    readonly calls: number
    readonly distinctInputs: number
    /** The hit rate a cache would have had on this run: repeated calls / calls. */
    readonly hitRate: number
    readonly repeatedMillis: number
    readonly repeatedCostUsd: number
  }>
{}

/**
 * One step taking most of the run while nothing else runs.
 *
 * @since 0.1.0
 * @category models
 */
export interface DominantStep extends
  FindingBase<"DominantStep", {
    readonly step: string
    readonly durationMillis: number
    readonly totalMillis: number
    readonly share: number
    readonly modelCall: boolean
  }>
{}

/**
 * Many separate calls to one backend.
 *
 * @since 0.1.0
 * @category models
 */
export interface Batch extends
  FindingBase<"Batch", {
    readonly backend: string
    readonly calls: number
    readonly meanMillis: number
    readonly callMillis: number
    readonly maxConcurrent: number
  }>
{}

/**
 * A model call whose first output comes late (or only with the full answer).
 *
 * @since 0.1.0
 * @category models
 */
export interface Stream extends
  FindingBase<"Stream", {
    readonly step: string
    readonly calls: number
    readonly durationMillis: number
    readonly timeToFirstOutputMillis: number
  }>
{}

/**
 * A finding of the advisor.
 *
 * @since 0.1.0
 * @category models
 */
export type Finding = Parallelize | Cache | DominantStep | Batch | Stream

/**
 * Thresholds of the advisor.
 *
 * @since 0.1.0
 * @category models
 */
export interface AnalyzeOptions {
  /** Share of the run from which a step running alone is dominant. Default 0.8. */
  readonly dominantShare?: number | undefined
  /** Hit rate from which repeated inputs are worth a cache. Default 0.1. */
  readonly minRepeatRate?: number | undefined
  /** Calls to one backend from which batching is suggested. Default 5. */
  readonly minBatchCalls?: number | undefined
  /** The batch size used to estimate the saving. Default 10. */
  readonly batchSize?: number | undefined
  /** Model calls shorter than this are not worth streaming. Default 1,000 ms. */
  readonly streamAfterMillis?: number | undefined
  /** A streamed call whose first output comes after this share of its duration is still flagged. Default 0.5. */
  readonly lateFirstOutputShare?: number | undefined
  /** Sequential model calls are flagged when they take at least this share of the run. Default 0.3. */
  readonly parallelizeMinShare?: number | undefined
}

/**
 * Findings about a run from its spans, largest estimated saving first.
 *
 * @since 0.1.0
 * @category analysis
 */
export const analyze: (spans: ReadonlyArray<Tracing.SpanRecord>, options?: AnalyzeOptions) => Array<Finding> =
  internal.analyze

/**
 * Whether a span is a model call: it has `gen_ai.*` attributes, or the
 * primitive kind `model`.
 *
 * @since 0.1.0
 * @category analysis
 */
export const isModelCall: (span: Tracing.SpanRecord) => boolean = internal.isModelCall

/**
 * Runs a workflow with recording on and returns its value, breakdown, spans
 * and findings.
 *
 * @since 0.1.0
 * @category analysis
 */
export const adviseRun = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  options?: AnalyzeOptions & Metrics.BreakdownOptions
): Effect.Effect<Metrics.ProfiledRun<A> & { readonly findings: ReadonlyArray<Finding> }, E, R> => {
  // Checked here, not after the run: a bad option is reported where it is given.
  internal.checkOptions("Advisor.adviseRun", options)
  return Effect.map(
    Metrics.profileRun(self, options),
    (run) => ({ ...run, findings: internal.analyze(run.spans, options) })
  )
}

/**
 * A numbered, printable list of findings.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatFindings: (findings: ReadonlyArray<Finding>) => string = internal.formatFindings
