/**
 * The tour: the performance-tuning guide, run on flowtune's own code. Each
 * step builds the guide's "before" and "after" workflows from the library's
 * primitives (simulated models with the guide's latencies and prices, scaled
 * down), measures both, and sets the guide's claim beside the measured
 * figure. The result carries every claim, the span timelines of every run
 * and the latency samples; `run` also writes a self-contained HTML report
 * with a Gantt chart and a latency distribution per step.
 *
 * Every figure marked as measured comes from what the run did: costs from
 * the completions the models returned, durations from Effect's `Clock` and
 * the spans, counts from counters. What a step was configured with (prices,
 * latencies) is listed apart as its assumptions. Under the `TestClock` (with
 * `scale: 1`) the tour runs in virtual time and reproduces the guide's
 * figures exactly; in real time (`npx flowtune tour`, default `scale: 0.1`)
 * the same figures come out within a fixed allowance (5%, or 20 guide ms).
 *
 * @example
 * ```ts
 * import { NodeContext, NodeRuntime } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import * as Tour from "@flowtune/tour"
 *
 * Tour.run({ scale: 0.1 }).pipe(
 *   Effect.tap((result) => Effect.log(Tour.formatSummary(result))),
 *   Effect.provide(NodeContext.layer),
 *   NodeRuntime.runMain
 * )
 * ```
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import * as Format from "./Tour/Format.js"
import * as Runner from "./Tour/Runner.js"
import * as TourWorld from "./Tour/World.js"

/**
 * The steps, in the guide's order; `tail` goes beyond the guide (hedging,
 * adaptive concurrency, a budget).
 *
 * @since 0.1.0
 * @category models
 */
export const stepIds = [
  "baseline",
  "breakdown",
  "parallel",
  "cache",
  "router",
  "batch",
  "stream",
  "pool",
  "benchmark",
  "tail"
] as const

/**
 * @since 0.1.0
 * @category models
 */
export type StepId = typeof stepIds[number]

/**
 * The unit a figure is expressed in. Durations are in guide time: real time
 * divided by the scale.
 *
 * @since 0.1.0
 * @category models
 */
export type Unit = "ms" | "s" | "x" | "usd" | "%" | "req/s" | "count"

/**
 * How a measured figure is held against the guide's: `approx` within the
 * allowance, `at-least` / `at-most` as a bound, `info` shown beside the
 * guide's figure but not checked (real connections to a real database), `n/a`
 * a real-time figure in a virtual-time run (not measurable there, not counted).
 *
 * @since 0.1.0
 * @category models
 */
export type Check = "approx" | "at-least" | "at-most" | "info" | "n/a"

/**
 * One of the guide's numbers beside ours.
 *
 * @since 0.1.0
 * @category models
 */
export interface Claim {
  readonly label: string
  readonly guide: number
  readonly measured: number
  readonly unit: Unit
  readonly check: Check
  /** 0.05 = within 5%. */
  readonly tolerance: number
  /** measured / guide. */
  readonly ratio: number
  /**
   * An absolute allowance in `unit` (timer resolution): 20 guide ms for
   * durations, fixed, whatever the scale; 0 when none.
   */
  readonly slack: number
  /** Real work (a cache hit, a real connection), measured in real milliseconds: `n/a` under the `TestClock`. */
  readonly realTime: boolean
  readonly ok: boolean
}

/**
 * A figure the step was configured with (a price, a latency, a batch size):
 * an input, not a measurement, so it has no pass/fail mark.
 *
 * @since 0.1.0
 * @category models
 */
export interface Assumption {
  readonly label: string
  readonly value: string
}

/**
 * The world a tour runs in (models, cache key, fan-out concurrency, batch
 * size): see `defaultWorld`.
 *
 * @since 0.1.0
 * @category models
 */
export type World = TourWorld.World

/**
 * A partial world, laid over the guide's.
 *
 * @since 0.1.0
 * @category models
 */
export type WorldInput = TourWorld.WorldInput

/**
 * The guide's world: its models, latencies and prices, a fan-out with no
 * bound, batches of 10.
 *
 * @since 0.1.0
 * @category models
 */
export const defaultWorld: World = TourWorld.defaultWorld

/**
 * How a bar of a Gantt chart is coloured.
 *
 * @since 0.1.0
 * @category models
 */
export type BarKind = "run" | "group" | "step" | "hit" | "miss" | "io"

/**
 * One span of a run, placed on a Gantt chart.
 *
 * @since 0.1.0
 * @category models
 */
export interface Bar {
  readonly name: string
  /** Guide milliseconds since the run started. */
  readonly startMs: number
  readonly endMs: number
  readonly depth: number
  readonly row: number
  readonly kind: BarKind
}

/**
 * What ran when during one run: one bar per span.
 *
 * @since 0.1.0
 * @category models
 */
export interface Timeline {
  readonly label: string
  readonly bars: ReadonlyArray<Bar>
  readonly rows: number
  readonly durationMs: number
}

