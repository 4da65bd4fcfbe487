/**
 * The per-run context of a workflow: a run id, a correlation id, free-form
 * metadata, and a timeline of checkpoints.
 *
 * A checkpoint is a timestamped mark taken from Effect's `Clock` (so the
 * `TestClock` drives it in tests). It lands on the run's timeline and, when a
 * span is active, as an event of that span. Parallel branches see a child
 * context: same run, same timeline, tagged with the branch path.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { WorkflowContext } from "flowtune"
 *
 * const program = Effect.gen(function*() {
 *   yield* WorkflowContext.checkpoint("fetched", { rows: 3 })
 *   return yield* WorkflowContext.timeline
 * }).pipe(WorkflowContext.withContext({ metadata: { user: "ada" } }))
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Random from "effect/Random"

/**
 * One mark on a run's timeline.
 *
 * @since 0.1.0
 * @category models
 */
export interface Checkpoint {
  readonly name: string
  /** Milliseconds since the epoch, from Effect's `Clock`. */
  readonly at: number
  /** The branch path that recorded it (`[]` for the run itself). */
  readonly branch: ReadonlyArray<string>
  readonly attributes: Readonly<Record<string, unknown>>
}

/**
 * What a primitive sees of the run it belongs to.
 *
 * @since 0.1.0
 * @category models
 */
export interface WorkflowContextShape {
  readonly runId: string
  readonly correlationId: string
  readonly metadata: Readonly<Record<string, unknown>>
  /** The path of parallel branches from the run's root to here. */
  readonly branch: ReadonlyArray<string>
  /** Milliseconds since the epoch when the run started. */
  readonly startedAt: number
  /**
   * The run's timeline, shared by the run and all of its branches, in the
   * order the checkpoints were recorded. Read it with `timeline`; only
   * `checkpoint` appends to it.
   */
  readonly checkpoints: ReadonlyArray<Checkpoint>
}

/**
 * The per-run context service.
 *
 * @since 0.1.0
 * @category services
 */
export class WorkflowContext extends Context.Tag("flowtune/WorkflowContext")<
  WorkflowContext,
  WorkflowContextShape
>() {}

/**
 * Options for a new run context.
 *
 * @since 0.1.0
 * @category models
 */
