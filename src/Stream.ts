/**
 * Streaming primitives: a named, typed step `(input: In) => Stream<A, E, R>`
 * that delivers an answer token by token (the guide's "Streaming Large
 * Responses"), measured and composable like any other step.
 *
 * - Every run is measured with Effect's `Clock`: time to first token, total
 *   time, gaps between chunks and the outcome, as `flowtune_stream_*` metrics
 *   tagged with the primitive's name and as attributes of its span.
 * - `collect` / `collectText` / `timed` / `toPrimitive` turn a stream into an
 *   ordinary `Primitive`, so a stream can end a `sequence` or be a router's
 *   route; `after(p, s)` runs a primitive and then streams from its output.
 * - `cached` replays a stored answer as a stream (original chunks, optionally
 *   paced), stores an answer only when its stream completed, and lets
 *   concurrent identical requests share one upstream; `share` does the
 *   sharing alone.
 * - Stopping early (`take(n)`, interruption, a client going away) interrupts
 *   the upstream; `fromAsyncIterable` aborts its `AbortSignal`, so an HTTP
 *   request really stops.
 *
 * @example
 * ```ts
 * import { Effect, Stream as EffectStream } from "effect"
 * import { Stream as FlowStream } from "flowtune"
 *
 * const tokens = FlowStream.make("tokens", (prompt: string) =>
 *   EffectStream.fromIterable(prompt.split(" ")).pipe(EffectStream.map((w) => w + " ")))
 *
 * // Effect<{ items, ttftMs, totalMs, ... }>
 * const timed = FlowStream.timed(tokens).run("streaming feels faster")
 * ```
 *
 * @since 0.1.0
 */
import type * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Metric from "effect/Metric"
import type * as Option from "effect/Option"
import type { Pipeable } from "effect/Pipeable"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as EffectStream from "effect/Stream"
import * as internal from "./internal/stream.js"
import * as internalCache from "./internal/streamCache.js"
import type * as Primitive from "./Primitive.js"
import type * as WorkflowContext from "./WorkflowContext.js"

/**
 * @since 0.1.0
 * @category symbols
 */
// `any`: the same registered symbol as the implementation's, re-declared as this module's unique symbol type.
export const TypeId: unique symbol = internal.TypeId as any

/**
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * What a streaming primitive is composed of: other streaming primitives or
 * ordinary ones (`after`).
 *
 * @since 0.1.0
 * @category models
 */
export type Child = StreamPrimitive.Any | Primitive.Primitive.Any

/**
 * A named, typed step that streams its output.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamPrimitive<in In, out A, out E = never, out R = never>
  extends StreamPrimitive.Variance<In, A, E, R>, Pipeable
{
  readonly name: string
  readonly kind: Primitive.Kind
  readonly children: ReadonlyArray<Child>
  readonly annotations: Primitive.Annotations
  /**
   * The stream of one run, measured (time to first token, total time, gaps)
   * and in a span named after the primitive when tracing is on. Nothing runs
   * until the stream is consumed; stopping the consumer stops the upstream.
   */
  readonly stream: (input: In) => EffectStream.Stream<A, E, R>
  toJSON(): unknown
}

/**
 * @since 0.1.0
 */
export declare namespace StreamPrimitive {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Variance<in In, out A, out E, out R> {
    readonly [TypeId]: {
      readonly _In: (_: In) => void
      readonly _A: (_: never) => A
      readonly _E: (_: never) => E
      readonly _R: (_: never) => R
    }
  }

  /**
   * Any streaming primitive, whatever its types.
   *
   * @since 0.1.0
   * @category models
   */
  // `any`: every instance whatever its type parameters (some are contravariant, so `unknown` would not accept them all)
  export type Any = StreamPrimitive<any, any, any, any>
}

/**
 * How a streaming run ended: `completed` (the source ended), `cancelled` (the
 * consumer stopped early, e.g. `take(n)`), `failed`, or `interrupted`.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = "completed" | "cancelled" | "failed" | "interrupted"

/**
 * A summary of the gaps between consecutive chunks of one run.
 *
 * @since 0.1.0
 * @category models
 */
