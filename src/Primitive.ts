/**
 * The building block of a flowtune workflow: a named, typed step
 * `(input: In) => Effect<Out, E, R>`, and the ways to compose steps.
 *
 * - `sequence(a, b, c)` / `a.pipe(Primitive.andThen(b))`: the guide's `a >> b >> c`.
 * - `parallel([a, b, c])` / `parallel({ a, b })`: the guide's `a | b | c`, fail-fast
 *   by default (the first failure interrupts every sibling and waits for their
 *   finalizers), or `mode: "collect"` to get every branch's `Exit`.
 * - `forEach(p, { concurrency })`: map-reduce over a list, order preserved.
 * - `retry`, `timeout`, `fallback`: resilience around any step.
 *
 * Every run of a primitive is a span named after it, so sequence steps and
 * parallel branches appear as its children, whenever a tracer that records
 * spans is installed (`Tracing.layerMemory`, `Tracing.record`, OpenTelemetry,
 * `Metrics.layer`). Under Effect's built-in tracer, which keeps no span once it
 * ends, and with tracing disabled, no span is opened: spans cost nothing
 * until someone reads them.
 *
 * Two ways to run: `Primitive.run(p, input)` is the entry point (it gives the
 * run its context: run id, timeline of checkpoints), `p.run(input)` is the
 * step as an effect, for use inside a run that already has one.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Primitive } from "flowtune"
 *
 * const fetchDoc = Primitive.make("fetch", (id: number) => Effect.succeed(`doc ${id}`))
 * const summarize = Primitive.fromFunction("summarize", (doc: string) => doc.toUpperCase())
 * const count = Primitive.fromFunction("count", (doc: string) => doc.length)
 *
 * const workflow = Primitive.sequence(fetchDoc, Primitive.parallel({ summarize, count }))
 * // Effect<{ summarize: string; count: number }>
 * const result = Primitive.run(workflow, 42)
 * ```
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type { Pipeable } from "effect/Pipeable"
import type * as Schedule from "effect/Schedule"
import type { NoInfer } from "effect/Types"
import * as internal from "./internal/primitive.js"
import * as parallelInternal from "./internal/primitiveParallel.js"
import * as resilience from "./internal/primitiveResilience.js"
import type { Sequence } from "./internal/primitiveSequence.js"
import type * as WorkflowContext from "./WorkflowContext.js"

/**
 * @since 0.1.0
 * @category symbols
 */
// The same registered symbol as the implementation's, re-declared as this module's unique symbol type.
// `any`: a `unique symbol` type can only be written where it is declared: the public name re-declares the internal symbol
export const TypeId: unique symbol = internal.TypeId as any

/**
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * What a primitive is made of, for tools that walk a workflow (the breakdown,
 * the advisor, reports).
 *
 * @since 0.1.0
 * @category models
 */
export type Kind =
  | "step"
  | "sequence"
  | "parallel"
  | "forEach"
  | "retry"
  | "timeout"
  | "fallback"
  | (string & {})

/**
 * Static facts about a primitive that other modules read: its cost per call
 * (used by the cache's "cost saved" and the router's accounting), and anything
 * else a user wants to attach.
 *
 * @since 0.1.0
 * @category models
 */
export interface Annotations {
  /** US dollars per call, when the step has a fixed price. */
  readonly costPerCall?: number | undefined
  readonly description?: string | undefined
  readonly [key: string]: unknown
}

/**
 * A named, typed workflow step.
 *
 * @since 0.1.0
 * @category models
 */
export interface Primitive<in In, out Out, out E = never, out R = never>
  extends Primitive.Variance<In, Out, E, R>, Pipeable
{
  readonly name: string
  readonly kind: Kind
  /** The primitives this one is composed of, in order. */
  readonly children: ReadonlyArray<Primitive.Any>
  readonly annotations: Annotations
  /**
   * The step itself, as an effect: use it to compose a primitive inside other
   * effects. It joins the run context already present (if any) and creates
   * none; `Primitive.run(p, input)` is the entry point that also gives the run
   * its context (run id, timeline). It opens a span named after the primitive
   * when a recording tracer is installed (see the module docs).
   */
  readonly run: (input: In) => Effect.Effect<Out, E, R>
  toJSON(): unknown
}

/**
 * @since 0.1.0
 */
