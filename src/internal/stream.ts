import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as EffectStream from "effect/Stream"
import * as Primitive from "../Primitive.js"
import * as FlowStream from "../Stream.js"
import * as WorkflowContext from "../WorkflowContext.js"
import * as options_ from "./options.js"
import { isRecording } from "./primitive.js"
import * as ProtoKit from "./proto.js"
import * as Direct from "./streamDirect.js"

/** @internal */
export const TypeId: unique symbol = Symbol.for("flowtune/Stream")

const Proto = ProtoKit.make(TypeId, "StreamPrimitive")

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

export { cacheCounters, metrics } from "./streamMetrics.js"
import { instrument, makeRunState, observe, summarizeGaps } from "./streamMetrics.js"

// Combinators that re-wrap a stream primitive run the inner one's body, not
// its instrumented stream, so one run is measured once.
const BodyKey = Symbol.for("flowtune/Stream/body")
// What `collect` reads directly: the source (iterable, async iterable, else the body), then maps.
const SourceKey = Symbol.for("flowtune/Stream/source")
interface Internal {
  // `any`: the body and source of a primitive of any type.
  [BodyKey]: (input: any) => EffectStream.Stream<any, any, any>
  // `any`: the element type is erased inside the engine; `StreamPrimitive` types it at the public surface
  [SourceKey]: Direct.Source<any>
}
const bodyOf = <In, A, E, R>(
  self: FlowStream.StreamPrimitive<In, A, E, R>
): (input: In) => EffectStream.Stream<A, E, R> => (self as unknown as Internal)[BodyKey]
// `any`: a value of any type parameters: only the fields they share are read
const sourceOf = <In>(self: FlowStream.StreamPrimitive<In, any, any, any>): Direct.Source<In> =>
  (self as unknown as Internal)[SourceKey]

/** @internal */
export const unsafeMake = <In, A, E, R>(options: {
  readonly name: string
  readonly kind: Primitive.Kind
  readonly children?: ReadonlyArray<FlowStream.Child> | undefined
  readonly annotations?: Primitive.Annotations | undefined
  readonly body: (input: In) => EffectStream.Stream<A, E, R>
  readonly source?: Direct.Source<In> | undefined
}): FlowStream.StreamPrimitive<In, A, E, R> => {
  options_.nonEmptyString("Stream", "name", options.name)
  options_.func(options.name, "f", options.body)
  const self = Object.create(Proto)
  self[BodyKey] = options.body
  self[SourceKey] = options.source ?? { stream: options.body }
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
    body: (input: In) => EffectStream.suspend(() => EffectStream.fromIterable(f(input))),
    source: { iterable: f }
  })
}

export { defaultBufferSize } from "./streamPump.js"
import { defaultBufferSize, pumpAsyncIterable } from "./streamPump.js"

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
    body: (input: In) => pumpAsyncIterable((signal) => f(input, signal), onError, capacity),
    source: { asyncIterable: f, onError }
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
  options_.func(`map(${self.name})`, "f", f)
  const body = bodyOf(self)
  return unsafeMake({
    ...inherit(self),
    body: (input) => EffectStream.map(body(input), f),
    source: Direct.mapped(sourceOf(self), (chunk) => Chunk.map(chunk, f))
  })
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
  options_.func(`mapChunks(${self.name})`, "f", f)
  const body = bodyOf(self)
  return unsafeMake({
    ...inherit(self),
    body: (input) => EffectStream.mapChunks(body(input), f),
    source: Direct.mapped(sourceOf(self), f)
  })
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
  options_.func(`pipeThrough(${self.name})`, "f", f)
  const body = bodyOf(self)
  return unsafeMake({ ...inherit(self), body: (input) => f(body(input)) })
})

/** @internal */
export const withName = dual<
  (
    name: string
  ) => <In, A, E, R>(self: FlowStream.StreamPrimitive<In, A, E, R>) => FlowStream.StreamPrimitive<In, A, E, R>,
  <In, A, E, R>(self: FlowStream.StreamPrimitive<In, A, E, R>, name: string) => FlowStream.StreamPrimitive<In, A, E, R>
>(2, (self, name) => unsafeMake({ ...inherit(self), name, body: bodyOf(self), source: sourceOf(self) }))

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
>(2, (self, that) => {
  if (!Primitive.isPrimitive(self)) options_.invalid("Stream.after", "self", "a Primitive", self)
  if (!isStreamPrimitive(that)) options_.invalid(`after(${self.name})`, "that", "a StreamPrimitive", that)
  return unsafeMake({
    name: `sequence(${self.name} >> ${that.name})`,
    kind: "stream.sequence",
    children: [self, that],
    body: (input) => EffectStream.unwrap(Effect.map(self.run(input), that.stream))
  })
})

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
  (self, f, options) => {
    options_.func(`toPrimitive(${self.name})`, "f", f)
    return Primitive.make(options?.name ?? `collect(${self.name})`, (input) => f(self.stream(input)), {
      annotations: { ...self.annotations, stream: self.name }
    })
  }
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
  (self, options) =>
    readToEnd(
      self,
      (stream) => Effect.map(EffectStream.runCollect(stream), Chunk.toArray),
      Direct.toArray,
      options
    )
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
  return readToEnd(
    self,
    (stream) => Effect.map(EffectStream.runCollect(stream), (chunk) => Chunk.join(chunk, separator)),
    (parts) => Direct.toText(parts, separator),
    options
  )
})

/**
 * `toPrimitive(self, viaStream)`, except that with no recording tracer the
 * source is read by `streamDirect.ts` (a plain source without Effect's stream
 * machinery, any other without the per-run scope and finalizer); with one, the
 * run goes through the instrumented stream and its span.
 */
const readToEnd = <In, A, E, R, B>(
  self: FlowStream.StreamPrimitive<In, A, E, R>,
  viaStream: (stream: EffectStream.Stream<A, E, R>) => Effect.Effect<B, E, R>,
  fromParts: (parts: Direct.Parts<A>) => B,
  options: { readonly name?: string | undefined } | undefined
): Primitive.Primitive<In, B, E, R> => {
  const read = Direct.reader<In, A, E, R>(self.name, sourceOf(self))
  return Primitive.makeWith({
    name: options?.name ?? `collect(${self.name})`,
    annotations: { ...self.annotations, stream: self.name },
    run: (input, fiber) =>
      isRecording(fiber) ? viaStream(self.stream(input)) : Effect.map(read(input, fiber), fromParts)
  })
}

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