export interface GapSummary {
  readonly count: number
  readonly meanMs: number
  readonly p50Ms: number
  readonly p95Ms: number
  readonly maxMs: number
}

/**
 * A collected stream with its timings (from Effect's `Clock`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Timed<A> {
  /** Every element, in order. */
  readonly items: ReadonlyArray<A>
  /** How many chunks they arrived in. */
  readonly chunks: number
  /** Time to the first chunk (the total time when the stream was empty). */
  readonly ttftMs: number
  /** Time to the end of the stream: what a non-streaming caller waits. */
  readonly totalMs: number
  /** `totalMs / ttftMs`: how much sooner a reader sees something. */
  readonly perceivedSpeedup: number
  readonly gaps: GapSummary
}

/**
 * The default failure of `fromAsyncIterable`: the iterable threw.
 *
 * @since 0.1.0
 * @category errors
 */
export class AsyncIterableFailed extends Data.TaggedError("AsyncIterableFailed")<{
  readonly primitive: string
  readonly cause: unknown
}> {
  override get message() {
    return `Streaming primitive "${this.primitive}" failed: ${String(this.cause)}`
  }
}

/**
 * The errors this module produces in the error channel.
 *
 * @since 0.1.0
 * @category errors
 */
export type StreamError = AsyncIterableFailed

/**
 * The Effect metrics of every streaming run, before tagging. Each run updates
 * them tagged with `primitive` (its name); `flowtune_stream_runs_total` also
 * carries `outcome`, `flowtune_stream_cache_total` carries `result` (Effect
 * metric keys depend on tag order: tag `primitive` first to read them back).
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics: {
  readonly ttft: Metric.Metric.Histogram<number>
  readonly duration: Metric.Metric.Histogram<number>
  readonly gap: Metric.Metric.Summary<number>
  readonly runs: Metric.Metric.Counter<number>
  readonly elements: Metric.Metric.Counter<number>
  readonly chunks: Metric.Metric.Counter<number>
  readonly cache: Metric.Metric.Counter<number>
} = internal.metrics

/**
 * @since 0.1.0
 * @category guards
 */
export const isStreamPrimitive: (u: unknown) => u is StreamPrimitive.Any = internal.isStreamPrimitive

/**
 * A streaming step from a function that returns an Effect `Stream`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: <In, A, E = never, R = never>(
  name: string,
  f: (input: In) => EffectStream.Stream<A, E, R>,
  options?: { readonly annotations?: Primitive.Annotations | undefined }
) => StreamPrimitive<In, A, E, R> = internal.make

/**
 * A streaming step from a function returning an `Iterable` (evaluated per
 * run, delivered as one chunk when it is an array).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromIterable: <In, A>(
  name: string,
  f: (input: In) => Iterable<A>,
  options?: { readonly annotations?: Primitive.Annotations | undefined }
) => StreamPrimitive<In, A> = internal.fromIterable

/**
 * Options of `fromAsyncIterable`.
 *
 * @since 0.1.0
 * @category models
 */
export interface FromAsyncIterableOptions<E> {
  readonly annotations?: Primitive.Annotations | undefined
  /** Maps what the iterable throws to a typed error. Default: `AsyncIterableFailed`. */
  readonly catch?: ((error: unknown) => E) | undefined
  /**
   * How many elements the source may read ahead of a slow consumer (default
   * 256). The iterator is paused while the buffer is full, so memory stays
   * bounded (`1` reads one element ahead). The consumer receives everything
   * buffered at once as one chunk.
   */
  readonly bufferSize?: number | undefined
}

/**
 * The default read-ahead of `fromAsyncIterable`, in elements.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultBufferSize: number = internal.defaultBufferSize

/**
 * A streaming step from a function returning an `AsyncIterable` (an async
 * generator, an SDK's stream, a `fetch` body reader). It receives an
 * `AbortSignal` that fires when the consumer stops early or is interrupted,
 * so an HTTP request behind it is aborted, not left running.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromAsyncIterable: {
  <In, A>(
    name: string,
    f: (input: In, signal: AbortSignal) => AsyncIterable<A>,
    options?: FromAsyncIterableOptions<AsyncIterableFailed>
  ): StreamPrimitive<In, A, AsyncIterableFailed>
  <In, A, E>(
    name: string,
    f: (input: In, signal: AbortSignal) => AsyncIterable<A>,
    options: FromAsyncIterableOptions<E> & { readonly catch: (error: unknown) => E }
  ): StreamPrimitive<In, A, E>
} = internal.fromAsyncIterable

/**
 * Transforms every element.
 *
 * @since 0.1.0
 * @category combinators
 */
