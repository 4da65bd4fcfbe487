/**
 * flowtune for applications that are not written in Effect: a runtime built
 * once from layers, whose `run` returns a Promise and whose `stream` returns
 * an async iterable.
 *
 * Build one runtime per process (at start-up, next to the HTTP server) and
 * call `run` in each request: the layers are built on first use and live
 * until `dispose()`, so a cache, a connection pool or a batcher is shared by
 * every request instead of being rebuilt (and never hit) in each one.
 *
 * - A failure rejects with the error itself: `instanceof` and `_tag` work on
 *   tagged errors (no `FiberFailure` wrapper). A defect rejects with the thrown
 *   value; an interruption with Effect's `InterruptedException`.
 * - `signal`: aborting it interrupts the run (finalizers run, an HTTP call in
 *   flight is cancelled) and the Promise rejects with `signal.reason`, as
 *   `fetch` does.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cache, Primitive, Runtime } from "flowtune"
 *
 * const answer = Cache.wrap(Primitive.make("answer", (q: string) => Effect.succeed(q.length)), { ttl: "1 hour" })
 * const runtime = Runtime.make(Cache.layerMemory({ capacity: 1_000 }))
 *
 * const n: number = await runtime.run(answer, "what is flowtune?")
 * await runtime.dispose()
 * ```
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as EffectStream from "effect/Stream"
import { MissingPeerDependency } from "./internal/peer.js"
import * as Primitive from "./Primitive.js"
import * as FlowStream from "./Stream.js"
import type * as WorkflowContext from "./WorkflowContext.js"

export {
  /**
   * Raised by a layer whose optional peer dependency (a database client, the
   * OpenTelemetry SDK, ...) is not installed; `packageName` says what to install.
   *
   * @since 0.1.0
   * @category errors
   */
  MissingPeerDependency
}

/**
 * Options of one run.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  /** Aborting it interrupts the run; the Promise rejects with `signal.reason`. */
  readonly signal?: AbortSignal | undefined
  /** The run's context (run id, correlation id, metadata), as for `Primitive.run`. */
  readonly context?: WorkflowContext.MakeOptions | undefined
}

/**
 * A runtime built from layers, for Promise code.
 *
 * `R` is what the layers provide: a primitive may require it (and the run
 * context, which every run gets).
 *
 * @since 0.1.0
 * @category models
 */
export interface FlowRuntime<R, ER = never> extends AsyncDisposable {
  /** Runs a primitive on one input. */
  readonly run: <In, Out, E>(
    primitive: Primitive.Primitive<In, Out, E, R | WorkflowContext.WorkflowContext>,
    input: In,
    options?: RunOptions
  ) => Promise<Out>
  /**
   * Runs a streaming primitive: pulled as it is iterated, stopped (upstream
   * included) when the loop exits early or the signal aborts.
   */
  readonly stream: <In, A, E>(
    primitive: FlowStream.StreamPrimitive<In, A, E, R | WorkflowContext.WorkflowContext>,
    input: In,
    options?: RunOptions
  ) => AsyncIterable<A>
  /** Runs any effect on the runtime, with the same error and signal handling. */
  readonly runEffect: <A, E>(effect: Effect.Effect<A, E, R>, options?: RunOptions) => Promise<A>
  /** Closes the layers (pools, caches, exporters). Runs started afterwards reject. */
  readonly dispose: () => Promise<void>
  /** The underlying `ManagedRuntime`, for Effect code that shares these layers. */
  readonly managed: ManagedRuntime.ManagedRuntime<R, ER>
}

/**
 * What a failed run rejects with: the first typed failure in the cause, else
 * the first defect, else Effect's `InterruptedException` (or the signal's
 * reason when the run was aborted).
 *
 * @since 0.1.0
 * @category errors
 */
export const toRejection = <E>(cause: Cause.Cause<E>, signal?: AbortSignal | undefined): unknown => {
  if (signal?.aborted === true && Cause.isInterruptedOnly(cause)) return signal.reason
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) return failure.value
  return Cause.squash(cause)
}

