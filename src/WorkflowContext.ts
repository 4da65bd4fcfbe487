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
import * as Random from "effect/Random"
import { swapContext } from "./internal/fiberContext.js"

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
 * In a context made by flowtune, `runId` and `correlationId` are getters (the
 * id is formatted on first read), so `{ ...context }` and `Object.keys` do not
 * carry them; `JSON.stringify` and Node's `inspect` do. Read them by name.
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

// A run context as a class: the run id string is built on its first read
// (most runs never read it; building it eagerly was about a quarter of a
// short run's CPU, bench/primitive.ts), from the start time and the draw taken
// when the run began, so the id is the same string an eager build gives and a
// seeded `Random` still gives the same ids. An object literal with getters
// would keep `runId` an own property, but V8 builds one in ~1.2 us against
// ~20 ns for this class. The draw and the cached id are `#private`: keys,
// spreads and inspection show the shape's data fields only; `toJSON` and
// Node's inspector show `runId` and `correlationId` too.
class RunContext implements WorkflowContextShape {
  readonly #draw: number
  #id: string | undefined
  readonly #correlation: string | undefined
  constructor(
    readonly startedAt: number,
    draw: number,
    id: string | undefined,
    correlation: string | undefined,
    readonly metadata: Readonly<Record<string, unknown>>,
    readonly branch: ReadonlyArray<string>,
    readonly checkpoints: ReadonlyArray<Checkpoint>
  ) {
    this.#draw = draw
    this.#id = id
    this.#correlation = correlation
  }
  get runId(): string {
    return this.#id ??= runIdFrom(this.startedAt, this.#draw)
  }
  get correlationId(): string {
    return this.#correlation ?? this.runId
  }
  /** The same run, one branch deeper (the id still unbuilt if it was). */
  child(branch: string): RunContext {
    return new RunContext(
      this.startedAt,
      this.#draw,
      this.#id,
      this.#correlation,
      this.metadata,
      [...this.branch, branch],
      this.checkpoints
    )
  }
  toJSON() {
    return {
      runId: this.runId,
      correlationId: this.correlationId,
      metadata: this.metadata,
      branch: this.branch,
      startedAt: this.startedAt,
      checkpoints: this.checkpoints
    }
  }
  [Symbol.for("nodejs.util.inspect.custom")]() {
    return this.toJSON()
  }
}

const build = (options: MakeOptions, startedAt: number, draw: number): WorkflowContextShape =>
  new RunContext(startedAt, draw, options.runId, options.correlationId, options.metadata ?? {}, [], [])

const startedAtOf = (fiber: Fiber.RuntimeFiber<unknown, unknown>) =>
  Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis()

// One draw of the fiber's `Random`, one runloop step. (Reading Effect's own
// generator in place saved two steps but nothing measurable: 1.57x -> 1.58x
// of a plain chain on a sequence of 10, one process.)
const withDraw = <A, E, R>(
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  f: (draw: number) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => Effect.flatMap(Context.get(fiber.currentDefaultServices, Random.Random).next, f)

const fresh = (
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  options: MakeOptions
): Effect.Effect<WorkflowContextShape> => {
  const startedAt = startedAtOf(fiber)
  if (options.runId !== undefined) return Effect.succeed(build(options, startedAt, 0))
  return withDraw(fiber, (draw) => Effect.succeed(build(options, startedAt, draw)))
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
export const child = (parent: WorkflowContextShape, branch: string): WorkflowContextShape =>
  parent instanceof RunContext ? parent.child(branch) : {
    runId: parent.runId,
    correlationId: parent.correlationId,
    metadata: parent.metadata,
    branch: [...parent.branch, branch],
    startedAt: parent.startedAt,
    checkpoints: parent.checkpoints
  }

// The context is put in the fiber's context by setting the FiberRef directly
// on the running fiber (what `FiberRef.set` does, without its own step) and
// restoring it when `self` exits, in the one success/failure continuation,
// again directly (internal/fiberContext.ts: the write skips Effect's equality
// check, which hashes the whole context, and the restore puts the fiber's
// previous refs back whole). This is `Effect.locally` without its
// `acquireUseRelease`. The one difference: when the fiber is interrupted
// inside `self`, Effect skips success/failure continuations, so the context is
// not restored; the fiber is then unwinding, and the only code that can still
// run on it (finalizers) sees one extra service, the context of the run being
// interrupted.

// `self` is built once the context is in place (a primitive reads the fiber's context as it builds its effect).
const provide = <A, E, R>(
  self: () => Effect.Effect<A, E, R>,
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  context: WorkflowContextShape
): Effect.Effect<A, E, Exclude<R, WorkflowContext>> => {
  const restore = swapContext(fiber, Context.add(fiber.currentContext, WorkflowContext, context))
  return Effect.matchCauseEffect(self() as Effect.Effect<A, E, Exclude<R, WorkflowContext>>, {
    onFailure: (cause) => {
      restore()
      return Effect.failCause(cause)
    },
    onSuccess: (value) => {
      restore()
      return Effect.succeed(value)
    }
  })
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
    Effect.withFiberRuntime((fiber) => {
      const startedAt = startedAtOf(fiber)
      return options.runId !== undefined
        ? provide(() => self, fiber, build(options, startedAt, 0))
        : withDraw(fiber, (draw) => provide(() => self, fiber, build(options, startedAt, draw)))
    })

/**
 * Runs an effect inside the current run context, or a fresh one when there is
 * none.
 *
 * @since 0.1.0
 * @category combinators
 */
export const ensure = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, WorkflowContext>> =>
  ensureWith(() => self)

/**
 * `ensure` of the effect `self` builds given the running fiber, once the
 * context is in place: `Primitive.run` takes its tracer decision in this same
 * step instead of one of its own.
 *
 * @internal
 */
export const ensureWith = <A, E, R>(
  self: (fiber: Fiber.RuntimeFiber<unknown, unknown>) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, Exclude<R, WorkflowContext>> =>
  Effect.withFiberRuntime((fiber) => {
    if (fiber.currentContext.unsafeMap.has(WorkflowContext.key)) {
      // Already inside a run: the service is there, nothing to provide.
      return self(fiber) as Effect.Effect<A, E, Exclude<R, WorkflowContext>>
    }
    const startedAt = startedAtOf(fiber)
    return withDraw(fiber, (draw) => provide(() => self(fiber), fiber, build(noOptions, startedAt, draw)))
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