export const map: {
  <A, B>(f: (a: A) => B): <In, E, R>(self: StreamPrimitive<In, A, E, R>) => StreamPrimitive<In, B, E, R>
  <In, A, E, R, B>(self: StreamPrimitive<In, A, E, R>, f: (a: A) => B): StreamPrimitive<In, B, E, R>
} = internal.map

/**
 * Transforms every chunk (cheaper than `map` for per-chunk work).
 *
 * @since 0.1.0
 * @category combinators
 */
export const mapChunks: {
  <A, B>(
    f: (chunk: Chunk.Chunk<A>) => Chunk.Chunk<B>
  ): <In, E, R>(self: StreamPrimitive<In, A, E, R>) => StreamPrimitive<In, B, E, R>
  <In, A, E, R, B>(
    self: StreamPrimitive<In, A, E, R>,
    f: (chunk: Chunk.Chunk<A>) => Chunk.Chunk<B>
  ): StreamPrimitive<In, B, E, R>
} = internal.mapChunks

/**
 * Applies any Effect `Stream` operator to the stream of every run (filter,
 * `take`, `rechunk`, `throttle`...), keeping the name and the measurements.
 *
 * @since 0.1.0
 * @category combinators
 */
export const pipeThrough: {
  <A, E, R, B, E2, R2>(
    f: (stream: EffectStream.Stream<A, E, R>) => EffectStream.Stream<B, E2, R2>
  ): <In>(self: StreamPrimitive<In, A, E, R>) => StreamPrimitive<In, B, E2, R2>
  <In, A, E, R, B, E2, R2>(
    self: StreamPrimitive<In, A, E, R>,
    f: (stream: EffectStream.Stream<A, E, R>) => EffectStream.Stream<B, E2, R2>
  ): StreamPrimitive<In, B, E2, R2>
} = internal.pipeThrough

/**
 * Gives a streaming primitive a new name (and so new metric tags and span).
 *
 * @since 0.1.0
 * @category combinators
 */
export const withName: {
  (name: string): <In, A, E, R>(self: StreamPrimitive<In, A, E, R>) => StreamPrimitive<In, A, E, R>
  <In, A, E, R>(self: StreamPrimitive<In, A, E, R>, name: string): StreamPrimitive<In, A, E, R>
} = internal.withName

/**
 * Lets the source run ahead of a slow consumer by at most `capacity` chunks
 * (the source is paused while the buffer is full). Without it a stream is
 * pulled: the source produces only when the consumer asks.
 *
 * @since 0.1.0
 * @category combinators
 */
export const buffer: {
  (options: { readonly capacity: number }): <In, A, E, R>(
    self: StreamPrimitive<In, A, E, R>
  ) => StreamPrimitive<In, A, E, R>
  <In, A, E, R>(
    self: StreamPrimitive<In, A, E, R>,
    options: { readonly capacity: number }
  ): StreamPrimitive<In, A, E, R>
} = internal.buffer

/**
 * Runs a primitive, then streams from its output: a streaming step at the
 * end of a sequence (`retrieve >> generate`). Time to first token includes
 * the primitive's time, as the reader experiences it.
 *
 * @since 0.1.0
 * @category composition
 */
export const after: {
  <Out, A, E2, R2>(
    that: StreamPrimitive<Out, A, E2, R2>
  ): <In, E, R>(self: Primitive.Primitive<In, Out, E, R>) => StreamPrimitive<In, A, E | E2, R | R2>
  <In, Out, E, R, A, E2, R2>(
    self: Primitive.Primitive<In, Out, E, R>,
    that: StreamPrimitive<Out, A, E2, R2>
  ): StreamPrimitive<In, A, E | E2, R | R2>
} = internal.after