export declare namespace Primitive {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Variance<in In, out Out, out E, out R> {
    readonly [TypeId]: {
      readonly _In: (_: In) => void
      readonly _Out: (_: never) => Out
      readonly _E: (_: never) => E
      readonly _R: (_: never) => R
    }
  }

  /**
   * Any primitive, whatever its types.
   *
   * @since 0.1.0
   * @category models
   */
  // `any`: every instance whatever its type parameters (some are contravariant, so `unknown` would not accept them all)
  export type Any = Primitive<any, any, any, any>
}

/**
 * @since 0.1.0
 * @category type-level
 */
export type Input<P> = P extends Primitive<infer In, infer _Out, infer _E, infer _R> ? In : never
/**
 * @since 0.1.0
 * @category type-level
 */
export type Output<P> = P extends Primitive<infer _In, infer Out, infer _E, infer _R> ? Out : never
/**
 * @since 0.1.0
 * @category type-level
 */
export type Error<P> = P extends Primitive<infer _In, infer _Out, infer E, infer _R> ? E : never
/**
 * @since 0.1.0
 * @category type-level
 */
export type Context<P> = P extends Primitive<infer _In, infer _Out, infer _E, infer R> ? R : never

/**
 * Checks every joint of a sequence: each step must accept what the previous
 * one returns. A mismatch makes the offending step the argument TypeScript
 * complains about.
 *
 * @since 0.1.0
 * @category type-level
 */
export type ValidSequence<Steps extends ReadonlyArray<Primitive.Any>, Prev = never, First extends boolean = true> =
  Steps extends readonly [infer Head extends Primitive.Any, ...infer Tail extends ReadonlyArray<Primitive.Any>] ? [
      First extends true ? Head : Primitive<Prev, Output<Head>, Error<Head>, Context<Head>>,
      ...ValidSequence<Tail, Output<Head>, false>
    ]
    : []

type Last<Steps extends ReadonlyArray<unknown>> = Steps extends readonly [...infer _, infer L] ? L : never

/**
 * A construction mistake (an empty sequence, a non-positive concurrency, a
 * non-positive timeout, ...). It is thrown where the workflow is defined: it
 * is a bug in the program, not a failure of a run.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidPrimitive extends Data.TaggedError("InvalidPrimitive")<{
  /** What was being built: a primitive's name, or a constructor such as `"Database.layerPg"`. */
  readonly primitive: string
  /** The offending option, when one option is out of range. */
  readonly option?: string | undefined
  /** What is wrong, with the value received and the range allowed. */
  readonly reason: string
}> {
  override get message() {
    return `Invalid primitive "${this.primitive}": ${this.reason}`
  }
}

/**
 * The typed failure of `timeout`: the step did not finish in time and was
 * interrupted.
 *
 * @since 0.1.0
 * @category errors
 */
export class PrimitiveTimeout extends Data.TaggedError("PrimitiveTimeout")<{
  readonly primitive: string
  readonly duration: Duration.Duration
}> {
  override get message() {
    return `Primitive "${this.primitive}" timed out after ${Duration.format(this.duration)}`
  }
}

/**
 * The default failure of `fromPromise`: the promise rejected.
 *
 * @since 0.1.0
 * @category errors
 */
export class PromiseRejected extends Data.TaggedError("PromiseRejected")<{
  readonly primitive: string
  readonly cause: unknown
}> {
  override get message() {
    return `Primitive "${this.primitive}" rejected: ${String(this.cause)}`
  }
}

/**
 * The errors this module produces in the error channel.
 *
 * @since 0.1.0
 * @category errors
 */
export type PrimitiveError = PrimitiveTimeout | PromiseRejected

/**
 * @since 0.1.0
 * @category guards
 */
export const isPrimitive: (u: unknown) => u is Primitive.Any = internal.isPrimitive

/**
 * A step from a function that returns an Effect.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: <In, Out, E = never, R = never>(
  name: string,
  f: (input: In) => Effect.Effect<Out, E, R>,
  options?: { readonly annotations?: Annotations | undefined }
) => Primitive<In, Out, E, R> = internal.make

/**
 * Everything a combinator needs to build its primitive in one call, so that
 * nothing is patched on a finished primitive (`Cache.wrap`, `Router.make`).
 *
 * @since 0.1.0
 * @category models
 */
