/**
 * How a stream primitive's runs are measured: time to first token, gaps,
 * duration, elements and chunks, as metrics and span attributes (split from
 * `stream.ts`, issue 15: measuring is one concern, building streams another).
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricKey from "effect/MetricKey"
import type * as MetricKeyType from "effect/MetricKeyType"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as EffectStream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import type * as FlowStream from "../Stream.js"
import * as WorkflowContext from "../WorkflowContext.js"
import { isRecording } from "./primitive.js"
import { percentile } from "./stats.js"

// ---------------------------------------------------------------------------
// metrics
// ---------------------------------------------------------------------------

const msBoundaries = MetricBoundaries.exponential({ start: 1, factor: 2, count: 18 })

const keys = {
  ttft: MetricKey.histogram(
    "flowtune_stream_ttft_ms",
    msBoundaries,
    "Time from the start of a streaming run to its first chunk, in milliseconds"
  ),
  duration: MetricKey.histogram(
    "flowtune_stream_duration_ms",
    msBoundaries,
    "Time from the start of a streaming run to its end, in milliseconds"
  ),
  gap: {
    name: "flowtune_stream_gap_ms",
    maxAge: "5 minutes",
    maxSize: 4096,
    error: 0.01,
    quantiles: [0.5, 0.9, 0.99],
    description: "Time between consecutive chunks of a streaming run, in milliseconds"
  },
  runs: MetricKey.counter("flowtune_stream_runs_total", {
    description: "Streaming runs by outcome (completed, cancelled, failed, interrupted)",
    incremental: true
  }),
  elements: MetricKey.counter("flowtune_stream_elements_total", {
    description: "Elements (tokens) delivered by streaming runs",
    incremental: true
  }),
  chunks: MetricKey.counter("flowtune_stream_chunks_total", {
    description: "Chunks delivered by streaming runs",
    incremental: true
  }),
  cache: MetricKey.counter("flowtune_stream_cache_total", {
    description: "Requests to a cached or shared streaming primitive by result (hit, miss, shared)",
    incremental: true
  })
} as const

/** @internal */
export const metrics = {
  ttft: Metric.fromMetricKey(keys.ttft),
  duration: Metric.fromMetricKey(keys.duration),
  gap: Metric.summary(keys.gap),
  runs: Metric.fromMetricKey(keys.runs),
  elements: Metric.fromMetricKey(keys.elements),
  chunks: Metric.fromMetricKey(keys.chunks),
  cache: Metric.fromMetricKey(keys.cache)
}

// Metrics are resolved once per primitive from keys that already carry the
// tags: `Metric.tagged` merges tag arrays on every update, which defeats
// Effect's hook cache and made metric updates most of a run's CPU time.
// `any`: a metric of any kind: `M` carries the kind back to the caller
const keyed = <Type extends MetricKeyType.MetricKeyType<any, any>>(
  key: MetricKey.MetricKey<Type>,
  tags: Record<string, string>
) =>
  Metric.fromMetricKey(
    MetricKey.taggedWithLabels(key, Object.entries(tags).map(([k, v]) => MetricLabel.make(k, v)))
  )

/** @internal */
export const cacheCounters = (name: string) => ({
  hit: keyed(keys.cache, { primitive: name, result: "hit" }),
  miss: keyed(keys.cache, { primitive: name, result: "miss" }),
  shared: keyed(keys.cache, { primitive: name, result: "shared" })
})

/** @internal */
export const summarizeGaps = (gaps: ReadonlyArray<number>, count: number, sum: number, max: number) => {
  if (count === 0) return { count: 0, meanMs: 0, p50Ms: 0, p95Ms: 0, maxMs: 0 }
  const sorted = [...gaps].sort((a, b) => a - b)
  return {
    count,
    meanMs: sum / count,
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    maxMs: max
  }
}