/**
 * Turns a streaming primitive into an ordinary `Primitive` by consuming each
 * run's stream with `f` (a fold, a sink, `runCollect`...). Default name
 * `collect(<name>)`.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toPrimitive: {
  <A, E, R, B, E2, R2>(
    f: (stream: EffectStream.Stream<A, E, R>) => Effect.Effect<B, E2, R2>,
    options?: { readonly name?: string | undefined }
  ): <In>(self: StreamPrimitive<In, A, E, R>) => Primitive.Primitive<In, B, E2, R2>
  <In, A, E, R, B, E2, R2>(
    self: StreamPrimitive<In, A, E, R>,
    f: (stream: EffectStream.Stream<A, E, R>) => Effect.Effect<B, E2, R2>,
    options?: { readonly name?: string | undefined }
  ): Primitive.Primitive<In, B, E2, R2>
} = internal.toPrimitive

/**
 * An ordinary `Primitive` returning every element of the stream.
 *
 * @since 0.1.0
 * @category conversions
 */
export const collect: {
  <In, A, E, R>(
    self: StreamPrimitive<In, A, E, R>,
    options?: { readonly name?: string | undefined }
  ): Primitive.Primitive<In, Array<A>, E, R>
  (options?: { readonly name?: string | undefined }): <In, A, E, R>(
    self: StreamPrimitive<In, A, E, R>
  ) => Primitive.Primitive<In, Array<A>, E, R>
} = internal.collect

/**
 * An ordinary `Primitive` returning the text of a stream of strings, joined
 * (with `separator`, default none).
 *
 * @since 0.1.0
 * @category conversions
 */
export const collectText: {
  <In, E, R>(
    self: StreamPrimitive<In, string, E, R>,
    options?: { readonly name?: string | undefined; readonly separator?: string | undefined }
  ): Primitive.Primitive<In, string, E, R>
  (options?: { readonly name?: string | undefined; readonly separator?: string | undefined }): <In, E, R>(
    self: StreamPrimitive<In, string, E, R>
  ) => Primitive.Primitive<In, string, E, R>
} = internal.collectText

/**
 * An ordinary `Primitive` returning the elements with their timings: time to
 * first token, total time, gaps, and the perceived speed-up of streaming.
 *
 * @since 0.1.0
 * @category conversions
 */
export const timed: {
  <In, A, E, R>(
    self: StreamPrimitive<In, A, E, R>,
    options?: { readonly name?: string | undefined }
  ): Primitive.Primitive<In, Timed<A>, E, R>
  (options?: { readonly name?: string | undefined }): <In, A, E, R>(
    self: StreamPrimitive<In, A, E, R>
  ) => Primitive.Primitive<In, Timed<A>, E, R>
} = internal.timed

/**
 * Consumes any Effect stream, returning its elements with their timings.
 *
 * @since 0.1.0
 * @category conversions
 */
export const measure: <A, E, R>(stream: EffectStream.Stream<A, E, R>) => Effect.Effect<Timed<A>, E, R> =
  internal.measure

/**
 * The stream of one run inside a run context (the current one, or a fresh
 * one), like `Primitive.run`.
 *
 * @since 0.1.0
 * @category running
 */
export const run: {
  <In>(input: In): <A, E, R>(
    self: StreamPrimitive<In, A, E, R>
  ) => EffectStream.Stream<A, E, Exclude<R, WorkflowContext.WorkflowContext>>
  <In, A, E, R>(
    self: StreamPrimitive<In, A, E, R>,
    input: In
  ): EffectStream.Stream<A, E, Exclude<R, WorkflowContext.WorkflowContext>>
} = internal.run

// ---------------------------------------------------------------------------
// sharing and caching
// ---------------------------------------------------------------------------

/**
 * A completed stream as stored by `cached`: its chunks, as they arrived, and
 * when each arrived (milliseconds after the start of the run), for replay
 * with the original pacing.
 *
 * @since 0.1.0
 * @category cache
 */
export interface Recording<A> {
  readonly chunks: ReadonlyArray<ReadonlyArray<A>>
  readonly offsetsMs: ReadonlyArray<number>
}

