/**
 * Request batching: turn a batch API `(items) => results` into a per-item
 * primitive, so that many independent callers share a few backend calls
 * (DataLoader-style coalescing, the guide's "Request Batching" step).
 *
 * Callers that arrive within `window` of the first one share a batch; a batch
 * that reaches `maxBatchSize` is sent at once; at most `concurrency` backend
 * calls run at the same time (the rest wait their turn). The queue lives in a
 * `Scope`: closing it answers every waiting caller with `BatchClosed`.
 *
 * `chunked` is the guide's list form: split a list into chunks and run the
 * chunks in parallel.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Batch, Primitive } from "flowtune"
 *
 * const program = Effect.gen(function*() {
 *   const embed = yield* Batch.make({
 *     name: "embed",
 *     run: (texts: ReadonlyArray<string>) => Effect.succeed(texts.map((t) => [t.length])),
 *     maxBatchSize: 10,
 *     window: "10 millis"
 *   })
 *   // 100 independent callers, 10 backend calls
 *   return yield* Effect.forEach(
 *     Array.from({ length: 100 }, (_, i) => `doc ${i}`),
 *     (text) => Primitive.run(embed, text),
 *     { concurrency: "unbounded" }
 *   )
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Metric from "effect/Metric"
import type * as Request from "effect/Request"
import type * as RequestResolver from "effect/RequestResolver"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/batch.js"
import * as list from "./internal/batchList.js"
import type * as Primitive from "./Primitive.js"

/**
 * The backend answered a batch with a different number of results than it
 * was given items: every item of that batch fails with it, since the results
 * cannot be matched to their items.
 *
 * @since 0.1.0
 * @category errors
 */
export class BatchSizeMismatch extends Data.TaggedError("BatchSizeMismatch")<{
  readonly batch: string
  readonly expected: number
  readonly actual: number
}> {
  override get message() {
    return `Batch "${this.batch}" returned ${this.actual} results for ${this.expected} items`
  }
}

/**
 * The batched primitive's scope was closed while the caller was waiting.
 *
 * @since 0.1.0
 * @category errors
 */
export class BatchClosed extends Data.TaggedError("BatchClosed")<{
  readonly batch: string
}> {
  override get message() {
    return `Batch "${this.batch}" was closed before the item was answered`
  }
}

/**
 * The backend answered a batch with something that is not an array of
 * results (`null`, `undefined`, an object, a string...), or `run` returned
 * something that is not an `Effect` (a Promise, a plain value). Every item of
 * that batch fails with it. `received` describes what came back.
 *
 * @since 0.1.0
 * @category errors
 */
export class BatchInvalidResponse extends Data.TaggedError("BatchInvalidResponse")<{
  readonly batch: string
  readonly expected: number
  readonly received: string
}> {
  override get message() {
    return `Batch "${this.batch}" expected an array of ${this.expected} results from its backend, got ${this.received}`
  }
}

/**
 * The backend call threw, died (a defect, such as a rejected
 * `Effect.promise`) or was interrupted by something other than its callers:
 * every item of that batch fails with it, and `cause` is what was thrown
 * (or an `InterruptedException`). Typed failures of `run` are not wrapped:
 * they reach the callers as they are.
 *
 * @since 0.1.0
 * @category errors
 */
export class BatchBackendDefect extends Data.TaggedError("BatchBackendDefect")<{
  readonly batch: string
  readonly cause: unknown
}> {
  override get message() {
    const cause = this.cause
    const why = cause instanceof Error ? cause.message : String(cause)
    return `Batch "${this.batch}": the backend call failed unexpectedly: ${why}`
  }
}

/**
 * The errors this module produces in the error channel.
 *
 * @since 0.1.0
 * @category errors
 */
export type BatchError = BatchSizeMismatch | BatchInvalidResponse | BatchBackendDefect | BatchClosed

/**
 * @since 0.1.0
 * @category symbols
 */
// `any`: the same registered symbol as the implementation's, re-declared as this module's unique symbol type.
export const ItemResultTypeId: unique symbol = internal.ItemResultTypeId as any