// Percentiles are computed over the first gaps only, so an endless stream keeps
// a bounded footprint; count, mean and max cover every gap.
const maxKeptGaps = 4096

interface RunState {
  readonly start: number
  first: number
  last: number
  chunks: number
  elements: number
  gapCount: number
  gapSum: number
  gapMax: number
  readonly gaps: Array<number>
  completed: boolean
  failed: Cause.Cause<unknown> | undefined
}

/** @internal */
export const makeRunState = (start: number): RunState => ({
  start,
  first: 0,
  last: 0,
  chunks: 0,
  elements: 0,
  gapCount: 0,
  gapSum: 0,
  gapMax: 0,
  gaps: [],
  completed: false,
  failed: undefined
})

/** @internal */
export const observe = (state: RunState, now: number, size: number) => {
  // An empty chunk (a model's metadata parts, filtered out) carries no token: it is not a first token.
  if (size === 0) return
  if (state.chunks === 0) {
    state.first = now
  } else {
    const gap = now - state.last
    state.gapCount++
    state.gapSum += gap
    if (gap > state.gapMax) state.gapMax = gap
    if (state.gaps.length < maxKeptGaps) state.gaps.push(gap)
  }
  state.last = now
  state.chunks++
  state.elements += size
}

// A stream's scope closes with success when the consumer merely stops
// (`take(n)`), so completion and failure are observed on the stream itself.
const outcomeOf = (state: RunState, exit: Exit.Exit<unknown, unknown>): FlowStream.Outcome => {
  if (state.completed) return "completed"
  const cause = state.failed ?? (Exit.isFailure(exit) ? exit.cause : undefined)
  if (cause === undefined) return "cancelled"
  return Cause.isInterruptedOnly(cause) ? "interrupted" : "failed"
}

/** @internal */
export const taggedMetrics = (name: string) => {
  const primitive = { primitive: name }
  return {
    ttft: keyed(keys.ttft, primitive),
    duration: keyed(keys.duration, primitive),
    gap: keyed(MetricKey.summary(keys.gap), primitive),
    elements: keyed(keys.elements, primitive),
    chunks: keyed(keys.chunks, primitive),
    runs: {
      completed: keyed(keys.runs, { ...primitive, outcome: "completed" }),
      cancelled: keyed(keys.runs, { ...primitive, outcome: "cancelled" }),
      failed: keyed(keys.runs, { ...primitive, outcome: "failed" }),
      interrupted: keyed(keys.runs, { ...primitive, outcome: "interrupted" })
    }
  }
}

type TaggedMetrics = ReturnType<typeof taggedMetrics>

/** Records one finished run's metrics, with no Effect step. @internal */
export const recordRun = (
  tagged: TaggedMetrics,
  state: RunState,
  totalMs: number,
  outcome: FlowStream.Outcome,
  labels: ReadonlyArray<MetricLabel.MetricLabel>
) => {
  tagged.duration.unsafeUpdate(totalMs, labels)
  tagged.runs[outcome].unsafeUpdate(1, labels)
  tagged.chunks.unsafeUpdate(state.chunks, labels)
  tagged.elements.unsafeUpdate(state.elements, labels)
  if (state.chunks > 0) tagged.ttft.unsafeUpdate(state.first - state.start, labels)
  // Effect's summary ages its samples against `Date.now()`, so they are
  // stamped with wall time (the gaps themselves come from the Clock).
  const stamp = Date.now()
  for (const gap of state.gaps) tagged.gap.unsafeUpdate([gap, stamp], labels)
}