export interface MakeWithOptions<In, Out, E, R> {
  readonly name: string
  /** Default `"step"`; a wrapper names itself (`"cache"`, `"router"`). */
  readonly kind?: Kind | undefined
  /** The primitives it wraps or chooses between, for tools that walk a workflow. */
  readonly children?: ReadonlyArray<Primitive.Any> | undefined
  readonly annotations?: Annotations | undefined
  /**
   * Extra read-only properties of the primitive (a router's routes, a
   * cache's key function), set when it is built. This is the one way a
   * combinator attaches data to its primitive: nothing is written to a
   * finished primitive. State that changes (counters, queues) is created by
   * an Effect before the primitive is built (`Hedge.make` gives its counters
   * here) or lives in a layer's service; never when a primitive is defined.
   */
  readonly fields?: Readonly<Record<string | symbol, unknown>> | undefined
  /**
   * The step's logic. It receives the running fiber, so a hot path can read
   * its services, clock and run context in the same runloop step that decides
   * whether to open a span (one step instead of two per call).
   */
  readonly run: (input: In, fiber: Fiber.RuntimeFiber<unknown, unknown>) => Effect.Effect<Out, E, R>
}

/**
 * A primitive from a run hook, with its kind, children, annotations and
 * extra fields given at construction. The result behaves like every other
 * primitive: a span named after it when a recording tracer is installed.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Primitive } from "flowtune"
 *
 * const inner = Primitive.fromFunction("inner", (n: number) => n + 1)
 * const twice = Primitive.makeWith({
 *   name: "twice(inner)",
 *   kind: "twice",
 *   children: [inner],
 *   run: (n: number) => Effect.flatMap(inner.run(n), inner.run)
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeWith: <In, Out, E = never, R = never>(
  options: MakeWithOptions<In, Out, E, R>
) => Primitive<In, Out, E, R> = internal.makeWith

/**
 * A step from a plain synchronous function. A throw is a defect: use `make`
 * with a typed error for expected failures. Such a step cannot suspend, so as
 * a branch of `parallel` (every branch a function) or the primitive of
 * `forEach` it is called in place, without a fiber, when no span is opened.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFunction: <In, Out>(
  name: string,
  f: (input: In) => Out,
  options?: { readonly annotations?: Annotations | undefined }
) => Primitive<In, Out> = internal.fromFunction

/**
 * A step from a function returning a Promise. It receives an `AbortSignal`
 * that fires when the run is interrupted (a failed sibling, a timeout, a
 * client that went away), so the work really stops. A rejection becomes
 * `PromiseRejected`, or whatever `catch` maps it to.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromPromise: {
  <In, Out>(
    name: string,
    f: (input: In, signal: AbortSignal) => PromiseLike<Out>,
    options?: { readonly annotations?: Annotations | undefined }
  ): Primitive<In, Out, PromiseRejected>
  <In, Out, E>(
    name: string,
    f: (input: In, signal: AbortSignal) => PromiseLike<Out>,
    options: { readonly catch: (error: unknown) => E; readonly annotations?: Annotations | undefined }
  ): Primitive<In, Out, E>
} = internal.fromPromise as any // overloads are checked at call sites; the implementation is untyped

/**
 * Transforms the output of a step.
 *
 * @since 0.1.0
 * @category combinators
 */
export const map: {
  <Out, B>(f: (output: Out) => B): <In, E, R>(self: Primitive<In, Out, E, R>) => Primitive<In, B, E, R>
  <In, Out, E, R, B>(self: Primitive<In, Out, E, R>, f: (output: Out) => B): Primitive<In, B, E, R>
} = internal.map

/**
 * Gives a primitive a new name (and so a new span name). A named sequence is
 * kept as one step when nested in another sequence.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withName: {
  (name: string): <In, Out, E, R>(self: Primitive<In, Out, E, R>) => Primitive<In, Out, E, R>
  <In, Out, E, R>(self: Primitive<In, Out, E, R>, name: string): Primitive<In, Out, E, R>
} = internal.withName

/**
 * Attaches annotations (such as `costPerCall`) to a primitive.
 *
 * @since 0.1.0
 * @category combinators
 */
