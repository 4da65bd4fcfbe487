/**
 * Shared pieces of the tour's steps: guide latencies scaled to the run's
 * `scale`, measuring with Effect's `Clock`, span timelines, and claims.
 *
 * @since 0.1.0
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Cost from "flowtune/Cost"
import * as Model from "flowtune/Model"
import * as Primitive from "flowtune/Primitive"
import * as Tracing from "flowtune/Tracing"
import { mkdirSync } from "node:fs"
import type * as Tour from "../Tour.js"
import type * as World from "./World.js"

/**
 * What every step reads: the latency scale, the world and the optional
 * service URLs.
 *
 * @since 0.1.0
 * @category services
 */
export class TourEnv extends Context.Tag("flowtune/Tour/TourEnv")<TourEnv, {
  /** Real seconds per guide second (1 under the `TestClock`). */
  readonly scale: number
  readonly world: World.World
  /** Time is the `TestClock`: real-time figures cannot be measured. */
  readonly virtualTime: boolean
  readonly redisUrl: string | undefined
  readonly databaseUrl: string | undefined
  readonly passwordDatabaseUrl: string | undefined
  readonly cacheTable: string | undefined
}>() {}

/**
 * Sleeps for a guide duration (milliseconds), scaled.
 *
 * @since 0.1.0
 * @category simulation
 */
export const sleepGuide = (guideMs: number): Effect.Effect<void, never, TourEnv> =>
  Effect.flatMap(TourEnv, ({ scale }) => Effect.sleep(Duration.millis(guideMs * scale)))

/**
 * A step that takes `guideMs` (scaled) and returns its input: the stand-in
 * for work whose only property that matters here is how long it takes.
 *
 * @since 0.1.0
 * @category simulation
 */
export const simulated = <A>(
  name: string,
  guideMs: number,
  annotations?: Primitive.Annotations
): Primitive.Primitive<A, A, never, TourEnv> =>
  Primitive.make(name, (input: A) => Effect.as(sleepGuide(guideMs), input), { annotations })

/**
 * The allowance of a duration claim beyond its 5%, in guide milliseconds:
 * fixed, so it never grows as the scale shrinks. In real time a timer fires a
 * millisecond or two late; at the default scale 0.1 that is up to ~20 guide
 * ms, which is what a short step (50 ms) cannot absorb within 5%.
 *
 * @since 0.1.0
 * @category claims
 */
export const allowanceMs = 20

/**
 * Runs an effect and returns what the model calls inside it cost (the sum of
 * the `costUsd` of their completions, as the model layer charged it).
 *
 * @since 0.1.0
 * @category measuring
 */
export const costed = <A, E, R>(
  self: Effect.Effect<A, E, R>
): Effect.Effect<readonly [A, { readonly costUsd: number; readonly calls: number }], E, R> =>
  Effect.map(Cost.measure(self), ([a, ledger]) => [a, { costUsd: ledger.costUsd, calls: ledger.calls }] as const)

/**
 * Spans with their times in guide milliseconds (divided by the scale), so
 * that what reads them (the breakdown, the advisor) speaks the tour's unit.
 *
 * @since 0.1.0
 * @category timelines
 */
export const toGuideTime = (
  spans: ReadonlyArray<Tracing.SpanRecord>,
  scale: number
): Array<Tracing.SpanRecord> => {
  if (spans.length === 0) return []
  const origin = spans.reduce((min, s) => s.startTime < min ? s.startTime : min, spans[0]!.startTime)
  const guide = (t: bigint) => origin + BigInt(Math.round(Number(t - origin) / scale))
  return spans.map((s) => ({
    ...s,
    startTime: guide(s.startTime),
    endTime: guide(s.endTime),
    durationMillis: s.durationMillis / scale
  }))
}
/**
 * Runs an effect and returns its value with the guide milliseconds it took
 * (measured by Effect's `Clock`, divided by the scale).
 *
 * @since 0.1.0
 * @category measuring
 */
export const timed = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<[A, number], E, R | TourEnv> =>
  Effect.gen(function*() {
    const { scale } = yield* TourEnv
    const start = yield* Clock.currentTimeNanos
    const value = yield* self
    const end = yield* Clock.currentTimeNanos
    return [value, Number(end - start) / 1e6 / scale] as [A, number]
  })

/**
 * Runs an effect as one traced run named `label` and returns its value, its
 * guide duration and its span timeline.
 *
 * @since 0.1.0
 * @category measuring
 */
export const traced = <A, E, R>(
  label: string,
  self: Effect.Effect<A, E, R>
): Effect.Effect<{ readonly value: A; readonly ms: number; readonly timeline: Tour.Timeline }, E, R | TourEnv> =>
  Effect.gen(function*() {
    const { scale } = yield* TourEnv
    const [[value, ms], spans] = yield* Tracing.record(timed(Effect.withSpan(self, label)))
    return { value, ms, timeline: toTimeline(label, spans, scale) }
  })