/**
 * @since 0.1.0
 * @category symbols
 */
export type ItemResultTypeId = typeof ItemResultTypeId

/**
 * The answer for one item when the backend can fail items one by one: a batch
 * function returns plain values, or `succeedItem` / `failItem` for items that
 * need a per-item outcome. A failed item fails only its own caller.
 *
 * @since 0.1.0
 * @category models
 */
export type ItemResult<Out, E> = ItemSuccess<Out> | ItemFailure<E>

/**
 * @since 0.1.0
 * @category models
 */
export interface ItemSuccess<Out> {
  readonly [ItemResultTypeId]: ItemResultTypeId
  readonly _tag: "Success"
  readonly value: Out
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ItemFailure<E> {
  readonly [ItemResultTypeId]: ItemResultTypeId
  readonly _tag: "Failure"
  readonly error: E
}

/**
 * A per-item success (only needed when `Out` could itself look like an
 * `ItemResult`; plain values work too).
 *
 * @since 0.1.0
 * @category constructors
 */
export const succeedItem: <Out>(value: Out) => ItemResult<Out, never> = internal.succeedItem

/**
 * A per-item failure: only the caller of this item sees `error`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const failItem: <E>(error: E) => ItemResult<never, E> = internal.failItem

/**
 * @since 0.1.0
 * @category guards
 */
export const isItemResult: (u: unknown) => u is ItemResult<unknown, unknown> = internal.isItemResult

/**
 * Options of `make`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<In, Out, E, R, IE = never> {
  /** The primitive's name (its span name and the `primitive` tag of its metrics). */
  readonly name: string
  /**
   * The backend call: one result per item, in order (a plain value, or
   * `succeedItem` / `failItem`). A failure of the call fails every item of
   * this batch (and only those); a `failItem(error)` fails only its item.
   */
  readonly run: (items: ReadonlyArray<In>) => Effect.Effect<ReadonlyArray<Out | ItemResult<Out, IE>>, E, R>
  /** A batch that reaches this many items is sent without waiting for the window. */
  readonly maxBatchSize: number
  /**
   * How long a batch stays open after its first item (the guide's
   * `batch_timeout`). Zero sends it as soon as the callers already running have
   * queued their items, like DataLoader's tick.
   */
  readonly window: Duration.DurationInput
  /** How many backend calls may run at once. Default: no limit. */
  readonly concurrency?: number | "unbounded" | undefined
  /**
   * When given, items with the same key within one batch are sent once and
   * every caller gets the same answer. Keys are compared like `Map` keys
   * (use strings or numbers).
   */
  readonly dedupe?: ((item: In) => unknown) | undefined
}

/**
 * A per-item primitive that coalesces concurrent callers into batched calls
 * of `options.run`. The queue lives in the current `Scope`; the backend's
 * requirements `R` are taken from the context of `make`.
 *
 * Every caller is answered exactly once: with its own result, its item's
 * failure, its batch's typed failure, `BatchSizeMismatch` / `BatchInvalidResponse`
 * (the backend's answer is not an array of one result per item),
 * `BatchBackendDefect` (the call threw or died), or `BatchClosed`. An
 * interrupted caller leaves its batch before it is sent; after that its
 * result is dropped (and a call nobody waits for any more is interrupted).
 *
 * Options are checked when `make` is called: a bad one throws
 * `Primitive.InvalidPrimitive` naming the option, the value and the range.
 *
 * Metrics, tagged `primitive: name`: `flowtune_batch_size` (histogram),
 * `flowtune_batch_batches_total`, `flowtune_batch_items_total`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: <In, Out, E = never, R = never, IE = never>(
  options: Options<In, Out, E, R, IE>
) => Effect.Effect<Primitive.Primitive<In, Out, E | IE | BatchError>, never, Scope.Scope | R> = internal.make

/**
 * Options of `chunked`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChunkedOptions {
  readonly name?: string | undefined
  /** Items per chunk (the guide's `batch_size`). */
  readonly size: number
  /** How many chunks run at once. Default: all of them. */
  readonly concurrency?: number | "unbounded" | undefined
}

