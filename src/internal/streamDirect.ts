/**
 * Reading a stream primitive to its end without Effect's stream machinery,
 * when its source is plain: an iterable or an async iterable, through `map`
 * and `mapChunks`. This is what `collect` and `collectText` do on the user's
 * path (no recording tracer). Effect's own `Stream.runCollect` of an empty
 * stream costs ~250 us of CPU (a scope, the channel executor, fibers), ten
 * times a whole `Primitive.run`; this reader costs a few us per run and one
 * `await` per token, like `for await`.
 *
 * The run is measured as `instrument` measures it (time to first token, gaps,
 * duration, elements, chunks, outcome, the run's checkpoints). Chunks are
 * those of the source: up to 4,096 elements from an iterable (as
 * `Stream.fromIterable`), one element per `next()` from an async iterable.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as EffectStream from "effect/Stream"
import type * as FlowStream from "../Stream.js"
import * as WorkflowContext from "../WorkflowContext.js"
import { makeRunState, observe, recordRun, taggedMetrics } from "./streamMetrics.js"

// `any`: a source of any element type; `mapped` composes the element functions.
/** @internal */
export interface Source<In> {
  // `any`: the element type is erased inside the engine; `StreamPrimitive` types it at the public surface
  readonly iterable?: ((input: In) => Iterable<any>) | undefined
  // `any`: the element type is erased inside the engine; `StreamPrimitive` types it at the public surface
  readonly asyncIterable?: ((input: In, signal: AbortSignal) => AsyncIterable<any>) | undefined
  readonly onError?: ((error: unknown) => unknown) | undefined
  /** Any other source: an Effect stream, read with `runForEachChunk` (no scope, finalizer or span per run). */
  // `any`: the element type is erased inside the engine; `StreamPrimitive` types it at the public surface
  readonly stream?: ((input: In) => EffectStream.Stream<any, any, any>) | undefined
  /** `map`/`mapChunks` applied after the source, in order. */
  // `any`: the element type is erased inside the engine; `StreamPrimitive` types it at the public surface
  readonly chunk?: ((chunk: Chunk.Chunk<any>) => Chunk.Chunk<any>) | undefined
}

/** The source followed by one more chunk function. @internal */
// `any`: the element type is erased inside the engine; `StreamPrimitive` types it at the public surface
export const mapped = <In>(source: Source<In>, f: (chunk: Chunk.Chunk<any>) => Chunk.Chunk<any>): Source<In> => {
  const before = source.chunk
  return { ...source, chunk: before === undefined ? f : (chunk) => f(before(chunk)) }
}

const maxChunkSize = 4096

/**
 * The reader of one stream primitive: every element of a run, measured.
 *
 * @internal
 */
export const reader = <In, A, E, R>(name: string, source: Source<In>) => {
  const tagged = taggedMetrics(name)
  return (input: In, fiber: Fiber.RuntimeFiber<unknown, unknown>): Effect.Effect<Parts<A>, E, R> => {
    const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
    const state = makeRunState(clock.unsafeCurrentTimeMillis())
    // Checkpoints only where they land (a run context; no span is open on this path).
    const marks = fiber.currentContext.unsafeMap.has(WorkflowContext.WorkflowContext.key)
    // The chunks as delivered, not copied element by element into one array:
    // `collectText` joins them (one chunk, the usual case for a fast source,
    // is joined as it is). An array built per token cost a push per token and
    // its growth, and it was the array V8 pretenured (see `Parts`).
    const parts: Parts<A> = []
    // `owned`: the chunk's array is this run's (an iterable's or async
    // source's batch, or what `map`/`mapChunks` made of it); an Effect
    // stream's chunk is copied, its producer may reuse the array.
    const emitChunk = (from: Chunk.Chunk<unknown>, now: number, owned: boolean) => {
      const chunk = source.chunk === undefined ? from : source.chunk(from)
      const size = chunk.length
      observe(state, now, size)
      if (size > 0) parts.push((owned ? Chunk.toReadonlyArray(chunk) : Chunk.toArray(chunk)) as ReadonlyArray<A>)
    }
    const emitAt = (elements: Array<unknown>, now: number) => emitChunk(Chunk.unsafeFromArray(elements), now, true)
    // Tokens of an async source that arrive within one clock millisecond make
    // one chunk (as the read-ahead pump makes them; a chunk and a gap per token
    // cost more than the token), except the first, delivered at once.
    let pending: Array<unknown> = []
    let pendingAt = 0
    const flush = () => {
      if (pending.length === 0) return
      const elements = pending
      pending = []
      emitAt(elements, pendingAt)
    }
    const add = (value: unknown) => {
      const now = clock.unsafeCurrentTimeMillis()
      // Written only when it changes: a time is a heap number, one per token otherwise.
      if (now !== pendingAt) {
        flush()
        pendingAt = now
      }
      pending.push(value)
      if (state.chunks === 0) flush()
    }
    const firstToken = Effect.suspend(() =>
      marks && state.chunks > 0
        ? WorkflowContext.checkpoint("stream.first_token", { primitive: name, ttftMs: state.first - state.start })
        : Effect.void
    )
    let cleanup: (() => void) | undefined
    const read: Effect.Effect<void, E, R> = source.stream !== undefined
      ? Effect.zipRight(
        EffectStream.runForEachChunk(source.stream(input), (chunk) => {
          const isFirst = state.chunks === 0
          emitChunk(chunk, clock.unsafeCurrentTimeMillis(), false)
          return isFirst ? firstToken : Effect.void
        }),
        Effect.sync(() => {
          state.completed = true
        })
      )
      : source.iterable !== undefined
      ? readIterable(
        source.iterable,
        input,
        (elements) => emitAt(elements, clock.unsafeCurrentTimeMillis()),
        state,
        firstToken
      )
      : readAsync<In, E>(source, input, { add, flush }, state, firstToken, marks, (f) => {
        cleanup = f
      })
    return Effect.as(
      Effect.onExit(read, (exit) =>
        Effect.suspend(() => {
          if (cleanup !== undefined) cleanup()
          const totalMs = clock.unsafeCurrentTimeMillis() - state.start
          const outcome: FlowStream.Outcome = state.completed
            ? "completed"
            : Exit.isSuccess(exit)
            ? "cancelled"
            : Cause.isInterruptedOnly(exit.cause)
            ? "interrupted"
            : "failed"
          recordRun(tagged, state, totalMs, outcome, fiber.getFiberRef(FiberRef.currentMetricLabels))
          return outcome === "completed" && marks
            ? WorkflowContext.checkpoint("stream.complete", { primitive: name, totalMs, chunks: state.chunks })
            : Effect.void
        })),
      parts
    )
  }
}

