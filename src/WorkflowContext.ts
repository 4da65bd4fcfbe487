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
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Tracer from "effect/Tracer"

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
  /** Shared by the run and all of its branches. */
  readonly checkpoints: Ref.Ref<Chunk.Chunk<Checkpoint>>
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
  readonly runId?: string | undefined
  /** Defaults to the run id. */
  readonly correlationId?: string | undefined
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
}

/**
 * Creates a fresh run context, with its own empty timeline.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: MakeOptions = {}): Effect.Effect<WorkflowContextShape> =>
  Effect.gen(function*() {
    const runId = options.runId ?? crypto.randomUUID()
    return {
      runId,
      correlationId: options.correlationId ?? runId,
      metadata: options.metadata ?? {},
      branch: [],
      startedAt: yield* Effect.clockWith((clock) => clock.currentTimeMillis),
      checkpoints: yield* Ref.make(Chunk.empty<Checkpoint>())
    }
  })

/**
 * The context of a branch: the same run and timeline, one level deeper.
 *
 * @since 0.1.0
 * @category constructors
 */
export const child = (parent: WorkflowContextShape, branch: string): WorkflowContextShape => ({
  ...parent,
  branch: [...parent.branch, branch]
})

/**
 * Runs an effect inside a fresh run context.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withContext =
  (options: MakeOptions = {}) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, WorkflowContext>> =>
    Effect.flatMap(make(options), (context) => Effect.provideService(self, WorkflowContext, context))

/**
 * Runs an effect inside the current run context, or a fresh one when there is
 * none.
 *
 * @since 0.1.0
 * @category combinators
 */
export const ensure = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, WorkflowContext>> =>
  Effect.flatMap(
    Effect.serviceOption(WorkflowContext),
    (current) =>
      Option.isSome(current)
        ? Effect.provideService(self, WorkflowContext, current.value)
        : withContext()(self)
  )

/**
 * Records a checkpoint on the run's timeline and as an event on the current
 * span. Outside of a run it only adds the span event.
 *
 * @since 0.1.0
 * @category checkpoints
 */
export const checkpoint = (
  name: string,
  attributes: Readonly<Record<string, unknown>> = {}
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const nanos = yield* Effect.clockWith((clock) => clock.currentTimeNanos)
    const context = yield* Effect.serviceOption(WorkflowContext)
    // `Effect.currentSpan` fails with an exception (and its stack trace) when no span is active.
    const span = Option.filter(
      yield* Effect.serviceOption(Tracer.ParentSpan),
      (parent): parent is Tracer.Span => parent._tag === "Span"
    )
    if (Option.isSome(span)) {
      const branch = Option.isSome(context) && context.value.branch.length > 0
        ? { "flowtune.branch": context.value.branch.join("/") }
        : {}
      span.value.event(name, nanos, { ...attributes, ...branch })
    }
    if (Option.isSome(context)) {
      const mark: Checkpoint = {
        name,
        at: Number(nanos / 1_000_000n),
        branch: context.value.branch,
        attributes
      }
      yield* Ref.update(context.value.checkpoints, Chunk.append(mark))
    }
  })

/**
 * The current run's checkpoints, in the order they were recorded.
 *
 * @since 0.1.0
 * @category checkpoints
 */
export const timeline: Effect.Effect<ReadonlyArray<Checkpoint>, never, WorkflowContext> = Effect.flatMap(
  WorkflowContext,
  (context) => Effect.map(Ref.get(context.checkpoints), Chunk.toReadonlyArray)
)
