/**
 * The read-ahead pump behind `Stream.fromAsyncIterable` (split from
 * `stream.ts`, issue 15).
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as EffectStream from "effect/Stream"

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

/** @internal */
export const pumpAsyncIterable = <A, E>(
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
