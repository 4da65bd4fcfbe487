import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as MetricState from "effect/MetricState"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import type * as Metrics from "../Metrics.js"
// Loaded before `./primitive.js`: the Primitive module must initialise first.
import * as Primitive from "../Primitive.js"
import * as Tracing from "../Tracing.js"
import * as cacheKey from "./cacheKey.js"
import * as options_ from "./options.js"
import { isRecording } from "./primitive.js"
import { unionLength } from "./stats.js"
import * as internalTracing from "./tracing.js"

// ---------------------------------------------------------------------------
// metrics
// ---------------------------------------------------------------------------

/** @internal */
export const latency = Metric.summary({
  name: "flowtune_primitive_latency_ms",
  description: "Latency of primitive runs in milliseconds (p50, p95, p99 over the last 10 minutes)",
  maxAge: "10 minutes",
  maxSize: 1024,
  error: 0.01,
  quantiles: [0.5, 0.95, 0.99]
})

/** @internal */
export const calls = Metric.counter("flowtune_primitive_calls_total", {
  description: "Primitive runs",
  incremental: true
})

/** @internal */
export const errors = Metric.counter("flowtune_primitive_errors_total", {
  description: "Primitive runs that failed (interruptions excluded)",
  incremental: true
})

/** @internal */
export const tokens = Metric.counter("flowtune_primitive_tokens_total", {
  description: "Model tokens used, tagged by direction (input, output)",
  incremental: true
})

/** @internal */
export const cost = Metric.counter("flowtune_primitive_cost_usd_total", {
  description: "US dollars spent",
  incremental: true
})

const numberAttribute = (attributes: ReadonlyMap<string, unknown> | Readonly<Record<string, unknown>>, key: string) => {
  const value = attributes instanceof Map ? attributes.get(key) : (attributes as Record<string, unknown>)[key]
  return typeof value === "number" && Number.isFinite(value)
    ? value
    : typeof value === "bigint"
    ? Number(value)
    : undefined
}

// Effect caches a metric's hook per tag array (by reference), so each
// primitive gets its tag arrays once: a fresh array per call would cost a
// registry lookup with a structural hash every time.
interface Tags {
  readonly base: ReadonlyArray<MetricLabel.MetricLabel>
  readonly input: ReadonlyArray<MetricLabel.MetricLabel>
  readonly output: ReadonlyArray<MetricLabel.MetricLabel>
}

const makeTags = (name: string): Tags => {
  const primitive = MetricLabel.make("primitive", name)
  return {
    base: [primitive],
    input: [primitive, MetricLabel.make("direction", "input")],
    output: [primitive, MetricLabel.make("direction", "output")]
  }
}

const observe = (
  tags: Tags,
  durationMillis: number,
  failed: boolean,
  attributes: ReadonlyMap<string, unknown> | undefined,
  costPerCall: number | undefined
) => {
  latency.unsafeUpdate(durationMillis, tags.base)
  calls.unsafeUpdate(1, tags.base)
  if (failed) errors.unsafeUpdate(1, tags.base)
  const spent = (attributes && numberAttribute(attributes, Tracing.Attributes.costUsd)) ??
    (failed ? undefined : costPerCall)
  if (spent !== undefined && spent > 0) cost.unsafeUpdate(spent, tags.base)
  if (attributes) {
    const input = numberAttribute(attributes, Tracing.Attributes.genAiInputTokens)
    const output = numberAttribute(attributes, Tracing.Attributes.genAiOutputTokens)
    if (input !== undefined && input > 0) tokens.unsafeUpdate(input, tags.input)
    if (output !== undefined && output > 0) tokens.unsafeUpdate(output, tags.output)
  }
}

const isFailure = (exit: Exit.Exit<unknown, unknown>) => Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)

// ---------------------------------------------------------------------------
// fingerprints
// ---------------------------------------------------------------------------

// The cache key's canonical encoding and SHA-256 (one encoding, one hash in
// the library). An input with no faithful encoding gets no fingerprint.
/** @internal */
export const fingerprint: (input: unknown) => string | undefined = cacheKey.fingerprint

// ---------------------------------------------------------------------------
// instrument
// ---------------------------------------------------------------------------

/** @internal */
export const instrument = <In, Out, E, R>(
  self: Primitive.Primitive<In, Out, E, R>,
  options?: Metrics.InstrumentOptions<In>
): Primitive.Primitive<In, Out, E, R> => {
  if (!Primitive.isPrimitive(self)) return self
  const name = self.name
  const tags = makeTags(name)
  const costPerCall = self.annotations.costPerCall
  const option = options?.fingerprint
  if (option !== undefined && typeof option !== "boolean" && typeof option !== "function") {
    options_.invalid(`Metrics.instrument(${name})`, "fingerprint", "true, false or a function", option)
  }
  const hash: ((input: In) => string | undefined) | undefined = option === true
    ? fingerprint
    : typeof option === "function"
    ? option
    : undefined
  // `around` keeps the primitive's single span: the attributes below land on it.
  return Primitive.around(self, (input, inner) =>
    Effect.withFiberRuntime((fiber) => {
      const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
      // Without a recording tracer the primitive opens no span, and the current
      // span is the caller's: it must not receive this primitive's attributes.
      const current = isRecording(fiber) ? fiber.currentSpan : undefined
      const span = current !== undefined && current._tag === "Span" ? current : undefined
      if (hash !== undefined && span !== undefined) {
        const digest = hash(input)
        if (digest !== undefined) span.attribute(Tracing.Attributes.inputHash, digest)
      }
      const start = clock.unsafeCurrentTimeNanos()
      return Effect.onExit(inner, (exit) =>
        Effect.sync(() =>
          observe(
            tags,
            Number(clock.unsafeCurrentTimeNanos() - start) / 1_000_000,
            isFailure(exit),
            span?.attributes,
            costPerCall
          )
        ))
    }))
}