export const annotate: {
  (annotations: Annotations): <In, Out, E, R>(self: Primitive<In, Out, E, R>) => Primitive<In, Out, E, R>
  <In, Out, E, R>(self: Primitive<In, Out, E, R>, annotations: Annotations): Primitive<In, Out, E, R>
} = internal.annotate

/**
 * Wraps a primitive's own work, inside its span rather than around it: the
 * result keeps the name, kind, children and annotations, and a run still
 * opens exactly one span. `next` is the wrapped work for this input. Used for
 * instrumentation (metrics, input fingerprints) and small policies.
 *
 * @since 0.1.0
 * @category combinators
 */
export const around: {
  <In, Out, E, R, Out2, E2, R2>(
    f: (input: In, next: Effect.Effect<Out, E, R>) => Effect.Effect<Out2, E2, R2>
  ): (self: Primitive<In, Out, E, R>) => Primitive<In, Out2, E2, R2>
  <In, Out, E, R, Out2, E2, R2>(
    self: Primitive<In, Out, E, R>,
    f: (input: In, next: Effect.Effect<Out, E, R>) => Effect.Effect<Out2, E2, R2>
  ): Primitive<In, Out2, E2, R2>
} = internal.around

/**
 * Runs steps one after another, each receiving the previous one's output (the
 * guide's `a >> b >> c`). Unnamed nested sequences are flattened.
 *
 * @since 0.1.0
 * @category composition
 */
export const sequence: Sequence = internal.sequence as any // the overloads are checked at call sites; the implementation is untyped

/**
 * Runs `that` on the output of `self`: a two-step `sequence`.
 *
 * @since 0.1.0
 * @category composition
 */
export const andThen: {
  <Out, Out2, E2, R2>(
    that: Primitive<Out, Out2, E2, R2>
  ): <In, E, R>(self: Primitive<In, Out, E, R>) => Primitive<In, Out2, E | E2, R | R2>
  <In, Out, E, R, Out2, E2, R2>(
    self: Primitive<In, Out, E, R>,
    that: Primitive<NoInfer<Out>, Out2, E2, R2>
  ): Primitive<In, Out2, E | E2, R | R2>
} = internal.andThen

/**
 * Options of `parallel`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ParallelOptions {
  readonly name?: string | undefined
  /** How many branches run at once. Default: all of them. */
  readonly concurrency?: number | "unbounded" | undefined
  /**
   * `"fail-fast"` (default): the first failure interrupts the running
   * siblings, waits for their finalizers, and fails the fan-out with it.
   * `"collect"`: every branch runs to completion and its `Exit` is returned.
   */
  readonly mode?: "fail-fast" | "collect" | undefined
}

type Branches = readonly [Primitive.Any, ...Array<Primitive.Any>] | Readonly<Record<string, Primitive.Any>>

// Each branch's input is kept whole (a branch taking `string | Prompt` stays so)
// and the branches' inputs are intersected: the fan-out needs an input every branch accepts.
type BranchInput<B extends Branches> = (
  B[keyof B & (number | string)] extends infer P ? P extends Primitive.Any ? (_: Input<P>) => void : never : never
) extends (_: infer I) => void ? I : never

type BranchOutputs<B extends Branches> = { -readonly [K in keyof B]: Output<B[K]> }

type BranchExits<B extends Branches> = { -readonly [K in keyof B]: Exit.Exit<Output<B[K]>, Error<B[K]>> }

/**
 * Runs every branch on the same input at the same time (the guide's
 * `a | b | c`). Given a tuple it returns a tuple, given a record a record.
 *
 * @since 0.1.0
 * @category composition
 */
export const parallel: {
  <const B extends Branches>(
    branches: B,
    options: ParallelOptions & { readonly mode: "collect" }
  ): Primitive<BranchInput<B>, BranchExits<B>, never, Context<B[keyof B & (number | string)]>>
  <const B extends Branches>(
    branches: B,
    options?: ParallelOptions & { readonly mode?: "fail-fast" | undefined }
  ): Primitive<
    BranchInput<B>,
    BranchOutputs<B>,
    Error<B[keyof B & (number | string)]>,
    Context<B[keyof B & (number | string)]>
  >
} = parallelInternal.parallel as any // overloads are checked at call sites; the implementation is untyped

/**
 * Options of `forEach`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ForEachOptions {
  readonly name?: string | undefined
  /** How many items are processed at once. Default: all of them. */
  readonly concurrency?: number | "unbounded" | undefined
}