export interface MakeOptions {
  /** Default: a UUID v7 (start time, then bits drawn from Effect's `Random`). */
  readonly runId?: string | undefined
  /** Defaults to the run id. */
  readonly correlationId?: string | undefined
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0")

// A run id in the UUID v7 layout (RFC 9562): the start time in milliseconds,
// then 53 bits of one draw of Effect's `Random`, so ids sort by start time and
// `Random.make(seed)` makes them reproducible in tests. The default Random is
// seeded at random per process. A run id names a run in traces and logs; it
// is not a secret (pass `runId` from `crypto.randomUUID` when it must be).
// One draw rather than `crypto.randomUUID()`: time and randomness go through
// Effect, and a draw is one runloop step.
const runIdFrom = (millis: number, draw: number): string => {
  const time = hex(millis, 12)
  const bits = hex(Math.floor(draw * 2 ** 53), 14)
  const variant = hex(8 + (parseInt(bits[0]!, 16) % 4), 1)
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${bits.slice(1, 4)}-${variant}${bits.slice(4, 7)}-${
    bits.slice(7, 14)
  }00000`
}

const build = (options: MakeOptions, startedAt: number, runId: string): WorkflowContextShape => ({
  runId,
  correlationId: options.correlationId ?? runId,
  metadata: options.metadata ?? {},
  branch: [],
  startedAt,
  checkpoints: []
})

const startedAtOf = (fiber: Fiber.RuntimeFiber<unknown, unknown>) =>
  Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis()

const fresh = (
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  options: MakeOptions
): Effect.Effect<WorkflowContextShape> => {
  const startedAt = startedAtOf(fiber)
  if (options.runId !== undefined) return Effect.succeed(build(options, startedAt, options.runId))
  return Effect.map(
    Context.get(fiber.currentDefaultServices, Random.Random).next,
    (draw) => build(options, startedAt, runIdFrom(startedAt, draw))
  )
}

const noOptions: MakeOptions = {}

/**
 * Creates a fresh run context, with its own empty timeline. The start time
 * comes from Effect's `Clock`, the run id (when not given) from its `Random`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: MakeOptions = noOptions): Effect.Effect<WorkflowContextShape> =>
  Effect.withFiberRuntime((fiber) => fresh(fiber, options))

/**
 * The context of a branch: the same run and timeline, one level deeper.
 *
 * @since 0.1.0
 * @category constructors
 */
export const child = (parent: WorkflowContextShape, branch: string): WorkflowContextShape => ({
  runId: parent.runId,
  correlationId: parent.correlationId,
  metadata: parent.metadata,
  branch: [...parent.branch, branch],
  startedAt: parent.startedAt,
  checkpoints: parent.checkpoints
})

// The context is put in the fiber's context by setting the FiberRef once and
// restoring it when `self` exits, in one success/failure continuation. This
// is `Effect.locally` without its `acquireUseRelease` (about 1.5 us less per
// run, and setting a FiberRef twice, ~2.5 us, is the rest: the floor of a
// run context on Effect 3, measured in bench/primitive.ts). The one
// difference: when the fiber is interrupted inside `self`, Effect skips
// success/failure continuations, so the context is not restored; the fiber
// is then unwinding, and the only code that can still run on it (finalizers)
// sees one extra service, the context of the run being interrupted.
const provide = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  context: WorkflowContextShape
): Effect.Effect<A, E, Exclude<R, WorkflowContext>> => {
  const previous = fiber.currentContext
  const restore = FiberRef.set(FiberRef.currentContext, previous)
  return Effect.zipRight(
    FiberRef.set(FiberRef.currentContext, Context.add(previous, WorkflowContext, context)),
    Effect.matchCauseEffect(self as Effect.Effect<A, E, Exclude<R, WorkflowContext>>, {
      onFailure: (cause) => Effect.zipRight(restore, Effect.failCause(cause)),
      onSuccess: (value) => Effect.as(restore, value)
    })
  )
}

/**
 * Runs an effect inside a fresh run context.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withContext =
  (options: MakeOptions = noOptions) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, WorkflowContext>> =>
    Effect.withFiberRuntime((fiber) =>
      Effect.flatMap(fresh(fiber, options), (context) => provide(self, fiber, context))
    )

/**
 * Runs an effect inside the current run context, or a fresh one when there is
 * none.
 *
 * @since 0.1.0
 * @category combinators
 */
export const ensure = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, WorkflowContext>> =>
  Effect.withFiberRuntime((fiber) => {
    if (fiber.currentContext.unsafeMap.has(WorkflowContext.key)) {
      // Already inside a run: the service is there, nothing to provide.
      return self as Effect.Effect<A, E, Exclude<R, WorkflowContext>>
    }
    const startedAt = startedAtOf(fiber)
    return Effect.flatMap(
      Context.get(fiber.currentDefaultServices, Random.Random).next,
      (draw) => provide(self, fiber, build(noOptions, startedAt, runIdFrom(startedAt, draw)))
    )
  })

/**
 * The current run context, if any, read without an effect.
 *
 * @since 0.1.0
 * @category accessors
 */
export const unsafeCurrent = (fiber: Fiber.RuntimeFiber<unknown, unknown>): WorkflowContextShape | undefined =>
  fiber.currentContext.unsafeMap.get(WorkflowContext.key)

/**
 * Records a checkpoint on the run's timeline and as an event on the current
 * span. Outside of a run it only adds the span event.
 *
 * One step: the time is read from the fiber's `Clock`, the mark pushed on the
 * run's timeline and, when a span is open, added as one span event.
 *
 * @since 0.1.0
 * @category checkpoints
 */
export const checkpoint = (
  name: string,
  attributes: Readonly<Record<string, unknown>> = {}
): Effect.Effect<void> =>
  Effect.withFiberRuntime<void>((fiber) => {
    const nanos = Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeNanos()
    const context = unsafeCurrent(fiber)
    const span = fiber.currentSpan
    if (span !== undefined && span._tag === "Span") {
      span.event(
        name,
        nanos,
        context !== undefined && context.branch.length > 0
          ? { ...attributes, "flowtune.branch": context.branch.join("/") }
          : attributes
      )
    }
    if (context !== undefined) {
      ;(context.checkpoints as Array<Checkpoint>).push({
        name,
        at: Number(nanos / 1_000_000n),
        branch: context.branch,
        attributes
      })
    }
    return Effect.void
  })

/**
 * The current run's checkpoints, in the order they were recorded.
 *
 * @since 0.1.0
 * @category checkpoints
 */
export const timeline: Effect.Effect<ReadonlyArray<Checkpoint>, never, WorkflowContext> = Effect.map(
  WorkflowContext,
  (context) => context.checkpoints.slice()
)