/**
 * How a span is drawn: cache hits and misses get their own colour.
 *
 * @since 0.1.0
 * @category timelines
 */
export const barKind = (span: Tracing.SpanRecord, hasChildren: boolean): Tour.BarKind => {
  const attrs = span.attributes
  // A cached primitive that did not run its child answered from a tier.
  if (span.name.startsWith("cache(")) return hasChildren ? "miss" : "hit"
  const result = attrs["flowtune.cache.result"] ?? attrs["flowtune.cache.outcome"] ?? attrs["flowtune.cache.hit"]
  if (result === true || (typeof result === "string" && result.startsWith("hit"))) return "hit"
  if (result === false || result === "miss") return "miss"
  const kind = attrs[Tracing.Attributes.primitiveKind]
  if (kind === undefined) return span.parentSpanId === undefined ? "run" : "io"
  return kind === "step" ? "step" : "group"
}

/**
 * Lays spans out as Gantt bars: a row holds spans of one name only (so a
 * row's label says what it holds), ordered by nesting depth and first
 * appearance; spans of one name that overlap get as many rows as they need,
 * so concurrency shows as stacked rows.
 *
 * @since 0.1.0
 * @category timelines
 */
export const toTimeline = (label: string, spans: ReadonlyArray<Tracing.SpanRecord>, scale: number): Tour.Timeline => {
  const sorted = [...spans].sort((a, b) =>
    a.startTime === b.startTime ? b.durationMillis - a.durationMillis : a.startTime < b.startTime ? -1 : 1
  )
  const ids = new Map(sorted.map((s) => [s.spanId, s]))
  // Only primitives count as children here: a cache hit still runs SQL or Redis spans.
  const parents = new Set(
    sorted.filter((s) => s.attributes[Tracing.Attributes.primitiveKind] !== undefined).map((s) => s.parentSpanId)
  )
  const depthOf = new Map<string, number>()
  const depth = (s: Tracing.SpanRecord): number => {
    const known = depthOf.get(s.spanId)
    if (known !== undefined) return known
    const parent = s.parentSpanId === undefined ? undefined : ids.get(s.parentSpanId)
    const d = parent === undefined ? 0 : depth(parent) + 1
    depthOf.set(s.spanId, d)
    return d
  }
  const origin = sorted.length > 0 ? sorted[0]!.startTime : 0n
  const toMs = (t: bigint) => Number(t - origin) / 1e6 / scale
  // lanes: per (depth, name), the end time of the last bar in each of its rows
  const lanes = new Map<string, { readonly depth: number; readonly order: number; readonly ends: Array<number> }>()
  const placed: Array<{ lane: string; row: number; bar: Omit<Tour.Bar, "row"> }> = []
  for (const span of sorted) {
    const d = depth(span)
    const start = toMs(span.startTime)
    const end = toMs(span.endTime)
    const key = `${d}\u0000${span.name}`
    let lane = lanes.get(key)
    if (lane === undefined) {
      lane = { depth: d, order: lanes.size, ends: [] }
      lanes.set(key, lane)
    }
    let row = lane.ends.findIndex((lastEnd) => lastEnd <= start + 1e-9)
    if (row === -1) {
      row = lane.ends.length
      lane.ends.push(end)
    } else {
      lane.ends[row] = end
    }
    placed.push({
      lane: key,
      row,
      bar: { name: span.name, startMs: start, endMs: end, depth: d, kind: barKind(span, parents.has(span.spanId)) }
    })
  }
  const offsets = new Map<string, number>()
  let total = 0
  for (const [key, lane] of [...lanes].sort(([, a], [, b]) => a.depth - b.depth || a.order - b.order)) {
    offsets.set(key, total)
    total += lane.ends.length
  }
  const bars = placed.map(({ bar, lane, row }) => ({ ...bar, row: offsets.get(lane)! + row }))
  const durationMs = bars.reduce((max, b) => Math.max(max, b.endMs), 0)
  return { label, bars, rows: total, durationMs }
}

/**
 * A claim: the guide's figure beside the measured one. `approx` holds within
 * 5% (`tolerance`) or, for durations, within `allowanceMs` guide
 * milliseconds (`slack` in the claim's unit, for other units). `realTime`
 * marks figures of real work (real connections, a real cache hit) that the
 * runner shows as `n/a` in virtual time.
 *
 * @since 0.1.0
 * @category claims
 */