/**
 * Turns a step over one item into a step over a list (the guide's map-reduce
 * "map"): order is preserved, at most `concurrency` items run at once, and the
 * first failure interrupts the items still running.
 *
 * @since 0.1.0
 * @category composition
 */
export const forEach: {
  (options?: ForEachOptions): <In, Out, E, R>(
    self: Primitive<In, Out, E, R>
  ) => Primitive<ReadonlyArray<In>, Array<Out>, E, R>
  <In, Out, E, R>(
    self: Primitive<In, Out, E, R>,
    options?: ForEachOptions
  ): Primitive<ReadonlyArray<In>, Array<Out>, E, R>
} = parallelInternal.forEach

/**
 * Options of `retry`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryOptions<E, R> {
  readonly name?: string | undefined
  /** The delays between attempts, e.g. `Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(3)))`. */
  // `any`: the schedule's input is whatever the retried error is; the schedule need not name it
  readonly schedule: Schedule.Schedule<any, E, R>
  /** Which failures are worth another attempt. Default: all of them. */
  readonly while?: ((error: E) => boolean) | undefined
}

/**
 * Retries a failing step on a `Schedule`.
 *
 * @since 0.1.0
 * @category resilience
 */
export const retry: {
  <E, R2>(options: RetryOptions<E, R2>): <In, Out, R>(self: Primitive<In, Out, E, R>) => Primitive<In, Out, E, R | R2>
  <In, Out, E, R, R2>(self: Primitive<In, Out, E, R>, options: RetryOptions<E, R2>): Primitive<In, Out, E, R | R2>
} = resilience.retry

/**
 * Fails with `PrimitiveTimeout` when the step takes longer than `duration`,
 * interrupting it.
 *
 * @since 0.1.0
 * @category resilience
 */
export const timeout: {
  (duration: Duration.DurationInput): <In, Out, E, R>(
    self: Primitive<In, Out, E, R>
  ) => Primitive<In, Out, E | PrimitiveTimeout, R>
  <In, Out, E, R>(
    self: Primitive<In, Out, E, R>,
    duration: Duration.DurationInput
  ): Primitive<In, Out, E | PrimitiveTimeout, R>
} = resilience.timeout

/**
 * Options of `fallback`.
 *
 * @since 0.1.0
 * @category models
 */
export interface FallbackOptions<E> {
  readonly name?: string | undefined
  /** Which failures move on to the next alternative. Default: all of them. */
  readonly when?: ((error: E) => boolean) | undefined
}

/**
 * Tries `self`, then each alternative in order, until one succeeds. Without
 * `when`, only the last alternative's error can escape; with it, any step's.
 *
 * @since 0.1.0
 * @category resilience
 */
export const fallback: {
  // `any`: the alternatives may differ in output, error and requirements: the result reads each back
  <In, Out, E, R, const Alts extends readonly [Primitive<In, any, any, any>, ...Array<Primitive<In, any, any, any>>]>(
    self: Primitive<In, Out, E, R>,
    alternatives: Alts
  ): Primitive<In, Out | Output<Alts[number]>, Error<Last<Alts>>, R | Context<Alts[number]>>
  // `any`: the alternatives may differ in output, error and requirements: the result reads each back
  <In, Out, E, R, const Alts extends readonly [Primitive<In, any, any, any>, ...Array<Primitive<In, any, any, any>>]>(
    self: Primitive<In, Out, E, R>,
    alternatives: Alts,
    options: FallbackOptions<E | Error<Alts[number]>>
  ): Primitive<In, Out | Output<Alts[number]>, E | Error<Alts[number]>, R | Context<Alts[number]>>
} = resilience.fallback as any // overloads are checked at call sites; the implementation is untyped

/**
 * Runs a primitive on one input inside a run context: the current one, or a
 * fresh one (new run id, empty timeline) when there is none or when options
 * are given. This is the entry point; `p.run(input)` is the same step without
 * the context, for composing inside a run.
 *
 * @since 0.1.0
 * @category running
 */
export const run: <In, Out, E, R>(
  self: Primitive<In, Out, E, R>,
  input: In,
  options?: WorkflowContext.MakeOptions
) => Effect.Effect<Out, E, Exclude<R, WorkflowContext.WorkflowContext>> = internal.run
