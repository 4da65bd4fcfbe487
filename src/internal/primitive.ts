import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import * as Tracer from "effect/Tracer"
import * as Primitive from "../Primitive.js"
import * as WorkflowContext from "../WorkflowContext.js"
import type { ItemQueue } from "./fanOut.js"
import * as Options from "./options.js"
import * as ProtoKit from "./proto.js"
import * as Span from "./span.js"

/** @internal */
export const TypeId: unique symbol = Symbol.for("flowtune/Primitive")

const Proto = ProtoKit.make(TypeId, "Primitive")

/** @internal */
export const isPrimitive = (u: unknown): u is Primitive.Primitive.Any =>
  typeof u === "object" && u !== null && TypeId in u

const checkName = (kind: string, name: unknown): string => Options.nonEmptyString(`Primitive.${kind}`, "name", name)

/** The annotations the library reads are checked where they are given (the cache and router price with them). */
const checkAnnotations = (name: string, annotations: Primitive.Annotations | undefined) => {
  if (annotations?.costPerCall !== undefined) Options.number(name, "costPerCall", annotations.costPerCall, { min: 0 })
  return annotations
}

const checkFunction = <F extends (...args: ReadonlyArray<never>) => unknown>(name: string, option: string, f: F): F =>
  Options.func<F>(name, option, f)

/** @internal */
export const checkConcurrency = (owner: string, concurrency: unknown): number =>
  concurrency === undefined || concurrency === "unbounded"
    ? Infinity
    : typeof concurrency === "number" && Number.isInteger(concurrency) && concurrency >= 1
    ? concurrency
    : Options.invalid(owner, "concurrency", `a positive integer or "unbounded"`, concurrency)

/** @internal */
export const checkOptions = (owner: string, options: unknown): void => {
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    Options.invalidShape(owner, `options must be an object, got ${Options.show(options)}`)
  }
}

// Effect's built-in tracer keeps its spans nowhere once they end: a span it
// builds can only be seen by code that asks for the current span while it is
// open. Primitives therefore open spans only when another tracer is installed
// (flowtune's recording tracer, OpenTelemetry, the metrics layer...). On a
// sequence of 10 run the way the README shows, the built-in tracer's spans
// were 90% of the CPU time (bench/primitive.ts).
const nativeTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/**
 * Whether a primitive run on this fiber opens a span: tracing is enabled and
 * the tracer is not Effect's built-in one.
 *
 * @internal
 */
export const isRecording = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean =>
  fiber.currentTracer !== nativeTracer && fiber.getFiberRef(FiberRef.currentTracerEnabled)

// Re-wrapping a primitive (to rename or annotate it) must not add a second
// span around the first, so the new primitive runs the old one's body.
const BodyKey = Symbol.for("flowtune/Primitive/body")
const UntracedKey = Symbol.for("flowtune/Primitive/untraced")
const NamedKey = Symbol.for("flowtune/Primitive/named")
const RunOnKey = Symbol.for("flowtune/Primitive/runOn")
interface Internal {
  // `any`: a body of any primitive: `Primitive<In, Out, E, R>` types it at the surface
  [BodyKey]: (input: any) => Effect.Effect<any, any, any>
  // `any`: a body of any primitive: `Primitive<In, Out, E, R>` types it at the surface
  [UntracedKey]: (input: any) => Effect.Effect<any, any, any>
  /** `run` given the running fiber (its tracer decision without a step of its own). */
  // `any`: a body of any primitive: `Primitive<In, Out, E, R>` types it at the surface
  [RunOnKey]: (input: any, fiber: Fiber.RuntimeFiber<unknown, unknown>) => Effect.Effect<any, any, any>
}
const bodyOf = <In, Out, E, R>(self: Primitive.Primitive<In, Out, E, R>): (input: In) => Effect.Effect<Out, E, R> =>
  (self as unknown as Internal)[BodyKey]
/** @internal */
export const untracedOf = <In, Out, E, R>(
  self: Primitive.Primitive<In, Out, E, R>
): (input: In) => Effect.Effect<Out, E, R> => (self as unknown as Internal)[UntracedKey]

const runOnOf = <In, Out, E, R>(
  self: Primitive.Primitive<In, Out, E, R>
): ((input: In, fiber: Fiber.RuntimeFiber<unknown, unknown>) => Effect.Effect<Out, E, R>) | undefined =>
  (self as unknown as Partial<Internal>)[RunOnKey]

const spanAttributes = (kind: string) => ({ "flowtune.primitive.kind": kind })