const settle = <A, E>(exit: Exit.Exit<A, E>, signal: AbortSignal | undefined): A => {
  if (Exit.isSuccess(exit)) return exit.value
  throw toRejection(exit.cause, signal)
}

/**
 * Builds a runtime from a layer (use `Layer.empty` when the primitives need
 * nothing). The layer is built on the first run and shared by all of them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <R, ER = never>(layer: Layer.Layer<R, ER, never>): FlowRuntime<R, ER> => {
  const managed = ManagedRuntime.make(layer)

  const runEffect = async <A, E>(effect: Effect.Effect<A, E, R>, options?: RunOptions): Promise<A> => {
    const signal = options?.signal
    if (signal?.aborted === true) throw signal.reason
    // The signal is handed to Effect, which interrupts the fiber on abort (running its finalizers).
    const exit = await managed.runPromiseExit(effect, signal === undefined ? undefined : { signal })
    return settle(exit, signal)
  }

  const run = <In, Out, E>(
    primitive: Primitive.Primitive<In, Out, E, R | WorkflowContext.WorkflowContext>,
    input: In,
    options?: RunOptions
  ): Promise<Out> =>
    // The cast drops WorkflowContext, which Primitive.run provides, from the requirements.
    runEffect(Primitive.run(primitive, input, options?.context) as Effect.Effect<Out, E, R>, options)

  const stream = <In, A, E>(
    primitive: FlowStream.StreamPrimitive<In, A, E, R | WorkflowContext.WorkflowContext>,
    input: In,
    options?: RunOptions
  ): AsyncIterable<A> => ({
    [Symbol.asyncIterator]: () =>
      iterate(managed, FlowStream.run(primitive, input) as EffectStream.Stream<A, E, R>, options)
  })

  return {
    run,
    stream,
    runEffect,
    managed,
    dispose: () => managed.dispose(),
    [Symbol.asyncDispose]: () => managed.dispose()
  }
}

// An async iterator over a stream, pulling one chunk at a time: nothing runs ahead of the consumer, and `return()`
// (a `break` in `for await`) closes the stream's scope, which stops the upstream.
const iterate = <A, E, R, ER>(
  managed: ManagedRuntime.ManagedRuntime<R, ER>,
  stream: EffectStream.Stream<A, E, R>,
  options: RunOptions | undefined
): AsyncIterator<A> => {
  const signal = options?.signal
  const runOptions = signal === undefined ? undefined : { signal }
  let opened:
    | Promise<
      { readonly scope: Scope.CloseableScope; readonly pull: Effect.Effect<Chunk.Chunk<A>, Option.Option<E>, R> }
    >
    | undefined
  let buffer: Array<A> = []
  let finished = false

  const close = async () => {
    finished = true
    buffer = []
    if (opened === undefined) return
    const { scope } = await opened
    await managed.runPromise(Scope.close(scope, Exit.void))
  }

  const open = () =>
    opened ??= managed.runPromise(Effect.gen(function*() {
      const scope = yield* Scope.make()
      const pull = yield* Scope.extend(EffectStream.toPull(stream), scope)
      return { scope, pull }
    }))

  return {
    next: async (): Promise<IteratorResult<A>> => {
      while (buffer.length === 0) {
        if (finished) return { done: true, value: undefined }
        if (signal?.aborted === true) {
          await close()
          throw signal.reason
        }
        const { pull } = await open()
        const exit = await managed.runPromiseExit(pull, runOptions)
        if (Exit.isSuccess(exit)) {
          buffer = Chunk.toArray(exit.value)
          continue
        }
        await close()
        // A pull fails with None when the stream ends, Some(error) when it fails; a failure that is not an Option
        // is the layers' own (they failed to build).
        const failure = Cause.failureOption(exit.cause)
        if (Option.isSome(failure)) {
          const error = failure.value
          if (!Option.isOption(error)) throw error
          if (Option.isNone(error)) return { done: true, value: undefined }
          throw error.value
        }
        throw toRejection(exit.cause, signal)
      }
      return { done: false, value: buffer.shift() as A }
    },
    return: async (): Promise<IteratorResult<A>> => {
      await close()
      return { done: true, value: undefined }
    }
  }
}