export const claim = (
  label: string,
  guide: number,
  measured: number,
  unit: Tour.Unit,
  options?: {
    readonly check?: Tour.Check | undefined
    readonly tolerance?: number | undefined
    /** An absolute allowance in `unit`. Default: 20 guide ms for durations, else 0. */
    readonly slack?: number | undefined
    readonly realTime?: boolean | undefined
  }
): Tour.Claim => {
  const check = options?.check ?? "approx"
  const tolerance = options?.tolerance ?? 0.05
  const ratio = guide === 0 ? (measured === 0 ? 1 : Infinity) : measured / guide
  const slack = options?.slack ?? (unit === "ms" ? allowanceMs : unit === "s" ? allowanceMs / 1000 : 0)
  // 1e-9: a figure exactly at the bound (0.32 s against 0.3 s) must not fail on float rounding.
  const within = Math.abs(ratio - 1) <= tolerance + 1e-9 || Math.abs(measured - guide) <= slack + 1e-9
  const ok = check === "approx"
    ? within
    : check === "at-least"
    ? ratio >= 1 - tolerance || measured >= guide - slack
    : check === "at-most"
    ? ratio <= 1 + tolerance || measured <= guide + slack
    : true
  return { label, guide, measured, unit, check, tolerance, ratio, ok, slack, realTime: options?.realTime ?? false }
}

/**
 * A real-time claim in a virtual-time run: shown as `n/a`, not counted.
 *
 * @since 0.1.0
 * @category claims
 */
export const notApplicable = (c: Tour.Claim): Tour.Claim =>
  c.realTime ? { ...c, check: "n/a", measured: Number.NaN, ratio: Number.NaN, ok: true } : c

/**
 * The guide's percentile (`sorted[int(n * p / 100)]`).
 *
 * @since 0.1.0
 * @category measuring
 */
export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * (p / 100)))] ?? 0
}

/**
 * @since 0.1.0
 * @category measuring
 */
export const mean = (values: ReadonlyArray<number>): number =>
  values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length

/**
 * @since 0.1.0
 * @category measuring
 */
export const sum = (values: ReadonlyArray<number>): number => values.reduce((a, b) => a + b, 0)

/**
 * What a step produces; the runner adds its id, title and real time.
 *
 * @since 0.1.0
 * @category models
 */
export type StepOutput = Omit<Tour.StepResult, "id" | "title" | "section" | "realMs">

/**
 * One step of the tour.
 *
 * @since 0.1.0
 * @category models
 */
export interface Step {
  readonly id: Tour.StepId
  readonly title: string
  readonly section: string
  readonly run: Effect.Effect<StepOutput, unknown, TourEnv | Scope.Scope>
}

/**
 * The SQL database the cache's L3 and the pool step use: PostgreSQL when a
 * URL is configured, else an SQLite file under `.flowtune/`.
 *
 * @since 0.1.0
 * @category services
 */
export const sqlLayer = (
  databaseUrl: string | undefined
): { readonly name: string; readonly layer: Layer.Layer<SqlClient.SqlClient, unknown> } =>
  databaseUrl !== undefined
    ? { name: "PostgreSQL", layer: PgClient.layer({ url: Redacted.make(databaseUrl) }) }
    : {
      name: "SQLite (.flowtune/tour.db)",
      layer: Layer.unwrapEffect(Effect.sync(() => {
        mkdirSync(".flowtune", { recursive: true })
        return SqliteClient.layer({ filename: ".flowtune/tour.db" })
      }))
    }

/**
 * A name unique to this run, for cache namespaces and tables.
 *
 * @since 0.1.0
 * @category utils
 */
export const runTag: Effect.Effect<string> = Effect.zipWith(
  Clock.currentTimeMillis,
  Random.nextIntBetween(0, 36 ** 4),
  (now, n) => `${now.toString(36)}${n.toString(36)}`
)

/**
 * A simulated model of the guide (see `Model.profiles`) at the tour's scale,
 * as a primitive named `name`.
 *
 * @since 0.1.0
 * @category simulation
 */
export const model = (
  profile: Model.Profile,
  name: string
): Effect.Effect<Primitive.Primitive<string, Model.Completion, Model.ModelError>, never, TourEnv> =>
  // Narrowed to plain-text prompts: a fan-out over `string | Prompt` would ask for their intersection.
  Effect.map(TourEnv, ({ scale }) => Model.simulated(profile, { scale, name }))

/**
 * The schema of a model's answer, so the shared cache tiers can store it.
 *
 * @since 0.1.0
 * @category simulation
 */
export const Completion: Schema.Schema<Model.Completion> = Schema.Struct({
  text: Schema.String,
  usage: Schema.Struct({ inputTokens: Schema.Number, outputTokens: Schema.Number }),
  costUsd: Schema.Number,
  model: Schema.String
})