/** @internal */
export const unsafeMake = <In, Out, E, R>(options: {
  readonly name: string
  readonly kind: Primitive.Kind
  readonly children?: ReadonlyArray<Primitive.Primitive.Any> | undefined
  readonly annotations?: Primitive.Annotations | undefined
  /** The step's logic; children are called through their traced `run`. */
  readonly body: (input: In) => Effect.Effect<Out, E, R>
  /** The same logic calling children untraced (defaults to `body`). */
  readonly untraced?: ((input: In) => Effect.Effect<Out, E, R>) | undefined
  /** A plain function (`fromFunction`): its span, under a recording tracer, is a leaf (`Span.leaf`). */
  readonly leaf?: ((input: In) => Out) | undefined
  /** The untraced logic given the running fiber, run in the same step as the tracer check. */
  readonly direct?: ((input: In, fiber: Fiber.RuntimeFiber<unknown, unknown>) => Effect.Effect<Out, E, R>) | undefined
  /** Extra own properties (a router's routes, a cached primitive's key function). */
  readonly fields?: Readonly<Record<string | symbol, unknown>> | undefined
}): Primitive.Primitive<In, Out, E, R> => {
  const { body, kind } = options
  const name = checkName(kind, options.name)
  checkAnnotations(name, options.annotations)
  const untraced = options.untraced ?? body
  const direct = options.direct
  const spanOptions = { attributes: spanAttributes(kind), captureStackTrace: false }
  // The tracer is looked at once per run, at the outermost primitive: when no
  // span is opened, a sequence runs its steps' untraced bodies directly, which
  // keeps it close to a hand-written Effect chain. (`captureStackTrace: false`:
  // Effect's default call-site capture costs ~20 us per span on Node 20.)
  const leaf = options.leaf
  const runOn = leaf !== undefined
    ? (input: In, fiber: Fiber.RuntimeFiber<unknown, unknown>): Effect.Effect<Out, E, R> =>
      isRecording(fiber) ? Span.leaf(fiber, () => leaf(input), name, spanOptions) : untraced(input)
    : direct === undefined
    ? (input: In, fiber: Fiber.RuntimeFiber<unknown, unknown>): Effect.Effect<Out, E, R> =>
      isRecording(fiber) ? Span.withSpan(fiber, body(input), name, spanOptions) : untraced(input)
    : (input: In, fiber: Fiber.RuntimeFiber<unknown, unknown>): Effect.Effect<Out, E, R> =>
      isRecording(fiber) ? Span.withSpan(fiber, body(input), name, spanOptions) : direct(input, fiber)
  const run = (input: In): Effect.Effect<Out, E, R> => Effect.withFiberRuntime((fiber) => runOn(input, fiber))
  const self = Object.create(Proto)
  if (options.fields !== undefined) {
    for (const key of Reflect.ownKeys(options.fields)) self[key] = options.fields[key]
  }
  self[BodyKey] = body
  self[UntracedKey] = untraced
  self[RunOnKey] = runOn
  self.name = name
  self.kind = kind
  self.children = options.children ?? []
  self.annotations = options.annotations ?? {}
  self.run = run
  return self
}

/**
 * A typed slot for data a combinator gives its primitive when it is built
 * (through `fields` of `unsafeMake`/`makeWith`) and reads back later (a
 * cached primitive's key function, a hedge's counters), so no call site reads
 * a hidden property through a cast. Nothing is ever written to a finished
 * primitive.
 *
 * @internal
 */
export interface Field<A> {
  readonly key: symbol
  /** The `fields` entry that holds `value`. */
  readonly of: (value: A) => Readonly<Record<symbol, unknown>>
  /** The value the primitive was built with, or `undefined` for a primitive built without this field. */
  readonly get: (self: unknown) => A | undefined
}

/** @internal */
export const field = <A>(key: symbol): Field<A> => ({
  key,
  of: (value) => ({ [key]: value }),
  // The one cast: a slot is an own property that the public types do not (all) declare.
  get: (self) =>
    typeof self === "object" && self !== null ? (self as Readonly<Record<symbol, A | undefined>>)[key] : undefined
})

/** @internal */
export const makeWith = <In, Out, E = never, R = never>(
  options: Primitive.MakeWithOptions<In, Out, E, R>
): Primitive.Primitive<In, Out, E, R> => {
  const owner = `Primitive.makeWith`
  if (typeof options !== "object" || options === null) Options.invalidShape(owner, "options must be an object")
  const step = Options.func<Primitive.MakeWithOptions<In, Out, E, R>["run"]>(owner, "run", options.run)
  const children = options.children ?? []
  for (const child of children) {
    if (!isPrimitive(child)) Options.invalidShape(owner, `every child must be a Primitive, got ${Options.show(child)}`)
  }
  const body = (input: In) => Effect.withFiberRuntime<Out, E, R>((fiber) => step(input, fiber))
  return unsafeMake({
    name: options.name,
    kind: options.kind === undefined ? "step" : Options.nonEmptyString(owner, "kind", options.kind),
    children,
    annotations: options.annotations,
    fields: options.fields,
    body,
    direct: step
  })
}