/**
 * The schema of a `Recording`, for stores that serialize (Redis, SQL).
 *
 * @since 0.1.0
 * @category cache
 */
export const Recording = <A, I, R>(
  item: Schema.Schema<A, I, R>
): Schema.Schema<
  Recording<A>,
  { readonly chunks: ReadonlyArray<ReadonlyArray<I>>; readonly offsetsMs: ReadonlyArray<number> },
  R
> => Schema.Struct({ chunks: Schema.Array(Schema.Array(item)), offsetsMs: Schema.Array(Schema.Number) })

/**
 * The little a cached stream needs from a store: get and set by key. A
 * `Cache.makeStore` over the configured tiers fits; so does `memoryStore`.
 * A failing store never fails a request: a read error is a miss, a write
 * error is logged.
 *
 * @since 0.1.0
 * @category cache
 */
export interface RecordingStore<A, E = unknown, R = never> {
  readonly get: (key: string) => Effect.Effect<Option.Option<Recording<A>>, E, R>
  readonly set: (key: string, value: Recording<A>) => Effect.Effect<void, E, R>
}

/**
 * An in-memory `RecordingStore` (tests, demos, a single process), scoped to
 * the caller. Unbounded: for a bounded or shared store, use the `Cache`
 * module's tiers.
 *
 * @since 0.1.0
 * @category cache
 */
export const memoryStore: <A>() => Effect.Effect<RecordingStore<A, never>> = internalCache.memoryStore

/**
 * Options of `share`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ShareOptions<In> {
  readonly name?: string | undefined
  /** Requests with the same key share one upstream run. */
  readonly key: (input: In) => string
}

/**
 * Lets concurrent identical requests share one upstream stream. Every
 * consumer sees every chunk: a late joiner gets the chunks delivered so far,
 * then the live ones. The upstream stops when its last consumer stops. The
 * chunks of a run in flight are kept until it ends (they are what a late
 * joiner replays), so memory per run is the size of the answer.
 *
 * Scoped: closing the scope interrupts the runs in flight.
 *
 * @since 0.1.0
 * @category cache
 */
export const share: {
  <In>(options: ShareOptions<In>): <A, E, R>(
    self: StreamPrimitive<In, A, E, R>
  ) => Effect.Effect<StreamPrimitive<In, A, E, R>, never, Scope.Scope>
  <In, A, E, R>(
    self: StreamPrimitive<In, A, E, R>,
    options: ShareOptions<In>
  ): Effect.Effect<StreamPrimitive<In, A, E, R>, never, Scope.Scope>
} = internalCache.share

/**
 * How a cache hit is replayed: `"immediate"` (default: every chunk at once,
 * in its original chunking), `"original"` (each chunk at its recorded
 * offset), or a fixed delay between chunks.
 *
 * @since 0.1.0
 * @category models
 */
export type Pace = "immediate" | "original" | Duration.DurationInput

/**
 * Options of `cached`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CachedOptions<In, A, SE, SR> extends ShareOptions<In> {
  readonly store: RecordingStore<A, SE, SR>
  readonly pace?: Pace | undefined
}

/**
 * Caches a streaming primitive. A hit replays the stored answer as a stream,
 * in its original chunks (optionally paced). A miss runs the upstream, shared
 * by every concurrent identical request, and stores it only when it
 * completed: a failed, interrupted or abandoned stream is never stored.
 *
 * Scoped: closing the scope interrupts the runs in flight.
 *
 * @since 0.1.0
 * @category cache
 */
export const cached: {
  <In, A, SE, SR>(options: CachedOptions<In, A, SE, SR>): <E, R>(
    self: StreamPrimitive<In, A, E, R>
  ) => Effect.Effect<StreamPrimitive<In, A, E, R | SR>, never, Scope.Scope>
  <In, A, E, R, SE, SR>(
    self: StreamPrimitive<In, A, E, R>,
    options: CachedOptions<In, A, SE, SR>
  ): Effect.Effect<StreamPrimitive<In, A, E, R | SR>, never, Scope.Scope>
} = internalCache.cached
