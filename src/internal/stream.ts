import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricKey from "effect/MetricKey"
import type * as MetricKeyType from "effect/MetricKeyType"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import { pipeArguments } from "effect/Pipeable"
import * as EffectStream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import * as Primitive from "../Primitive.js"
import * as FlowStream from "../Stream.js"
import * as WorkflowContext from "../WorkflowContext.js"
import * as options_ from "./options.js"
import { percentile } from "./stats.js"

/** @internal */
export const TypeId: unique symbol = Symbol.for("flowtune/Stream")

const variance = {
  _In: (_: unknown) => _,
  _A: (_: never) => _,
  _E: (_: never) => _,
  _R: (_: never) => _
}

const Proto = {
  [TypeId]: variance,
  pipe() {
    return pipeArguments(this, arguments)
  },
  toString(this: FlowStream.StreamPrimitive.Any) {
    return `StreamPrimitive(${this.name})`
  },
  toJSON(this: FlowStream.StreamPrimitive.Any) {
    return {
      _id: "StreamPrimitive",
      name: this.name,
      kind: this.kind,
      children: this.children.map((c) => c.toJSON())
    }
  }
}

/** @internal */
export const isStreamPrimitive = (u: unknown): u is FlowStream.StreamPrimitive.Any =>
  typeof u === "object" && u !== null && TypeId in u

// Same policy as Primitive: a malformed workflow is reported where it is
// defined, by `options.ts` (a thrown `Primitive.InvalidPrimitive`).
const annotationsOf = (name: string, annotations: unknown): Primitive.Annotations | undefined => {
  if (annotations !== undefined && (typeof annotations !== "object" || annotations === null)) {
    options_.invalid(name, "annotations", "an object", annotations)
  }
  return annotations as Primitive.Annotations | undefined
}

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