/** @internal */
export const make = <In, Out, E = never, R = never>(
  name: string,
  f: (input: In) => Effect.Effect<Out, E, R>,
  options?: { readonly annotations?: Primitive.Annotations | undefined }
): Primitive.Primitive<In, Out, E, R> =>
  unsafeMake({ name, kind: "step", body: checkFunction(name, "f", f), annotations: options?.annotations })

/**
 * The function of a `fromFunction` step. Such a step cannot suspend, so where
 * it is a branch of `parallel` or the primitive of `forEach` (and no span is
 * opened) it is called in place, in index order, which is the order its fiber
 * would have run it in: a fiber buys a synchronous call nothing.
 *
 * @internal
 */
// `any`: the function of any `fromFunction` step: the step's type checks it at the surface
export const syncFunction: Field<(input: any) => unknown> = field(Symbol.for("flowtune/Primitive/syncFunction"))

/** @internal */
export const fromFunction = <In, Out>(
  name: string,
  f: (input: In) => Out,
  options?: { readonly annotations?: Primitive.Annotations | undefined }
): Primitive.Primitive<In, Out> => {
  checkFunction(name, "f", f)
  return unsafeMake({
    name,
    kind: "step",
    body: (input: In) => Effect.sync(() => f(input)),
    leaf: f,
    annotations: options?.annotations,
    fields: syncFunction.of(f)
  })
}

/** @internal */
export const fromPromise: {
  <In, Out>(
    name: string,
    f: (input: In, signal: AbortSignal) => PromiseLike<Out>,
    options?: { readonly annotations?: Primitive.Annotations | undefined }
  ): Primitive.Primitive<In, Out, Primitive.PromiseRejected>
  <In, Out, E>(
    name: string,
    f: (input: In, signal: AbortSignal) => PromiseLike<Out>,
    options: {
      readonly catch: (error: unknown) => E
      readonly annotations?: Primitive.Annotations | undefined
    }
  ): Primitive.Primitive<In, Out, E>
} = <In, Out, E>(
  name: string,
  f: (input: In, signal: AbortSignal) => PromiseLike<Out>,
  options?: {
    readonly catch?: ((error: unknown) => E) | undefined
    readonly annotations?: Primitive.Annotations | undefined
  }
): Primitive.Primitive<In, Out, E | Primitive.PromiseRejected> => {
  checkFunction(name, "f", f)
  if (options?.catch !== undefined) checkFunction(name, "catch", options.catch)
  const onError: (error: unknown) => E | Primitive.PromiseRejected = options?.catch ??
    ((cause: unknown) => new Primitive.PromiseRejected({ primitive: name, cause }))
  return unsafeMake({
    name,
    kind: "step",
    annotations: options?.annotations,
    body: (input: In) => Effect.tryPromise({ try: (signal) => f(input, signal), catch: onError })
  })
}

/** @internal */
export const map = dual<
  <Out, B>(f: (output: Out) => B) => <In, E, R>(
    self: Primitive.Primitive<In, Out, E, R>
  ) => Primitive.Primitive<In, B, E, R>,
  <In, Out, E, R, B>(
    self: Primitive.Primitive<In, Out, E, R>,
    f: (output: Out) => B
  ) => Primitive.Primitive<In, B, E, R>
>(2, (self, f) => {
  const untraced = untracedOf(self)
  return unsafeMake({
    ...inherit(self),
    body: (input) => Effect.map(self.run(input), f),
    untraced: (input) => Effect.map(untraced(input), f)
  })
})

/** @internal */
export const withName = dual<
  (name: string) => <In, Out, E, R>(self: Primitive.Primitive<In, Out, E, R>) => Primitive.Primitive<In, Out, E, R>,
  <In, Out, E, R>(self: Primitive.Primitive<In, Out, E, R>, name: string) => Primitive.Primitive<In, Out, E, R>
>(2, (self, name) => {
  // A named sequence stays one step when sequenced again: marked when built, not patched after.
  return unsafeMake({
    ...inherit(self),
    name,
    body: bodyOf(self),
    untraced: untracedOf(self),
    fields: { [NamedKey]: true }
  })
})

