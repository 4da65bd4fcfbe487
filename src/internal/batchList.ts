/**
 * The list form of batching (`Batch.chunked`) and the `RequestResolver` view
 * of a batched primitive.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Request from "effect/Request"
import * as RequestResolver from "effect/RequestResolver"
import * as Batch from "../Batch.js"
import type * as Primitive from "../Primitive.js"
import { collectFailFast, fanOut } from "./fanOut.js"
import * as check from "./options.js"
import { unsafeMake } from "./primitive.js"

// ---------------------------------------------------------------------------
// the list form
// ---------------------------------------------------------------------------

/** @internal */
export const chunked = dual<
  (options: Batch.ChunkedOptions) => <In, Out, E, R>(
    self: Primitive.Primitive<ReadonlyArray<In>, ReadonlyArray<Out>, E, R>
  ) => Primitive.Primitive<ReadonlyArray<In>, Array<Out>, E | Batch.BatchSizeMismatch | Batch.BatchInvalidResponse, R>,
  <In, Out, E, R>(
    self: Primitive.Primitive<ReadonlyArray<In>, ReadonlyArray<Out>, E, R>,
    options: Batch.ChunkedOptions
  ) => Primitive.Primitive<ReadonlyArray<In>, Array<Out>, E | Batch.BatchSizeMismatch | Batch.BatchInvalidResponse, R>
>(2, <In, Out, E, R>(
  self: Primitive.Primitive<ReadonlyArray<In>, ReadonlyArray<Out>, E, R>,
  options: Batch.ChunkedOptions
) => {
  const name = options.name === undefined
    ? `chunked(${self.name})`
    : check.nonEmptyString("Batch.chunked", "name", options.name)
  const size = check.positiveInt(name, "size", options.size)
  const concurrency = options.concurrency === undefined || options.concurrency === "unbounded"
    ? Infinity
    : check.number(name, "concurrency", options.concurrency, { integer: true, min: 1, infinite: true })
  const runChunk = (
    chunk: ReadonlyArray<In>
  ): Effect.Effect<ReadonlyArray<Out>, E | Batch.BatchSizeMismatch | Batch.BatchInvalidResponse, R> =>
    Effect.flatMap(self.run(chunk), (
      results: unknown
    ): Effect.Effect<ReadonlyArray<Out>, Batch.BatchSizeMismatch | Batch.BatchInvalidResponse> =>
      !Array.isArray(results)
        ? Effect.fail(
          new Batch.BatchInvalidResponse({
            batch: self.name,
            expected: chunk.length,
            received: results === null ? "null" : typeof results === "object" ? "an object" : typeof results
          })
        )
        : results.length === chunk.length
        ? Effect.succeed(results as ReadonlyArray<Out>)
        : Effect.fail(
          new Batch.BatchSizeMismatch({ batch: self.name, expected: chunk.length, actual: results.length })
        ))
  return unsafeMake({
    name,
    kind: "batch",
    children: [self],
    annotations: { size, concurrency },
    body: (items: ReadonlyArray<In>) => {
      const chunks: Array<ReadonlyArray<In>> = []
      for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size))
      return fanOut(chunks.length, (i) => runChunk(chunks[i]!), { concurrency, failFast: true }).pipe(
        Effect.flatMap(collectFailFast),
        Effect.map((results) => results.flat() as Array<Out>)
      )
    }
  })
})

// ---------------------------------------------------------------------------
// as a RequestResolver
// ---------------------------------------------------------------------------

// `any`: one request tag for every batched primitive: `Batch.request` restores the types
const makeRequest = Request.tagged<Batch.BatchRequest<any, any, any>>("flowtune/BatchRequest")

/** @internal */
export const request = <In, Out, E>(
  _self: Primitive.Primitive<In, Out, E>,
  item: In
): Batch.BatchRequest<In, Out, E> => makeRequest({ item })

/** @internal */
export const resolver = <In, Out, E>(
  self: Primitive.Primitive<In, Out, E>
): RequestResolver.RequestResolver<Batch.BatchRequest<In, Out, E>> =>
  // each request goes through the primitive's own queue, which does the coalescing
  RequestResolver.fromEffect((request: Batch.BatchRequest<In, Out, E>) => self.run(request.item))