/**
 * Latency samples of one side of a comparison, in guide milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface Distribution {
  readonly label: string
  readonly values: ReadonlyArray<number>
  /** Names of the values, when each is a different run (drawn as grouped bars). */
  readonly categories?: ReadonlyArray<string> | undefined
}

/**
 * What one step measured.
 *
 * @since 0.1.0
 * @category models
 */
export interface StepResult {
  readonly id: StepId
  readonly title: string
  /** The guide's section this step reproduces. */
  readonly section: string
  /** One line: what changed and by how much. */
  readonly headline: string
  readonly claims: ReadonlyArray<Claim>
  /** What the step was configured with: inputs, not measurements. */
  readonly assumptions: ReadonlyArray<Assumption>
  readonly timelines: ReadonlyArray<Timeline>
  readonly distributions: ReadonlyArray<Distribution>
  /** Findings, advice, backends used, stand-ins. */
  readonly notes: ReadonlyArray<string>
  /** Real milliseconds the step took. */
  readonly realMs: number
}

/**
 * The whole tour.
 *
 * @since 0.1.0
 * @category models
 */
export interface TourResult {
  readonly steps: ReadonlyArray<StepResult>
  readonly scale: number
  /** Milliseconds since the epoch (Effect's `Clock`). */
  readonly startedAt: number
  /** Real milliseconds for the whole tour. */
  readonly realMs: number
  /** Where the HTML report was written, when it was. */
  readonly reportPath: string | undefined
  /** The run was in virtual time (`TestClock`): real-time rows are `n/a`. */
  readonly virtualTime: boolean
  /** Every checked claim held. */
  readonly ok: boolean
}

/**
 * Options of `run`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Real seconds per guide second. Default 0.1 (the tour takes ~25 s); use 1
   * under the `TestClock`.
   */
  readonly scale?: number | undefined
  /** Runs a few steps once, fast and unmeasured, before the tour. Default: when `scale < 1` (real time). */
  readonly warmup?: boolean | undefined
  /** Which steps to run. Default: all of them, in the guide's order. */
  readonly steps?: ReadonlyArray<StepId> | undefined
  /** Write the HTML report. Default true. */
  readonly report?: boolean | undefined
  /** Where the report goes. Default `reports`. */
  readonly reportDir?: string | undefined
  /** Adds the Redis tier (L2) to the cache step. Default: `REDIS_URL`, else none. */
  readonly redisUrl?: string | undefined
  /** PostgreSQL for the cache's L3 and the pool step. Default: `DATABASE_URL`, else SQLite. */
  readonly databaseUrl?: string | undefined
  /**
   * PostgreSQL again, logging in with a password (scram-sha-256), for the
   * pool step. Default: `TOUR_PASSWORD_DATABASE_URL`, else none.
   */
  readonly passwordDatabaseUrl?: string | undefined
  /** The world to run in. Default: the guide's (`defaultWorld`). */
  readonly world?: WorldInput | undefined
  /**
   * Whether time is virtual (the `TestClock`): real-time rows are then shown
   * as `n/a` and not counted. Default: detected from the clock in use.
   */
  readonly virtualTime?: boolean | undefined
  /** Ignore `REDIS_URL` and `DATABASE_URL`: memory + SQLite only, no service needed. Default false. */
  readonly embedded?: boolean | undefined
  /** The SQL table of the cache's L3 tier. Default `flowtune_cache`. */
  readonly cacheTable?: string | undefined
  /** Called before each step. */
  readonly onStart?:
    | ((step: { readonly id: StepId; readonly title: string; readonly section: string }) => Effect.Effect<void>)
    | undefined
  /** Called after each step (the CLI prints its table here). */
  readonly onStep?: ((step: StepResult) => Effect.Effect<void>) | undefined
}

/**
 * A step failed: its module returned an error or died.
 *
 * @since 0.1.0
 * @category errors
 */
export class TourStepFailed extends Data.TaggedError("TourStepFailed")<{
  readonly step: StepId
  readonly cause: unknown
}> {
  override get message() {
    return `Tour step "${this.step}" failed: ${String(this.cause)}`
  }
}

/**
 * The report could not be written.
 *
 * @since 0.1.0
 * @category errors
 */
export class ReportWriteFailed extends Data.TaggedError("ReportWriteFailed")<{
  readonly path: string
  readonly cause: unknown
}> {
  override get message() {
    return `Could not write the tour report to ${this.path}: ${String(this.cause)}`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export type TourError = TourStepFailed | ReportWriteFailed

/**
 * Runs the tour: every step (or `options.steps`) in the guide's order, then
 * the HTML report.
 *
 * @since 0.1.0
 * @category running
 */
export const run: (
  options?: Options
) => Effect.Effect<TourResult, TourError, FileSystem.FileSystem | Path.Path> = Runner.run

/**
 * A step's claims as an aligned table: guide | measured | ratio | ok.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatStep: (step: StepResult) => string = Format.formatStep

/**
 * One line per step: its headline and how many claims held.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatSummary: (result: TourResult) => string = Format.formatSummary

/**
 * A figure with its unit, as the tables print it.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatValue: (value: number, unit: Unit) => string = Format.formatValue