/** @internal */
export const annotate = dual<
  (annotations: Primitive.Annotations) => <In, Out, E, R>(
    self: Primitive.Primitive<In, Out, E, R>
  ) => Primitive.Primitive<In, Out, E, R>,
  <In, Out, E, R>(
    self: Primitive.Primitive<In, Out, E, R>,
    annotations: Primitive.Annotations
  ) => Primitive.Primitive<In, Out, E, R>
>(2, (self, annotations) =>
  unsafeMake({
    ...inherit(self),
    annotations: { ...self.annotations, ...annotations },
    body: bodyOf(self),
    untraced: untracedOf(self)
  }))

/** @internal */
export const around = dual<
  <In, Out, E, R, Out2, E2, R2>(
    f: (input: In, next: Effect.Effect<Out, E, R>) => Effect.Effect<Out2, E2, R2>
  ) => (self: Primitive.Primitive<In, Out, E, R>) => Primitive.Primitive<In, Out2, E2, R2>,
  <In, Out, E, R, Out2, E2, R2>(
    self: Primitive.Primitive<In, Out, E, R>,
    f: (input: In, next: Effect.Effect<Out, E, R>) => Effect.Effect<Out2, E2, R2>
  ) => Primitive.Primitive<In, Out2, E2, R2>
>(2, (self, f) => {
  const body = bodyOf(self)
  const untraced = untracedOf(self)
  return unsafeMake({
    ...inherit(self),
    body: (input) => f(input, body(input)),
    untraced: (input) => f(input, untraced(input))
  })
})

const inherit = (self: Primitive.Primitive.Any) => ({
  name: self.name,
  kind: self.kind,
  children: self.children,
  annotations: self.annotations
})

const isAnonymousSequence = (p: Primitive.Primitive.Any) => p.kind === "sequence" && !Object.hasOwn(p, NamedKey)

/** @internal */
export const sequence = (...steps: ReadonlyArray<Primitive.Primitive.Any>): Primitive.Primitive.Any => {
  if (steps.length === 0) return Options.invalidShape("sequence", "a sequence needs at least one step")
  for (const step of steps) {
    if (!isPrimitive(step)) {
      return Options.invalidShape("sequence", `every step must be a Primitive, got ${Options.show(step)}`)
    }
  }
  const flat = steps.flatMap((step) => isAnonymousSequence(step) ? step.children : [step])
  const chain =
    (runs: ReadonlyArray<(input: unknown) => Effect.Effect<unknown, unknown, unknown>>) => (input: unknown) => {
      let effect = runs[0]!(input)
      for (let i = 1; i < runs.length; i++) effect = Effect.flatMap(effect, runs[i]!)
      return effect
    }
  return unsafeMake({
    name: `sequence(${flat.map((s) => s.name).join(" >> ")})`,
    kind: "sequence",
    children: flat,
    body: chain(flat.map((step) => step.run)),
    // No span is opened in this run: the steps' bodies are chained directly,
    // without one tracer check per step.
    untraced: chain(flat.map(untracedOf))
  })
}

/** @internal */
export const andThen = dual<
  <Out, Out2, E2, R2>(that: Primitive.Primitive<Out, Out2, E2, R2>) => <In, E, R>(
    self: Primitive.Primitive<In, Out, E, R>
  ) => Primitive.Primitive<In, Out2, E | E2, R | R2>,
  <In, Out, E, R, Out2, E2, R2>(
    self: Primitive.Primitive<In, Out, E, R>,
    that: Primitive.Primitive<Out, Out2, E2, R2>
  ) => Primitive.Primitive<In, Out2, E | E2, R | R2>
>(
  2,
  // `any`: the generic `sequence` overloads cannot be resolved against the type parameters of this signature.
  (self, that) => sequence(self, that) as any
)

/**
 * The queue of a batched primitive (`Batch.make`), which `forEach` hands a
 * whole list to.
 *
 * @internal
 */
// `any`: items of any batched primitive: `forEach`'s signature types them
export const itemQueue: Field<ItemQueue<any, any, any>> = field(Symbol.for("flowtune/Primitive/itemQueue"))

/** @internal */
export const run = <In, Out, E, R>(
  self: Primitive.Primitive<In, Out, E, R>,
  input: In,
  options?: WorkflowContext.MakeOptions
): Effect.Effect<Out, E, Exclude<R, WorkflowContext.WorkflowContext>> => {
  if (options !== undefined) return WorkflowContext.withContext(options)(self.run(input))
  const runOn = runOnOf(self)
  // Every constructor builds through `unsafeMake`; an object that only implements the interface runs its `run`.
  return runOn === undefined
    ? WorkflowContext.ensure(self.run(input))
    : WorkflowContext.ensureWith((fiber) => runOn(input, fiber))
}