const finish = (
  name: string,
  state: RunState,
  now: number,
  exit: Exit.Exit<unknown, unknown>,
  span: Option.Option<Tracer.Span>,
  tagged: TaggedMetrics,
  marks: boolean
) =>
  Effect.suspend(() => {
    const outcome = outcomeOf(state, exit)
    const totalMs = now - state.start
    const ttftMs = state.chunks > 0 ? state.first - state.start : undefined
    const gaps = summarizeGaps(state.gaps, state.gapCount, state.gapSum, state.gapMax)
    if (Option.isSome(span)) {
      const s = span.value
      s.attribute("flowtune.stream.outcome", outcome)
      s.attribute("flowtune.stream.total_ms", totalMs)
      s.attribute("flowtune.stream.chunks", state.chunks)
      s.attribute("flowtune.stream.elements", state.elements)
      if (ttftMs !== undefined) s.attribute("flowtune.stream.ttft_ms", ttftMs)
      if (gaps.count > 0) {
        s.attribute("flowtune.stream.gap_mean_ms", gaps.meanMs)
        s.attribute("flowtune.stream.gap_p95_ms", gaps.p95Ms)
        s.attribute("flowtune.stream.gap_max_ms", gaps.maxMs)
      }
    }
    const record = Effect.withFiberRuntime<void>((fiber) => {
      recordRun(tagged, state, totalMs, outcome, fiber.getFiberRef(FiberRef.currentMetricLabels))
      return Effect.void
    })
    return outcome === "completed" && marks
      ? Effect.zipRight(
        record,
        WorkflowContext.checkpoint("stream.complete", { primitive: name, totalMs, chunks: state.chunks })
      )
      : record
  })

const spanAttributes = (kind: string) => ({ "flowtune.primitive.kind": kind })

/**
 * Wraps a stream body with the per-run measurements: a span (when tracing is
 * on), time to first chunk, total time, gaps between chunks, outcome. Times
 * come from Effect's `Clock`, so they are exact under the `TestClock`.
 */
const recording = Effect.withFiberRuntime((fiber) => Effect.succeed(isRecording(fiber)))

/** @internal */
export const instrument = <In, A, E, R>(
  name: string,
  kind: string,
  body: (input: In) => EffectStream.Stream<A, E, R>
): (input: In) => EffectStream.Stream<A, E, R> => {
  const tagged = taggedMetrics(name)
  const attributes = spanAttributes(kind)
  const measured = (input: In, clock: Clock.Clock, span: Option.Option<Tracer.Span>) =>
    EffectStream.unwrapScoped(Effect.gen(function*() {
      const state = makeRunState(clock.unsafeCurrentTimeMillis())
      // Checkpoints only where they land somewhere (a span or a run context).
      const marks = Option.isSome(span) || Option.isSome(yield* Effect.serviceOption(WorkflowContext.WorkflowContext))
      yield* Effect.addFinalizer((exit) =>
        finish(name, state, clock.unsafeCurrentTimeMillis(), exit, span, tagged, marks)
      )
      return body(input).pipe(
        EffectStream.mapChunksEffect((chunk) => {
          const isFirst = state.chunks === 0
          observe(state, clock.unsafeCurrentTimeMillis(), chunk.length)
          return isFirst && marks
            ? Effect.as(
              WorkflowContext.checkpoint("stream.first_token", { primitive: name, ttftMs: state.first - state.start }),
              chunk
            )
            : Effect.succeed(chunk)
        }),
        EffectStream.onEnd(Effect.sync(() => {
          state.completed = true
        })),
        EffectStream.tapErrorCause((cause) =>
          Effect.sync(() => {
            state.failed = cause
          })
        )
      )
    }))
  return (input) =>
    EffectStream.unwrap(
      Effect.clockWith((clock) =>
        Effect.map(recording, (enabled): EffectStream.Stream<A, E, R> =>
          // No recording tracer: no span, not even a no-op one (it costs per
          // run), the same rule as a Primitive's.
          enabled
            ? EffectStream.withSpan(
              EffectStream.unwrap(
                Effect.map(Effect.option(Effect.currentSpan), (span) => measured(input, clock, span))
              ),
              name,
              { attributes }
            ) as EffectStream.Stream<A, E, R>
            : measured(input, clock, Option.none()))
      )
    )
}
