import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import type * as Tracing from "../Tracing.js"
import * as Options from "./options.js"
import { errorTag as failureTag } from "./stats.js"

/** @internal */
export const defaultMaxSpans = 100_000

/**
 * `layerMemory`'s default: a layer records for the life of its runtime, and a
 * kept span costs about 360 bytes (scratch probe, 55,000 spans of a sequence
 * of 10), so 100,000 kept spans held ~36 MB for a development aid. `record`
 * keeps `defaultMaxSpans`: its buffer lives only as long as the one effect.
 *
 * @internal
 */
export const layerDefaultMaxSpans = 10_000

/**
 * Sets attributes on the fiber's current span, when there is one. Effect's
 * `annotateCurrentSpan` reaches the span through `currentSpan`, which fails
 * with a `NoSuchElementException` (a captured stack, ~10 us) when no span is
 * open: the common case under the default tracer, where primitives open none.
 * Given a function, the attributes are only built when a span takes them.
 *
 * @internal
 */
export const annotateSpan = (
  attributes: Readonly<Record<string, unknown>> | (() => Readonly<Record<string, unknown>>)
): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => {
    const span = fiber.currentContext.unsafeMap.get(Tracer.ParentSpan.key) as Tracer.AnySpan | undefined
    if (span !== undefined && span._tag === "Span") {
      const values = typeof attributes === "function" ? attributes() : attributes
      for (const key in values) span.attribute(key, values[key])
    }
    return Effect.void
  })

const errorTag = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) return failureTag(failure.value)
  const defect = Cause.dieOption(cause)
  return Option.isSome(defect) ? `Defect: ${String(defect.value)}` : "Unknown"
}

// Effect's built-in tracer keeps nothing once a span ends, so a recorder on
// top of it makes its own ids instead of building a second span per span.
const nativeTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

// Ids from a table of byte strings: `Number#toString(16)` costs ~300 ns a
// call on Node 20, about the cost of the rest of the span.
const byteHex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))
const hex8 = (): string => {
  const word = (Math.random() * 0x100000000) >>> 0
  return byteHex[word & 255]! + byteHex[(word >>> 8) & 255]! + byteHex[(word >>> 16) & 255]! + byteHex[word >>> 24]!
}

const noEvents: ReadonlyArray<Tracing.SpanEvent> = Object.freeze([])
const noLinks: ReadonlyArray<Tracer.SpanLink> = Object.freeze([])

/**
 * A span of the recording tracer. Its record is kept until `maxSpans` newer
 * ones push it out, so it lives through several garbage collections: the
 * record shares the span's attribute object and event array instead of
 * copying them (a write after the end copies them first: a record is a
 * value), and a span with no events or links allocates no array for them.
 * The record, not the span, is kept: a span holds its exit (the result) and
 * its parent.
 */
class RecordingSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId: string
  readonly traceId: string
  readonly sampled: boolean
  status: Tracer.SpanStatus
  recordedAttributes: Record<string, unknown> = {}
  recordedEvents: ReadonlyArray<Tracing.SpanEvent> = noEvents
  /** Links kept by a standalone span (no inner span to hold them). */
  ownLinks: Array<Tracer.SpanLink> | undefined
  constructor(
    readonly recorder: (span: RecordingSpan, endTime: bigint, exit: Exit.Exit<unknown, unknown>) => void,
    /** The delegate's span, or `undefined` when the delegate is Effect's built-in tracer. */
    readonly inner: Tracer.Span | undefined,
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    links: ReadonlyArray<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind
  ) {
    this.spanId = inner ? inner.spanId : hex8() + hex8()
    this.traceId = inner
      ? inner.traceId
      : parent._tag === "Some"
      ? parent.value.traceId
      : hex8() + hex8() + hex8() + hex8()
    this.sampled = inner ? inner.sampled : true
    this.ownLinks = inner || links.length === 0 ? undefined : Array.from(links)
    this.status = { _tag: "Started", startTime }
  }
  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>) {
    this.inner?.end(endTime, exit)
    this.recorder(this, endTime, exit)
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
  }
  attribute(key: string, value: unknown) {
    if (this.status._tag === "Ended") this.recordedAttributes = { ...this.recordedAttributes }
    this.recordedAttributes[key] = value
    this.inner?.attribute(key, value)
  }
  event(name: string, startTime: bigint, attributes?: Record<string, unknown>) {
    const event = { name, time: startTime, attributes: attributes ?? {} }
    // Appended in place while the span is open and the array is its own.
    if (this.recordedEvents === noEvents || this.status._tag === "Ended") {
      this.recordedEvents = [...this.recordedEvents, event]
    } else (this.recordedEvents as Array<Tracing.SpanEvent>).push(event)
    this.inner?.event(name, startTime, attributes)
  }
  addLinks(links: ReadonlyArray<Tracer.SpanLink>) {
    if (this.inner) this.inner.addLinks(links)
    else if (this.ownLinks) this.ownLinks.push(...links)
    else this.ownLinks = Array.from(links)
  }
  /** Built on each read: Effect and flowtune write attributes, only tests and tools read them back. */
  get attributes(): ReadonlyMap<string, unknown> {
    return new Map(Object.entries(this.recordedAttributes))
  }
  get links(): ReadonlyArray<Tracer.SpanLink> {
    return this.inner ? this.inner.links : this.ownLinks ?? noLinks
  }
}

const toRecord = (span: RecordingSpan, endTime: bigint, exit: Exit.Exit<unknown, unknown>): Tracing.SpanRecord => {
  const startTime = span.status.startTime
  const parent = span.parent
  const status: Tracing.SpanRecord["status"] = exit._tag === "Success"
    ? "ok"
    : Cause.isInterruptedOnly(exit.cause)
    ? "interrupted"
    : "error"
  return {
    name: span.name,
    spanId: span.spanId,
    traceId: span.traceId,
    parentSpanId: parent._tag === "Some" ? parent.value.spanId : undefined,
    kind: span.kind,
    startTime,
    endTime,
    durationMillis: Number(endTime - startTime) / 1_000_000,
    attributes: span.recordedAttributes,
    events: span.recordedEvents,
    status,
    errorTag: exit._tag === "Failure" && status === "error" ? errorTag(exit.cause) : undefined
  }
}

/** @internal */
export const makeRecorder = (
  delegate: Tracer.Tracer,
  options?: { readonly maxSpans?: number | undefined }
): Tracing.SpanRecorderShape => {
  const maxSpans = Options.numberOr("Tracing.makeRecorder", "maxSpans", options?.maxSpans, defaultMaxSpans, {
    integer: true,
    min: 1
  })
  // Spans end synchronously inside `Tracer.Span.end`, where no effect can run,
  // so the finished spans live in a ring buffer owned by this recorder.
  let buffer: Array<Tracing.SpanRecord> = []
  let next = 0
  let dropped = 0
  const push = (span: RecordingSpan, endTime: bigint, exit: Exit.Exit<unknown, unknown>) => {
    const record = toRecord(span, endTime, exit)
    if (buffer.length < maxSpans) buffer.push(record)
    else {
      buffer[next] = record
      next = (next + 1) % maxSpans
      dropped++
    }
  }
  const unwrap = (parent: Option.Option<Tracer.AnySpan>): Option.Option<Tracer.AnySpan> => {
    if (Option.isNone(parent) || !(parent.value instanceof RecordingSpan)) return parent
    const inner = parent.value.inner
    return inner === undefined ? Option.none() : Option.some(inner)
  }
  const standalone = delegate === nativeTracer
  const tracer = Tracer.make({
    span(name, parent, context, links, startTime, kind, spanOptions) {
      const inner = standalone
        ? undefined
        : delegate.span(name, unwrap(parent), context, links, startTime, kind, spanOptions)
      return new RecordingSpan(push, inner, name, parent, context, links, startTime, kind)
    },
    // Called by the fiber on every step: the built-in tracer's hook is
    // handed over as is (it only calls `f`), without a closure around it.
    context: standalone ? delegate.context : (f, fiber) => delegate.context(f, fiber)
  })
  return {
    tracer,
    spans: Effect.sync(() => next === 0 ? buffer.slice() : [...buffer.slice(next), ...buffer.slice(0, next)]),
    dropped: Effect.sync(() => dropped),
    clear: Effect.sync(() => {
      buffer = []
      next = 0
      dropped = 0
    })
  }
}