/**
 * What a run delivered: its non-empty chunks in order. Read them with
 * `toArray`/`toText`, which also let them go.
 *
 * The chunks are released at once because V8 pretenures allocation sites
 * whose objects outlive a scavenge (the run's result array was allocated in
 * the old generation in 2 runs of 3, measured with `%InYoungGeneration`): a
 * dead old-space array keeps the young tokens it points to alive through
 * every scavenge until the next full GC. A 1,000-token run's tokens were
 * promoted and GC was 32% of its profile (8% for a plain generator); let go,
 * about 15%. The rest is promoted through Effect's fiber (its `_stack` and
 * `_steps` arrays are pretenured too): with `--no-allocation-site-pretenuring`
 * a run promotes ~0.5 KB instead of ~9 KB.
 *
 * @internal
 */
export type Parts<A> = Array<ReadonlyArray<A>>

/** Every element of a run, in a fresh array (never a chunk's own). @internal */
export const toArray = <A>(parts: Parts<A>): Array<A> => {
  const out: Array<A> = []
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) out.push(part[i]!)
  }
  parts.length = 0
  return out
}

/** The elements of a run joined with `separator`, as `Chunk.join` joins them. @internal */
export const toText = (parts: Parts<string>, separator: string): string => {
  const text = parts.length === 1
    ? parts[0]!.join(separator)
    : parts.map((part) => part.join(separator)).join(separator)
  parts.length = 0
  return text
}

type RunState = ReturnType<typeof makeRunState>

// As `Stream.fromIterable`: a throw from the iterable (or a map) is a defect.
const readIterable = <In, E>(
  iterable: (input: In) => Iterable<unknown>,
  input: In,
  emit: (elements: Array<unknown>) => void,
  state: RunState,
  firstToken: Effect.Effect<void>
): Effect.Effect<void, E> =>
  Effect.suspend(() => {
    try {
      let elements: Array<unknown> = []
      for (const a of iterable(input)) {
        elements.push(a)
        if (elements.length === maxChunkSize) {
          emit(elements)
          elements = []
        }
      }
      if (elements.length > 0) emit(elements)
    } catch (defect) {
      return Effect.die(defect)
    }
    state.completed = true
    return firstToken
  })

// As `Stream.fromAsyncIterable`: the iterator's own failures go through
// `onError`, a throwing map is a defect, and the signal aborts when the run ends.
const readAsync = <In, E>(
  source: Source<In>,
  input: In,
  chunks: { readonly add: (value: unknown) => void; readonly flush: () => void },
  state: RunState,
  firstToken: Effect.Effect<void>,
  marks: boolean,
  onCleanup: (f: () => void) => void
): Effect.Effect<void, E> =>
  Effect.suspend(() => {
    const onError = source.onError!
    const controller = new AbortController()
    let iterator: AsyncIterator<unknown>
    try {
      iterator = source.asyncIterable!(input, controller.signal)[Symbol.asyncIterator]()
    } catch (error) {
      return Effect.fail(onError(error) as E)
    }
    let closed = false
    let ended = false
    onCleanup(() => {
      closed = true
      // A source that has ended has nothing to stop (and an abort builds a DOMException, ~10 us).
      if (ended) return
      controller.abort()
      // Not awaited: an async generator's `return` waits for its pending `next`.
      if (typeof iterator.return === "function") {
        Promise.resolve().then(() => iterator.return!()).catch(() => undefined)
      }
    })
    // What arrived before a failure counts (the map may throw: a defect).
    const delivered = Effect.sync(chunks.flush)
    // Reads up to the end, or up to the first token (its checkpoint is then taken on time).
    const read = (untilFirst: boolean) =>
      Effect.async<void, E>((resume) => {
        const loop = async () => {
          while (!closed) {
            let result: IteratorResult<unknown>
            try {
              result = await iterator.next()
            } catch (error) {
              ended = true
              if (!closed) resume(Effect.zipRight(delivered, Effect.fail(onError(error) as E)))
              return
            }
            if (closed) return
            try {
              if (result.done) {
                ended = true
                chunks.flush()
                state.completed = true
                return resume(Effect.void)
              }
              chunks.add(result.value)
            } catch (defect) {
              return resume(Effect.die(defect))
            }
            if (untilFirst && state.chunks > 0) return resume(Effect.void)
          }
        }
        loop()
      })
    return marks
      ? Effect.zipRight(
        read(true),
        Effect.zipRight(firstToken, Effect.suspend(() => ended ? Effect.void : read(false)))
      )
      : read(false)
  })
