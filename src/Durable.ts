/**
 * Durable workflows: a workflow whose model calls and queries survive a
 * crash or a deploy, and whose executions can spread over many processes.
 *
 * It is built on Effect's own engine, `@effect/workflow` (activities whose
 * results are persisted and replayed), run in memory (`layerMemory`) or on
 * `@effect/cluster` with PostgreSQL storage (`flowtune/Durable/Pg`).
 *
 * - {@link activity} turns a leaf primitive (a model call, a query) into a
 *   durable step: inside a durable workflow its result is stored, and a replay
 *   after a crash returns the stored result instead of calling again. Outside
 *   a durable workflow it is the plain primitive. It is still a primitive, so
 *   it composes with `sequence`, `parallel`, `forEach`, `fallback`,
 *   `Cache.wrap` and `Router.make`.
 * - {@link workflow} turns any primitive into a durable workflow with an
 *   idempotency key: `run`, `start`, `poll`, `interrupt`, `resume`.
 *
 * Activities run at least once: a call that was in flight when the process
 * died runs again on replay (and may be paid twice). Put the model call behind
 * a shared cache tier so that a call that had finished is a hit.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Schema from "effect/Schema"
 * import * as Durable from "flowtune/Durable"
 * import * as Primitive from "flowtune/Primitive"
 *
 * const summarize = Primitive.make("summarize", (text: string) => Effect.succeed(text.slice(0, 10)))
 *   .pipe(Durable.activity({ success: Schema.String }))
 *
 * const digest = Durable.workflow(Primitive.forEach(summarize), {
 *   name: "digest",
 *   payload: Schema.Array(Schema.String),
 *   success: Schema.Array(Schema.String),
 *   idempotencyKey: (texts) => texts.join("\n")
 * })
 *
 * const program = digest.run(["first text", "second text"]).pipe(
 *   Effect.provide(digest.layer),
 *   Effect.provide(Durable.layerMemory)
 * )
 * ```
 *
 * @since 0.2.0
 */
import type * as Workflow from "@effect/workflow/Workflow"
import type * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import * as internal from "./internal/durable.js"
import type * as Primitive from "./Primitive.js"

/**
 * An activity's input could not be turned into a stable key (a function, a
 * cycle, a class instance without a declared encoding...), so its result
 * could not be found again on replay.
 *
 * @since 0.2.0
 * @category errors
 */
export class UnkeyableInput extends Data.TaggedError("UnkeyableInput")<{
  readonly activity: string
  readonly reason: string
}> {
  override get message() {
    return `Durable activity "${this.activity}": its input has no stable key: ${this.reason}`
  }
}

/**
 * @since 0.2.0
 * @category models
 */
export interface ActivityOptions<Out, E, SI, EI> {
  /** How the result is persisted (and read back on replay). */
  readonly success: Schema.Schema<Out, SI, never>
  /** How a failure is persisted; without it a failure is kept as a defect. */
  readonly error?: Schema.Schema<E, EI, never> | undefined
  /** The activity's name in the engine (default: the primitive's name). */
  readonly name?: string | undefined
}

/**
 * A leaf primitive as a durable step. Inside a durable workflow its result is
 * persisted under a key derived from its name, the branch path that called it,
 * a digest of its input and its occurrence in the execution: the same
 * primitive called for three items, in three branches or three times in a row
 * is three activities, never one. Outside a durable workflow it runs as is.
 *
 * @since 0.2.0
 * @category constructors
 */
export const activity: {
  <Out, E, SI, EI>(
    options: ActivityOptions<Out, E, SI, EI>
  ): <In, R>(self: Primitive.Primitive<In, Out, E, R>) => Primitive.Primitive<In, Out, E | UnkeyableInput, R>
  <In, Out, E, R, SI, EI>(
    self: Primitive.Primitive<In, Out, E, R>,
    options: ActivityOptions<Out, E, SI, EI>
  ): Primitive.Primitive<In, Out, E | UnkeyableInput, R>
} = internal.activity

/**
 * @since 0.2.0
 * @category models
 */
export interface WorkflowOptions<In, Out, E, PI, SI, EI> {
  /** The workflow's name in the engine (default: the primitive's name). */
  readonly name?: string | undefined
  /** How the input is persisted. */
  readonly payload: Schema.Schema<In, PI, never>
  /** How the output is persisted. */
  readonly success: Schema.Schema<Out, SI, never>
  /** How a failure is persisted. */
  readonly error?: Schema.Schema<E, EI, never> | undefined
  /** Two inputs with the same key are one execution: the second gets the first one's result. */
  readonly idempotencyKey: (input: In) => string
}

/**
 * Where an execution stands.
 *
 * @since 0.2.0
 * @category models
 */
export type Status<A, E> =
  | { readonly _tag: "Running" }
  | { readonly _tag: "Suspended" }
  | Status.Complete<A, E>

/**
 * @since 0.2.0
 */
export declare namespace Status {
  /**
   * @since 0.2.0
   * @category models
   */
  export interface Complete<A, E> {
    readonly _tag: "Complete"
    readonly exit: Exit.Exit<A, E>
  }
}

/**
 * A primitive registered as a durable workflow.
 *
 * @since 0.2.0
 * @category models
 */
export interface DurableWorkflow<In, Out, E, R> {
  readonly name: string
  /** The engine's definition, for `@effect/workflow` APIs (e.g. `DurableDeferred.tokenFromPayload`). */
  // `any`: the engine's workflow type: the encoded input and the result schemas are erased here
  readonly definition: Workflow.Workflow<string, Schema.Struct<{ input: Schema.Schema<In, any> }>, any, any>
  /** Registers the workflow's body with the engine: provide it to the runners that execute it. */
  readonly layer: Layer.Layer<never, never, WorkflowEngine.WorkflowEngine | R>
  /** Runs an execution (or joins the one with the same idempotency key) and waits for its result. */
  readonly run: (input: In) => Effect.Effect<Out, E, WorkflowEngine.WorkflowEngine>
  /** Starts an execution without waiting; returns its execution id. */
  readonly start: (input: In) => Effect.Effect<string, never, WorkflowEngine.WorkflowEngine>
  /** The execution id an input maps to. */
  readonly executionId: (input: In) => Effect.Effect<string>
  /** Where an execution stands. */
  readonly poll: (executionId: string) => Effect.Effect<Status<Out, E>, never, WorkflowEngine.WorkflowEngine>
  /** Interrupts an execution (its finalizers and compensations run). */
  readonly interrupt: (executionId: string) => Effect.Effect<void, never, WorkflowEngine.WorkflowEngine>
  /** Resumes a suspended execution. */
  readonly resume: (executionId: string) => Effect.Effect<void, never, WorkflowEngine.WorkflowEngine>
}

/**
 * Any primitive as a durable workflow. Its body is the primitive run with a
 * run context (`Primitive.run`); the activities inside it are what is
 * persisted, the composition around them is replayed deterministically.
 *
 * @since 0.2.0
 * @category constructors
 */
export const workflow: <In, Out, E, R, PI, SI, EI>(
  self: Primitive.Primitive<In, Out, E, R>,
  options: WorkflowOptions<In, Out, E, PI, SI, EI>
) => DurableWorkflow<In, Out, E, R> = internal.workflow

/**
 * The in-memory engine: executions and activity results live as long as the
 * layer. For tests, and for one process that wants idempotent executions.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerMemory: Layer.Layer<WorkflowEngine.WorkflowEngine> = internal.layerMemory