/** @internal */
export const record = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  options?: { readonly maxSpans?: number | undefined }
): Effect.Effect<[A, ReadonlyArray<Tracing.SpanRecord>], E, R> => {
  // Checked where it is given, not when the effect runs.
  if (options?.maxSpans !== undefined) {
    Options.number("Tracing.record", "maxSpans", options.maxSpans, { integer: true, min: 1 })
  }
  return Effect.flatMap(Effect.tracer, (current) => {
    const recorder = makeRecorder(current, options)
    return self.pipe(
      Effect.withTracerEnabled(true),
      Effect.withTracer(recorder.tracer),
      Effect.flatMap((value) =>
        Effect.map(recorder.spans, (spans) => [value, spans] as [A, ReadonlyArray<Tracing.SpanRecord>])
      )
    )
  })
}

// Start time first; in virtual time many spans start at the same instant, and
// the one that ended first (a sequence's earlier step) comes first.
const byTime = (a: Tracing.SpanRecord, b: Tracing.SpanRecord) =>
  Number(a.startTime - b.startTime) || Number(a.endTime - b.endTime)

/** @internal */
export const children = (
  spans: ReadonlyArray<Tracing.SpanRecord>,
  parent: Tracing.SpanRecord
): ReadonlyArray<Tracing.SpanRecord> => spans.filter((s) => s.parentSpanId === parent.spanId).sort(byTime)

/** @internal */
export const roots = (spans: ReadonlyArray<Tracing.SpanRecord>): ReadonlyArray<Tracing.SpanRecord> => {
  const ids = new Set(spans.map((s) => s.spanId))
  return spans
    .filter((s) => s.parentSpanId === undefined || !ids.has(s.parentSpanId))
    .sort(byTime)
}

/** @internal */
export const tree = (spans: ReadonlyArray<Tracing.SpanRecord>): Array<Tracing.SpanTree> => {
  const byParent = new Map<string, Array<Tracing.SpanRecord>>()
  for (const span of spans) {
    if (span.parentSpanId === undefined) continue
    const list = byParent.get(span.parentSpanId) ?? []
    list.push(span)
    byParent.set(span.parentSpanId, list)
  }
  const build = (span: Tracing.SpanRecord): Tracing.SpanTree => ({
    span,
    children: (byParent.get(span.spanId) ?? [])
      .sort(byTime)
      .map(build)
  })
  return roots(spans).map(build)
}

/** @internal */
export const formatTree = (spans: ReadonlyArray<Tracing.SpanRecord>): string => {
  const lines: Array<string> = []
  const walk = (node: Tracing.SpanTree, depth: number) => {
    const kind = node.span.attributes["flowtune.primitive.kind"]
    const status = node.span.status === "ok"
      ? ""
      : ` [${node.span.status}${node.span.errorTag ? `: ${node.span.errorTag}` : ""}]`
    lines.push(
      `${"  ".repeat(depth)}${node.span.name}${kind === undefined ? "" : ` (${String(kind)})`} ${
        formatMillis(node.span.durationMillis)
      }${status}`
    )
    for (const child of node.children) walk(child, depth + 1)
  }
  for (const root of tree(spans)) walk(root, 0)
  return lines.join("\n")
}

/** @internal */
export const formatMillis = (ms: number): string =>
  ms >= 1000
    ? `${ms.toLocaleString("en-US", { maximumFractionDigits: 0 })}ms`
    : ms >= 10
    ? `${ms.toFixed(0)}ms`
    : `${ms.toFixed(2)}ms`