const summarizeGaps = (gaps: ReadonlyArray<number>, count: number, sum: number, max: number) => {
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

const makeRunState = (start: number): RunState => ({
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

const observe = (state: RunState, now: number, size: number) => {
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

const taggedMetrics = (name: string) => {
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
      const labels = fiber.getFiberRef(FiberRef.currentMetricLabels)
      tagged.duration.unsafeUpdate(totalMs, labels)
      tagged.runs[outcome].unsafeUpdate(1, labels)
      tagged.chunks.unsafeUpdate(state.chunks, labels)
      tagged.elements.unsafeUpdate(state.elements, labels)
      if (ttftMs !== undefined) tagged.ttft.unsafeUpdate(ttftMs, labels)
      // Effect's summary ages its samples against `Date.now()`, so they are
      // stamped with wall time (the gaps themselves come from the Clock).
      const stamp = Date.now()
      for (const gap of state.gaps) tagged.gap.unsafeUpdate([gap, stamp], labels)
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
const instrument = <In, A, E, R>(
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
        Effect.map(FiberRef.get(FiberRef.currentTracerEnabled), (enabled): EffectStream.Stream<A, E, R> =>
          // Tracing off: no span, not even a no-op one (it costs per run).
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

// Combinators that re-wrap a stream primitive run the inner one's body, not
// its instrumented stream, so one run is measured once.
const BodyKey = Symbol.for("flowtune/Stream/body")
interface Internal {
  // `any`: the body of a primitive of any type.
  [BodyKey]: (input: any) => EffectStream.Stream<any, any, any>
}
const bodyOf = <In, A, E, R>(
  self: FlowStream.StreamPrimitive<In, A, E, R>
): (input: In) => EffectStream.Stream<A, E, R> => (self as unknown as Internal)[BodyKey]

/** @internal */
export const unsafeMake = <In, A, E, R>(options: {
  readonly name: string
  readonly kind: Primitive.Kind
  readonly children?: ReadonlyArray<FlowStream.Child> | undefined
  readonly annotations?: Primitive.Annotations | undefined
  readonly body: (input: In) => EffectStream.Stream<A, E, R>
}): FlowStream.StreamPrimitive<In, A, E, R> => {
  options_.nonEmptyString("Stream", "name", options.name)
  options_.func(options.name, "f", options.body)
  const self = Object.create(Proto)
  self[BodyKey] = options.body
  self.name = options.name
  self.kind = options.kind
  self.children = options.children ?? []
  self.annotations = annotationsOf(options.name, options.annotations) ?? {}
  self.stream = instrument(options.name, options.kind, options.body)
  return self
}

// ---------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------

/** @internal */
export const make = <In, A, E = never, R = never>(
  name: string,
  f: (input: In) => EffectStream.Stream<A, E, R>,
  options?: { readonly annotations?: Primitive.Annotations | undefined }
): FlowStream.StreamPrimitive<In, A, E, R> =>
  unsafeMake({ name, kind: "stream", body: f, annotations: options?.annotations })

/** @internal */
export const fromIterable = <In, A>(
  name: string,
  f: (input: In) => Iterable<A>,
  options?: { readonly annotations?: Primitive.Annotations | undefined }
): FlowStream.StreamPrimitive<In, A> => {
  options_.func(String(name), "f", f)
  return unsafeMake({
    name,
    kind: "stream",
    annotations: options?.annotations,
    body: (input: In) => EffectStream.suspend(() => EffectStream.fromIterable(f(input)))
  })
}

/** @internal */
export const defaultBufferSize = 256

/**
 * Reads an async iterator ahead of the consumer into a bounded buffer; the
 * consumer takes everything buffered at once, so a fast source yields large
 * chunks (throughput) and a slow one single tokens (no added latency).
 *
 * The read-ahead loop is plain promise code, not a fiber with a `Queue`: with
 * a fiber and a queue per element the bench measured ~300 us per token
 * against ~1 us for `for await` (bench/stream.ts).
 */
const nextMacrotask: (f: () => void) => void = typeof globalThis.setImmediate === "function"
  ? (f) => globalThis.setImmediate(f)
  : (f) => globalThis.setTimeout(f, 0)

const pumpAsyncIterable = <A, E>(
  iterable: (signal: AbortSignal) => AsyncIterable<A>,
  onError: (error: unknown) => E,
  capacity: number
): EffectStream.Stream<A, E> =>
  EffectStream.unwrapScoped(Effect.gen(function*() {
    const controller = new AbortController()
    const iterator = yield* Effect.try({
      try: () => iterable(controller.signal)[Symbol.asyncIterator](),
      catch: onError
    })
    let buffer: Array<A> = []
    let end: Exit.Exit<void, E> | undefined
    let closed = false
    let wakeConsumer: (() => void) | undefined
    let wakeProducer: (() => void) | undefined
    // The waiting consumer is woken on the next macrotask, not at once: a
    // source that is already ahead (an SDK's buffer, a fast generator) fills
    // the buffer meanwhile, so chunks are large, while a network source pays
    // nothing (its data arrives in the I/O phase, the wake-up runs right
    // after). Waking at once made every chunk one token: 75 us/token vs 1 us.
    let wakeScheduled = false
    const wakeNow = () => {
      wakeScheduled = false
      const wake = wakeConsumer
      wakeConsumer = undefined
      if (wake !== undefined) wake()
    }
    // The first token is handed over at once: batching only pays off after it.
    let delivered = false
    const notify = () => {
      if (wakeConsumer === undefined || wakeScheduled) return
      if (!delivered) {
        delivered = true
        wakeNow()
        return
      }
      wakeScheduled = true
      nextMacrotask(wakeNow)
    }
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
        controller.abort()
        if (wakeProducer !== undefined) wakeProducer()
        // Not awaited: an async generator's `return` waits for its pending
        // `next`, which only settles once the aborted request has unwound.
        if (end === undefined && typeof iterator.return === "function") {
          Promise.resolve().then(() => iterator.return!()).catch(() => undefined)
        }
      })
    )
    const readAhead = async () => {
      try {
        while (!closed) {
          if (buffer.length >= capacity) {
            await new Promise<void>((resolve) => {
              wakeProducer = resolve
            })
            wakeProducer = undefined
            continue
          }
          const result = await iterator.next()
          if (closed) return
          if (result.done) break
          buffer.push(result.value)
          notify()
        }
        end = Exit.void
      } catch (error) {
        if (!closed) end = Exit.fail(onError(error))
      }
      notify()
    }
    const waitForData = Effect.async<void>((resume) => {
      wakeConsumer = () => resume(Effect.void)
      return Effect.sync(() => {
        wakeConsumer = undefined
      })
    })
    const nextTurn = Effect.async<void>((resume) => {
      nextMacrotask(() => resume(Effect.void))
    })
    let tookAny = false
    const take = Effect.sync(() => {
      tookAny = true
      const taken = buffer
      buffer = []
      if (wakeProducer !== undefined) wakeProducer()
      return Chunk.unsafeFromArray(taken)
    })
    const takeOrEnd: Effect.Effect<Chunk.Chunk<A>, Option.Option<E>> = Effect.suspend(() => {
      if (buffer.length > 0) return take
      if (end !== undefined) {
        return Exit.isSuccess(end) ? Effect.fail(Option.none()) : Effect.failCause(Cause.map(end.cause, Option.some))
      }
      return Effect.zipRight(waitForData, takeOrEnd)
    })
    let started = false
    // A partly filled buffer is taken on the next macrotask, not at once, so a
    // source running ahead keeps filling it: without this, chunks were 1-2
    // tokens whenever the consumer kept up (2.4x the plain generator's cost).
    const pull: Effect.Effect<Chunk.Chunk<A>, Option.Option<E>> = Effect.suspend(() => {
      if (!started) {
        started = true
        readAhead()
      }
      if (buffer.length >= capacity || end !== undefined || !tookAny) return takeOrEnd
      if (buffer.length === 0) return Effect.zipRight(waitForData, takeOrEnd)
      return Effect.zipRight(nextTurn, takeOrEnd)
    })
    return EffectStream.repeatEffectChunkOption(pull)
  }))

/** @internal */
export const fromAsyncIterable: {
  <In, A>(
    name: string,
    f: (input: In, signal: AbortSignal) => AsyncIterable<A>,
    options?: FlowStream.FromAsyncIterableOptions<FlowStream.AsyncIterableFailed>
  ): FlowStream.StreamPrimitive<In, A, FlowStream.AsyncIterableFailed>
  <In, A, E>(
    name: string,
    f: (input: In, signal: AbortSignal) => AsyncIterable<A>,
    options: FlowStream.FromAsyncIterableOptions<E> & { readonly catch: (error: unknown) => E }
  ): FlowStream.StreamPrimitive<In, A, E>
} = <In, A, E>(
  name: string,
  f: (input: In, signal: AbortSignal) => AsyncIterable<A>,
  options?: FlowStream.FromAsyncIterableOptions<E>
  // `any`: the error type depends on which overload was called (`catch` or not).
): FlowStream.StreamPrimitive<In, A, any> => {
  options_.nonEmptyString("Stream.fromAsyncIterable", "name", name)
  options_.func(name, "f", f)
  const capacity = options?.bufferSize === undefined
    ? defaultBufferSize
    : options_.positiveInt(name, "bufferSize", options.bufferSize)
  if (options?.catch !== undefined) options_.func(name, "catch", options.catch)
  const onError: (error: unknown) => unknown = options?.catch ??
    ((cause: unknown) => new FlowStream.AsyncIterableFailed({ primitive: name, cause }))
  return unsafeMake({
    name,
    kind: "stream",
    annotations: options?.annotations,
    body: (input: In) => pumpAsyncIterable((signal) => f(input, signal), onError, capacity)
  })
}

// ---------------------------------------------------------------------------
// combinators
// ---------------------------------------------------------------------------

/** @internal */
export const map = dual<
  <A, B>(f: (a: A) => B) => <In, E, R>(
    self: FlowStream.StreamPrimitive<In, A, E, R>
  ) => FlowStream.StreamPrimitive<In, B, E, R>,
  <In, A, E, R, B>(
    self: FlowStream.StreamPrimitive<In, A, E, R>,
    f: (a: A) => B
  ) => FlowStream.StreamPrimitive<In, B, E, R>
>(2, (self, f) => {
  const body = bodyOf(self)
  return unsafeMake({ ...inherit(self), body: (input) => EffectStream.map(body(input), f) })
})

/** @internal */
export const mapChunks = dual<
  <A, B>(f: (chunk: Chunk.Chunk<A>) => Chunk.Chunk<B>) => <In, E, R>(
    self: FlowStream.StreamPrimitive<In, A, E, R>
  ) => FlowStream.StreamPrimitive<In, B, E, R>,
  <In, A, E, R, B>(
    self: FlowStream.StreamPrimitive<In, A, E, R>,
    f: (chunk: Chunk.Chunk<A>) => Chunk.Chunk<B>
  ) => FlowStream.StreamPrimitive<In, B, E, R>
>(2, (self, f) => {
  const body = bodyOf(self)
  return unsafeMake({ ...inherit(self), body: (input) => EffectStream.mapChunks(body(input), f) })
})

/** @internal */
export const pipeThrough = dual<
  <A, E, R, B, E2, R2>(f: (stream: EffectStream.Stream<A, E, R>) => EffectStream.Stream<B, E2, R2>) => <In>(
    self: FlowStream.StreamPrimitive<In, A, E, R>
  ) => FlowStream.StreamPrimitive<In, B, E2, R2>,
  <In, A, E, R, B, E2, R2>(
    self: FlowStream.StreamPrimitive<In, A, E, R>,
    f: (stream: EffectStream.Stream<A, E, R>) => EffectStream.Stream<B, E2, R2>
  ) => FlowStream.StreamPrimitive<In, B, E2, R2>
>(2, (self, f) => {
  const body = bodyOf(self)
  return unsafeMake({ ...inherit(self), body: (input) => f(body(input)) })
})

/** @internal */
export const withName = dual<
  (
    name: string
  ) => <In, A, E, R>(self: FlowStream.StreamPrimitive<In, A, E, R>) => FlowStream.StreamPrimitive<In, A, E, R>,
  <In, A, E, R>(self: FlowStream.StreamPrimitive<In, A, E, R>, name: string) => FlowStream.StreamPrimitive<In, A, E, R>
>(2, (self, name) => unsafeMake({ ...inherit(self), name, body: bodyOf(self) }))

/** @internal */
export const buffer = dual<
  (options: { readonly capacity: number }) => <In, A, E, R>(
    self: FlowStream.StreamPrimitive<In, A, E, R>
  ) => FlowStream.StreamPrimitive<In, A, E, R>,
  <In, A, E, R>(
    self: FlowStream.StreamPrimitive<In, A, E, R>,
    options: { readonly capacity: number }
  ) => FlowStream.StreamPrimitive<In, A, E, R>
>(2, (self, options) => {
  options_.positiveInt(self.name, "capacity", options?.capacity)
  const body = bodyOf(self)
  return unsafeMake({
    ...inherit(self),
    body: (input) => EffectStream.bufferChunks(body(input), { capacity: options.capacity })
  })
})

const inherit = (self: FlowStream.StreamPrimitive.Any) => ({
  name: self.name,
  kind: self.kind,
  children: self.children,
  annotations: self.annotations
})

/** @internal */
export const after = dual<
  <Out, A, E2, R2>(that: FlowStream.StreamPrimitive<Out, A, E2, R2>) => <In, E, R>(
    self: Primitive.Primitive<In, Out, E, R>
  ) => FlowStream.StreamPrimitive<In, A, E | E2, R | R2>,
  <In, Out, E, R, A, E2, R2>(
    self: Primitive.Primitive<In, Out, E, R>,
    that: FlowStream.StreamPrimitive<Out, A, E2, R2>
  ) => FlowStream.StreamPrimitive<In, A, E | E2, R | R2>
>(2, (self, that) =>
  unsafeMake({
    name: `sequence(${self.name} >> ${that.name})`,
    kind: "stream.sequence",
    children: [self, that],
    body: (input) => EffectStream.unwrap(Effect.map(self.run(input), that.stream))
  }))

// ---------------------------------------------------------------------------
// consuming
// ---------------------------------------------------------------------------

/** @internal */
export const toPrimitive = dual<
  <A, E, R, B, E2, R2>(
    f: (stream: EffectStream.Stream<A, E, R>) => Effect.Effect<B, E2, R2>,
    options?: { readonly name?: string | undefined }
  ) => <In>(self: FlowStream.StreamPrimitive<In, A, E, R>) => Primitive.Primitive<In, B, E2, R2>,
  <In, A, E, R, B, E2, R2>(
    self: FlowStream.StreamPrimitive<In, A, E, R>,
    f: (stream: EffectStream.Stream<A, E, R>) => Effect.Effect<B, E2, R2>,
    options?: { readonly name?: string | undefined }
  ) => Primitive.Primitive<In, B, E2, R2>
>(
  (args) => isStreamPrimitive(args[0]),
  (self, f, options) =>
    Primitive.make(options?.name ?? `collect(${self.name})`, (input) => f(self.stream(input)), {
      annotations: { ...self.annotations, stream: self.name }
    })
)

/** @internal */
export const collect = dual<
  (options?: { readonly name?: string | undefined }) => <In, A, E, R>(
    self: FlowStream.StreamPrimitive<In, A, E, R>
  ) => Primitive.Primitive<In, Array<A>, E, R>,
  <In, A, E, R>(
    self: FlowStream.StreamPrimitive<In, A, E, R>,
    options?: { readonly name?: string | undefined }
  ) => Primitive.Primitive<In, Array<A>, E, R>
>(
  (args) => isStreamPrimitive(args[0]),
  (self, options) => toPrimitive(self, (stream) => Effect.map(EffectStream.runCollect(stream), Chunk.toArray), options)
)

/** @internal */
export const collectText = dual<
  (options?: { readonly name?: string | undefined; readonly separator?: string | undefined }) => <In, E, R>(
    self: FlowStream.StreamPrimitive<In, string, E, R>
  ) => Primitive.Primitive<In, string, E, R>,
  <In, E, R>(
    self: FlowStream.StreamPrimitive<In, string, E, R>,
    options?: { readonly name?: string | undefined; readonly separator?: string | undefined }
  ) => Primitive.Primitive<In, string, E, R>
>((args) => isStreamPrimitive(args[0]), (self, options) => {
  const separator = options?.separator === undefined
    ? ""
    : typeof options.separator === "string"
    ? options.separator
    : options_.invalid(`collectText(${self.name})`, "separator", "a string", options.separator)
  return toPrimitive(
    self,
    (stream) => Effect.map(EffectStream.runCollect(stream), (chunk) => Chunk.join(chunk, separator)),
    options
  )
})

/** @internal */
export const timed = dual<
  (options?: { readonly name?: string | undefined }) => <In, A, E, R>(
    self: FlowStream.StreamPrimitive<In, A, E, R>
  ) => Primitive.Primitive<In, FlowStream.Timed<A>, E, R>,
  <In, A, E, R>(
    self: FlowStream.StreamPrimitive<In, A, E, R>,
    options?: { readonly name?: string | undefined }
  ) => Primitive.Primitive<In, FlowStream.Timed<A>, E, R>
>((args) => isStreamPrimitive(args[0]), (self, options) =>
  Primitive.make(
    options?.name ?? `timed(${self.name})`,
    (input) => measure(self.stream(input)),
    { annotations: { ...self.annotations, stream: self.name } }
  ))

/** @internal */
export const measure = <A, E, R>(stream: EffectStream.Stream<A, E, R>): Effect.Effect<FlowStream.Timed<A>, E, R> =>
  Effect.clockWith((clock) =>
    Effect.suspend(() => {
      const state = makeRunState(clock.unsafeCurrentTimeMillis())
      const items: Array<A> = []
      return Effect.map(
        EffectStream.runForEachChunk(stream, (chunk) =>
          Effect.sync(() => {
            observe(state, clock.unsafeCurrentTimeMillis(), chunk.length)
            for (const a of chunk) items.push(a)
          })),
        (): FlowStream.Timed<A> => {
          const totalMs = clock.unsafeCurrentTimeMillis() - state.start
          const ttftMs = state.chunks > 0 ? state.first - state.start : totalMs
          return {
            items,
            chunks: state.chunks,
            ttftMs,
            totalMs,
            perceivedSpeedup: ttftMs > 0 ? totalMs / ttftMs : Infinity,
            gaps: summarizeGaps(state.gaps, state.gapCount, state.gapSum, state.gapMax)
          }
        }
      )
    })
  )

/** @internal */
export const run = dual<
  <In>(input: In) => <A, E, R>(
    self: FlowStream.StreamPrimitive<In, A, E, R>
  ) => EffectStream.Stream<A, E, Exclude<R, WorkflowContext.WorkflowContext>>,
  <In, A, E, R>(
    self: FlowStream.StreamPrimitive<In, A, E, R>,
    input: In
  ) => EffectStream.Stream<A, E, Exclude<R, WorkflowContext.WorkflowContext>>
>((args) => isStreamPrimitive(args[0]), (self, input) =>
  EffectStream.unwrap(
    Effect.map(Effect.serviceOption(WorkflowContext.WorkflowContext), (current) =>
      Option.isSome(current)
        ? EffectStream.provideService(self.stream(input), WorkflowContext.WorkflowContext, current.value)
        : EffectStream.unwrap(
          Effect.map(
            WorkflowContext.make(),
            (context) => EffectStream.provideService(self.stream(input), WorkflowContext.WorkflowContext, context)
          )
        ))
    // `any`: TypeScript cannot see that providing the context removes it from `R`.
  ) as any)