/**
 * The guide's list form of batching: splits the input list into chunks of
 * `size`, runs the batch step on the chunks in parallel (up to
 * `concurrency`), and returns the results flattened in input order. A chunk
 * answered with the wrong number of results fails the run with
 * `BatchSizeMismatch` (with something that is not an array:
 * `BatchInvalidResponse`); the first failure interrupts the other chunks.
 * Options are checked here: a bad one throws `Primitive.InvalidPrimitive`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const chunked: {
  (options: ChunkedOptions): <In, Out, E, R>(
    self: Primitive.Primitive<ReadonlyArray<In>, ReadonlyArray<Out>, E, R>
  ) => Primitive.Primitive<ReadonlyArray<In>, Array<Out>, E | BatchSizeMismatch | BatchInvalidResponse, R>
  <In, Out, E, R>(
    self: Primitive.Primitive<ReadonlyArray<In>, ReadonlyArray<Out>, E, R>,
    options: ChunkedOptions
  ): Primitive.Primitive<ReadonlyArray<In>, Array<Out>, E | BatchSizeMismatch | BatchInvalidResponse, R>
} = list.chunked

/**
 * The request `resolver` answers: one item for a batched primitive.
 *
 * @since 0.1.0
 * @category models
 */
export interface BatchRequest<In, Out, E> extends Request.Request<Out, E> {
  readonly _tag: "flowtune/BatchRequest"
  readonly item: In
}

/**
 * A request for one item of a batched primitive, for `Effect.request`.
 *
 * @since 0.1.0
 * @category requests
 */
export const request: <In, Out, E>(self: Primitive.Primitive<In, Out, E>, item: In) => BatchRequest<In, Out, E> =
  list.request

/**
 * A batched primitive as a `RequestResolver`, for code that already uses
 * `Effect.request` (with its request cache): the requests still go through
 * the primitive's queue, which does the coalescing.
 *
 * @since 0.1.0
 * @category requests
 */
export const resolver: <In, Out, E>(
  self: Primitive.Primitive<In, Out, E>
) => RequestResolver.RequestResolver<BatchRequest<In, Out, E>> = list.resolver

/**
 * The Effect metrics of every batched primitive, before tagging: each backend
 * call updates them tagged with `primitive` (its name), like `Cache.metrics`,
 * `Router.metrics` and `Stream.metrics`.
 *
 * - `size`: items per backend call (`flowtune_batch_size`, a histogram)
 * - `batches`: backend calls made (`flowtune_batch_batches_total`)
 * - `items`: items sent to the backend (`flowtune_batch_items_total`)
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { Batch } from "flowtune"
 *
 * const calls = Metric.value(Metric.tagged(Batch.metrics.batches, "primitive", "embed"))
 * ```
 *
 * @since 0.2.0
 * @category metrics
 */
export const metrics: {
  readonly size: Metric.Metric.Histogram<number>
  readonly batches: Metric.Metric.Counter<number>
  readonly items: Metric.Metric.Counter<number>
} = {
  size: internal.batchSize,
  batches: internal.batchesSent,
  items: internal.itemsSent
}

/**
 * Items per backend call, tagged `primitive`.
 *
 * @deprecated Use `Batch.metrics.size` (one `metrics` record per module).
 * @since 0.1.0
 * @category metrics
 */
export const batchSize: Metric.Metric.Histogram<number> = metrics.size

/**
 * Backend calls made, tagged `primitive`.
 *
 * @deprecated Use `Batch.metrics.batches` (one `metrics` record per module).
 * @since 0.1.0
 * @category metrics
 */
export const batchesSent: Metric.Metric.Counter<number> = metrics.batches

/**
 * Items sent to the backend, tagged `primitive`.
 *
 * @deprecated Use `Batch.metrics.items` (one `metrics` record per module).
 * @since 0.1.0
 * @category metrics
 */
export const itemsSent: Metric.Metric.Counter<number> = metrics.items