/** @internal */
export const tracer = (delegate: Tracer.Tracer): Tracer.Tracer => {
  const tagsByName = new Map<string, Tags>()
  const tagsOf = (name: string) => {
    let tags = tagsByName.get(name)
    if (tags === undefined) {
      tags = makeTags(name)
      tagsByName.set(name, tags)
    }
    return tags
  }
  return Tracer.make({
    span(name, parent, context, links, startTime, kind, spanOptions) {
      const inner = delegate.span(name, parent, context, links, startTime, kind, spanOptions)
      const end = inner.end
      inner.end = function(this: Tracer.Span, endTime, exit) {
        end.call(this, endTime, exit)
        if (this.attributes.has(Tracing.Attributes.primitiveKind)) {
          observe(tagsOf(name), Number(endTime - startTime) / 1_000_000, isFailure(exit), this.attributes, undefined)
        }
      }
      return inner
    },
    context: (f, fiber) => delegate.context(f, fiber)
  })
}

// ---------------------------------------------------------------------------
// snapshot
// ---------------------------------------------------------------------------

/** @internal */
export const snapshot = (prefix: string): Effect.Effect<Array<Metrics.MetricRow>> =>
  Effect.map(Metric.snapshot, (pairs) => {
    const rows: Array<Metrics.MetricRow> = []
    for (const pair of pairs) {
      const key = pair.metricKey
      if (!key.name.startsWith(prefix)) continue
      const tags: Record<string, string> = {}
      for (const label of key.tags) tags[label.key] = label.value
      const state = pair.metricState
      const base = { name: key.name, tags }
      if (MetricState.isCounterState(state)) {
        rows.push({ ...base, type: "counter", value: Number(state.count) })
      } else if (MetricState.isGaugeState(state)) {
        rows.push({ ...base, type: "gauge", value: Number(state.value) })
      } else if (MetricState.isHistogramState(state)) {
        rows.push({
          ...base,
          type: "histogram",
          value: state.count === 0 ? 0 : state.sum / state.count,
          count: state.count,
          sum: state.sum,
          min: state.min,
          max: state.max
        })
      } else if (MetricState.isSummaryState(state)) {
        const quantiles: Record<string, number | undefined> = {}
        for (const [q, v] of state.quantiles) quantiles[`p${Math.round(q * 100)}`] = Option.getOrUndefined(v)
        rows.push({
          ...base,
          type: "summary",
          value: state.count === 0 ? 0 : state.sum / state.count,
          count: state.count,
          sum: state.sum,
          min: state.min,
          max: state.max,
          quantiles
        })
      } else if (MetricState.isFrequencyState(state)) {
        let total = 0
        for (const n of state.occurrences.values()) total += n
        rows.push({ ...base, type: "frequency", value: total, occurrences: Object.fromEntries(state.occurrences) })
      }
    }
    return rows.sort((a, b) =>
      a.name.localeCompare(b.name) || JSON.stringify(a.tags).localeCompare(JSON.stringify(b.tags))
    )
  })

const fmt = (n: number | undefined) =>
  n === undefined
    ? "-"
    : Number.isInteger(n)
    ? n.toLocaleString("en-US")
    : n.toLocaleString("en-US", { maximumFractionDigits: 4 })

/** @internal */
export const formatSnapshot = (rows: ReadonlyArray<Metrics.MetricRow>): string => {
  const lines = ["| metric | tags | value | count | p50 | p95 | p99 |", "|---|---|---|---|---|---|---|"]
  for (const row of rows) {
    const tags = Object.entries(row.tags).map(([k, v]) => `${k}=${v}`).join(" ")
    lines.push(
      `| ${row.name} | ${tags} | ${fmt(row.value)} | ${fmt(row.count)} | ${fmt(row.quantiles?.["p50"])} | ${
        fmt(row.quantiles?.["p95"])
      } | ${fmt(row.quantiles?.["p99"])} |`
    )
  }
  return lines.join("\n")
}

// ---------------------------------------------------------------------------
// breakdown
// ---------------------------------------------------------------------------

const checkBreakdown = (owner: string, options: Metrics.BreakdownOptions | undefined) => ({
  threshold: options_.numberOr(owner, "bottleneckThreshold", options?.bottleneckThreshold, 0.5, { min: 0, max: 1 }),
  root: options?.root === undefined ? undefined : options_.nonEmptyString(owner, "root", options.root)
})

