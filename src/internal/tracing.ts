import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import type * as Tracing from "../Tracing.js"
import * as Options from "./options.js"
import { errorTag as failureTag } from "./stats.js"

/** @internal */
export const defaultMaxSpans = 100_000

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

interface RecordingSpan extends Tracer.Span {
  /** The delegate's span, or `undefined` when the delegate is Effect's built-in tracer. */
  readonly inner: Tracer.Span | undefined
  readonly recordedAttributes: Map<string, unknown>
  readonly recordedEvents: Array<Tracing.SpanEvent>
  /** Links kept by a standalone span (no inner span to hold them). */
  readonly ownLinks: Array<Tracer.SpanLink>
  status: Tracer.SpanStatus
}

const errorTag = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) return failureTag(failure.value)
  const defect = Cause.dieOption(cause)
  return Option.isSome(defect) ? `Defect: ${String(defect.value)}` : "Unknown"
}

const toObject = (map: Map<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of map) out[key] = value
  return out
}

// Effect's built-in tracer keeps nothing once a span ends, so a recorder on
// top of it makes its own ids instead of building a second span per span.
const nativeTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

const hexDigits = "0123456789abcdef"
const randomHex = (length: number): string => {
  let out = ""
  for (let i = 0; i < length; i += 8) {
    const word = (Math.random() * 0x100000000) >>> 0
    for (let k = 0; k < 8 && i + k < length; k++) out += hexDigits[(word >>> (k * 4)) & 15]
  }
  return out
}

const toRecord = (span: RecordingSpan, endTime: bigint, exit: Exit.Exit<unknown, unknown>): Tracing.SpanRecord => {
  const startTime = span.status.startTime
  const parent = span.parent
  const status: Tracing.SpanRecord["status"] = Exit.isSuccess(exit)
    ? "ok"
    : Cause.isInterruptedOnly(exit.cause)
    ? "interrupted"
    : "error"
  return {
    name: span.name,
    spanId: span.spanId,
    traceId: span.traceId,
    parentSpanId: Option.isSome(parent) ? parent.value.spanId : undefined,
    kind: span.kind,
    startTime,
    endTime,
    durationMillis: Number(endTime - startTime) / 1_000_000,
    attributes: toObject(span.recordedAttributes),
    events: span.recordedEvents,
    status,
    errorTag: Exit.isFailure(exit) && status === "error" ? errorTag(exit.cause) : undefined
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
  const push = (record: Tracing.SpanRecord) => {
    if (buffer.length < maxSpans) buffer.push(record)
    else {
      buffer[next] = record
      next = (next + 1) % maxSpans
      dropped++
    }
  }
  const SpanProto = {
    _tag: "Span" as const,
    end(this: RecordingSpan, endTime: bigint, exit: Exit.Exit<unknown, unknown>) {
      this.inner?.end(endTime, exit)
      push(toRecord(this, endTime, exit))
      this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
    },
    attribute(this: RecordingSpan, key: string, value: unknown) {
      this.recordedAttributes.set(key, value)
      this.inner?.attribute(key, value)
    },
    event(this: RecordingSpan, name: string, startTime: bigint, attributes?: Record<string, unknown>) {
      this.recordedEvents.push({ name, time: startTime, attributes: attributes ?? {} })
      this.inner?.event(name, startTime, attributes)
    },
    addLinks(this: RecordingSpan, links: ReadonlyArray<Tracer.SpanLink>) {
      if (this.inner) this.inner.addLinks(links)
      else this.ownLinks.push(...links)
    },
    get attributes() {
      return (this as unknown as RecordingSpan).recordedAttributes
    },
    get links() {
      const self = this as unknown as RecordingSpan
      return self.inner ? self.inner.links : self.ownLinks
    }
  }
  const unwrap = (parent: Option.Option<Tracer.AnySpan>): Option.Option<Tracer.AnySpan> => {
    if (Option.isNone(parent) || !("inner" in parent.value)) return parent
    const inner = (parent.value as RecordingSpan).inner
    return inner === undefined ? Option.none() : Option.some(inner)
  }
  const standalone = delegate === nativeTracer
  const tracer = Tracer.make({
    span(name, parent, context, links, startTime, kind, spanOptions) {
      const inner = standalone
        ? undefined
        : delegate.span(name, unwrap(parent), context, links, startTime, kind, spanOptions)
      const span = Object.create(SpanProto)
      span.inner = inner
      span.name = name
      span.spanId = inner ? inner.spanId : randomHex(16)
      span.traceId = inner
        ? inner.traceId
        : Option.isSome(parent)
        ? parent.value.traceId
        : randomHex(32)
      span.parent = parent
      span.context = context as Context.Context<never>
      span.sampled = inner ? inner.sampled : true
      span.ownLinks = inner ? undefined : Array.from(links)
      span.kind = kind
      span.status = { _tag: "Started", startTime }
      span.recordedAttributes = new Map()
      span.recordedEvents = []
      return span as RecordingSpan
    },
    context(f, fiber) {
      return delegate.context(f, fiber)
    }
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