/** @internal */
export const breakdown = (
  spans: ReadonlyArray<Tracing.SpanRecord>,
  options?: Metrics.BreakdownOptions
): Metrics.Breakdown => {
  const { root, threshold } = checkBreakdown("Metrics.breakdown", options)
  const named = root === undefined ? undefined : spans.find((s) => s.name === root)
  const topLevel = named ? [named] : internalTracing.roots(spans)
  if (topLevel.length === 0) {
    return { name: "(empty)", totalMillis: 0, steps: [], bottleneck: undefined, untrackedMillis: 0, checkpoints: [] }
  }
  const single = topLevel.length === 1 ? topLevel[0]! : undefined
  const start = topLevel.reduce((min, s) => s.startTime < min ? s.startTime : min, topLevel[0]!.startTime)
  const end = topLevel.reduce((max, s) => s.endTime > max ? s.endTime : max, topLevel[0]!.endTime)
  const totalMillis = Number(end - start) / 1_000_000
  const stepSpans = single
    ? (() => {
      const direct = internalTracing.children(spans, single)
      return direct.length === 0 ? [single] : direct
    })()
    : topLevel
  const byName = new Map<string, { kind: string | undefined; duration: number; calls: number; failures: number }>()
  for (const span of stepSpans) {
    const entry = byName.get(span.name) ?? {
      kind: span.attributes[Tracing.Attributes.primitiveKind] as string | undefined,
      duration: 0,
      calls: 0,
      failures: 0
    }
    entry.duration += span.durationMillis
    entry.calls += 1
    if (span.status === "error") entry.failures += 1
    byName.set(span.name, entry)
  }
  const steps: Array<Metrics.StepTiming> = [...byName.entries()]
    .map(([name, e]) => ({
      name,
      kind: e.kind,
      durationMillis: e.duration,
      share: totalMillis > 0 ? e.duration / totalMillis : 0,
      calls: e.calls,
      failures: e.failures,
      bottleneck: false
    }))
    .sort((a, b) => b.durationMillis - a.durationMillis)
  const top = steps[0]
  if (top !== undefined && steps.length > 0 && top.share >= threshold) steps[0] = { ...top, bottleneck: true }
  const covered = Number(unionLength(stepSpans.map((s) => [s.startTime, s.endTime] as const))) / 1_000_000
  const inRun = single ? subtree(spans, single) : spans
  const checkpoints = inRun
    .flatMap((span) =>
      span.events.map((event) => ({
        name: event.name,
        atMillis: Number(event.time - start) / 1_000_000,
        span: span.name,
        attributes: event.attributes
      }))
    )
    .sort((a, b) => a.atMillis - b.atMillis)
  return {
    name: single ? single.name : topLevel.map((s) => s.name).join(", "),
    totalMillis,
    steps,
    bottleneck: steps[0]?.bottleneck ? steps[0] : undefined,
    untrackedMillis: Math.max(0, totalMillis - covered),
    checkpoints
  }
}

const subtree = (spans: ReadonlyArray<Tracing.SpanRecord>, root: Tracing.SpanRecord): Array<Tracing.SpanRecord> => {
  const ids = new Set([root.spanId])
  const out = [root]
  // Spans end children-first, so walk in start order to see parents before children.
  for (const span of [...spans].sort((a, b) => Number(a.startTime - b.startTime))) {
    if (span.parentSpanId !== undefined && ids.has(span.parentSpanId) && !ids.has(span.spanId)) {
      ids.add(span.spanId)
      out.push(span)
    }
  }
  return out
}

/** @internal */
export const formatBreakdown = (b: Metrics.Breakdown): string => {
  const width = Math.max(4, ...b.steps.map((s) => s.name.length))
  const lines = [`${b.name}`, `  Total time: ${internalTracing.formatMillis(b.totalMillis)}`, "  Steps:"]
  for (const step of b.steps) {
    const calls = step.calls > 1 ? ` x${step.calls}` : ""
    lines.push(
      `    ${step.name.padEnd(width)}  ${internalTracing.formatMillis(step.durationMillis).padStart(9)} (${
        Math.round(step.share * 100)
      }%)${calls}${step.bottleneck ? "  <- bottleneck" : ""}`
    )
  }
  if (b.untrackedMillis >= 0.5) {
    lines.push(`    ${"(between steps)".padEnd(width)}  ${internalTracing.formatMillis(b.untrackedMillis).padStart(9)}`)
  }
  if (b.checkpoints.length > 0) {
    lines.push("  Checkpoints:")
    for (const c of b.checkpoints) lines.push(`    +${internalTracing.formatMillis(c.atMillis)} ${c.name} (${c.span})`)
  }
  return lines.join("\n")
}

/** @internal */
export const profileRun = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  options?: Metrics.BreakdownOptions & Tracing.MemoryOptions
): Effect.Effect<Metrics.ProfiledRun<A>, E, R> => {
  // Checked before the run, where the options are given.
  checkBreakdown("Metrics.profileRun", options)
  return Effect.map(internalTracing.record(self, options), ([value, spans]) => ({
    value,
    spans,
    breakdown: breakdown(spans, options)
  }))
}
