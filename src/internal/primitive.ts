import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import { pipeArguments } from "effect/Pipeable"
import type * as Schedule from "effect/Schedule"
import * as Primitive from "../Primitive.js"
import * as WorkflowContext from "../WorkflowContext.js"
import { collectFailFast, fanOut } from "./fanOut.js"

/** @internal */
export const TypeId: unique symbol = Symbol.for("flowtune/Primitive")

const variance = {
  _In: (_: unknown) => _,
  _Out: (_: never) => _,
  _E: (_: never) => _,
  _R: (_: never) => _
}

const Proto = {
  [TypeId]: variance,
  pipe() {
    return pipeArguments(this, arguments)
  },
  toString(this: Primitive.Primitive.Any) {
    return `Primitive(${this.name})`
  },
  toJSON(this: Primitive.Primitive.Any) {
    return {
      _id: "Primitive",
      name: this.name,
      kind: this.kind,
      children: this.children.map((c: Primitive.Primitive.Any) => c.toJSON())
    }
  }
}

/** @internal */
export const isPrimitive = (u: unknown): u is Primitive.Primitive.Any =>
  typeof u === "object" && u !== null && TypeId in u

const invalid = (primitive: string, reason: string): never => {
  // A malformed workflow is a programming error: it is reported where the
  // workflow is defined, not on the first request that happens to run it.
  throw new Primitive.InvalidPrimitive({ primitive, reason })
}

const checkName = (name: string) => {
  if (typeof name !== "string" || name.trim().length === 0) invalid(String(name), "the name must be a non-empty string")
}

const checkConcurrency = (name: string, concurrency: number | "unbounded" | undefined): number => {
  if (concurrency === undefined || concurrency === "unbounded") return Infinity
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    return invalid(name, `concurrency must be a positive integer or "unbounded", got ${concurrency}`)
  }
  return concurrency
}

// Re-wrapping a primitive (to rename or annotate it) must not add a second
// span around the first, so the new primitive runs the old one's body.
const BodyKey = Symbol.for("flowtune/Primitive/body")
const UntracedKey = Symbol.for("flowtune/Primitive/untraced")
const NamedKey = Symbol.for("flowtune/Primitive/named")
interface Internal {
  [BodyKey]: (input: any) => Effect.Effect<any, any, any>
  [UntracedKey]: (input: any) => Effect.Effect<any, any, any>
  [NamedKey]?: boolean
}
const bodyOf = <In, Out, E, R>(self: Primitive.Primitive<In, Out, E, R>): (input: In) => Effect.Effect<Out, E, R> =>
  (self as unknown as Internal)[BodyKey]
const untracedOf = <In, Out, E, R>(
  self: Primitive.Primitive<In, Out, E, R>
): (input: In) => Effect.Effect<Out, E, R> => (self as unknown as Internal)[UntracedKey]

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
}): Primitive.Primitive<In, Out, E, R> => {
  checkName(options.name)
  const { body, kind, name } = options
  const untraced = options.untraced ?? body
  const spanOptions = { attributes: spanAttributes(kind), captureStackTrace: false }
  // The tracer switch is read once per run, at the outermost primitive: when
  // tracing is off, a sequence runs its steps' untraced bodies directly, which
  // keeps it within a few percent of a hand-written Effect chain. (Effect's own
  // `withSpan` still builds a no-op span when the tracer is disabled, and its
  // default call-site stack capture costs ~20 us per span on Node 20.)
  const run = (input: In): Effect.Effect<Out, E, R> =>
    Effect.withFiberRuntime((fiber) =>
      fiber.getFiberRef(FiberRef.currentTracerEnabled)
        ? Effect.withSpan(body(input), name, spanOptions)
        : untraced(input)
    )
  const self = Object.create(Proto)
  self[BodyKey] = body
  self[UntracedKey] = untraced
  self.name = name
  self.kind = kind
  self.children = options.children ?? []
  self.annotations = options.annotations ?? {}
  self.run = run
  return self
}

/** @internal */
export const make = <In, Out, E = never, R = never>(
  name: string,
  f: (input: In) => Effect.Effect<Out, E, R>,
  options?: { readonly annotations?: Primitive.Annotations | undefined }
): Primitive.Primitive<In, Out, E, R> => unsafeMake({ name, kind: "step", body: f, annotations: options?.annotations })

/** @internal */
export const fromFunction = <In, Out>(
  name: string,
  f: (input: In) => Out,
  options?: { readonly annotations?: Primitive.Annotations | undefined }
): Primitive.Primitive<In, Out> =>
  unsafeMake({
    name,
    kind: "step",
    body: (input: In) => Effect.sync(() => f(input)),
    annotations: options?.annotations
  })

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
  const renamed = unsafeMake({ ...inherit(self), name, body: bodyOf(self), untraced: untracedOf(self) })
  ;(renamed as unknown as Internal)[NamedKey] = true
  return renamed
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

const isAnonymousSequence = (p: Primitive.Primitive.Any) =>
  p.kind === "sequence" && !(p as unknown as Internal)[NamedKey]

/** @internal */
export const sequence = (...steps: ReadonlyArray<Primitive.Primitive.Any>): Primitive.Primitive.Any => {
  if (steps.length === 0) return invalid("sequence", "a sequence needs at least one step")
  for (const step of steps) {
    if (!isPrimitive(step)) return invalid("sequence", `every step must be a Primitive, got ${String(step)}`)
  }
  const flat = steps.flatMap((step) => isAnonymousSequence(step) ? step.children : [step])
  const runs = flat.map((step) => step.run)
  const body = (input: unknown) => {
    let effect = runs[0]!(input)
    for (let i = 1; i < runs.length; i++) effect = Effect.flatMap(effect, runs[i]!)
    return effect
  }
  return unsafeMake({
    name: `sequence(${flat.map((s) => s.name).join(" >> ")})`,
    kind: "sequence",
    children: flat,
    body
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
>(2, (self, that) => sequence(self, that) as any)

const runBranches = (
  name: string,
  branches: ReadonlyArray<Primitive.Primitive.Any>,
  keys: ReadonlyArray<string>,
  concurrency: number,
  failFast: boolean
) =>
(input: unknown) =>
  Effect.flatMap(Effect.serviceOption(WorkflowContext.WorkflowContext), (context) =>
    fanOut(
      branches.length,
      context._tag === "Some"
        ? (i) =>
          Effect.provideService(
            branches[i]!.run(input),
            WorkflowContext.WorkflowContext,
            WorkflowContext.child(context.value, keys[i]!)
          )
        : (i) => branches[i]!.run(input),
      { concurrency, failFast }
    ))

/** @internal */
export const parallel = (
  branches: ReadonlyArray<Primitive.Primitive.Any> | Readonly<Record<string, Primitive.Primitive.Any>>,
  options?: Primitive.ParallelOptions
): Primitive.Primitive.Any => {
  const isTuple = Array.isArray(branches)
  const keys = isTuple ? branches.map((b: Primitive.Primitive.Any) => b.name) : Object.keys(branches)
  const list: ReadonlyArray<Primitive.Primitive.Any> = isTuple ? branches : Object.values(branches)
  const name = options?.name ?? `parallel(${list.map((b) => b.name).join(" | ")})`
  if (list.length === 0) return invalid(name, "a parallel fan-out needs at least one branch")
  for (const branch of list) {
    if (!isPrimitive(branch)) return invalid(name, `every branch must be a Primitive, got ${String(branch)}`)
  }
  const concurrency = checkConcurrency(name, options?.concurrency)
  const failFast = (options?.mode ?? "fail-fast") === "fail-fast"
  const run = runBranches(name, list, keys, concurrency, failFast)
  const shape = (values: ReadonlyArray<unknown>) => {
    if (isTuple) return values
    const record: Record<string, unknown> = {}
    for (let i = 0; i < keys.length; i++) record[keys[i]!] = values[i]
    return record
  }
  const body = failFast
    ? (input: unknown) => Effect.map(Effect.flatMap(run(input), collectFailFast), shape)
    : (input: unknown) => Effect.map(run(input), shape)
  return unsafeMake({ name, kind: "parallel", children: list, body })
}

/** @internal */
export const forEach = dual<
  (options?: Primitive.ForEachOptions) => <In, Out, E, R>(
    self: Primitive.Primitive<In, Out, E, R>
  ) => Primitive.Primitive<ReadonlyArray<In>, Array<Out>, E, R>,
  <In, Out, E, R>(
    self: Primitive.Primitive<In, Out, E, R>,
    options?: Primitive.ForEachOptions
  ) => Primitive.Primitive<ReadonlyArray<In>, Array<Out>, E, R>
>((args) => isPrimitive(args[0]), (self, options) => {
  const name = options?.name ?? `forEach(${self.name})`
  const concurrency = checkConcurrency(name, options?.concurrency)
  return unsafeMake({
    name,
    kind: "forEach",
    children: [self],
    body: (items: ReadonlyArray<any>) =>
      Effect.flatMap(
        fanOut(items.length, (i) => self.run(items[i]), { concurrency, failFast: true }),
        collectFailFast
      )
  })
})

/** @internal */
export const retry = dual<
  <E, R2>(options: Primitive.RetryOptions<E, R2>) => <In, Out, R>(
    self: Primitive.Primitive<In, Out, E, R>
  ) => Primitive.Primitive<In, Out, E, R | R2>,
  <In, Out, E, R, R2>(
    self: Primitive.Primitive<In, Out, E, R>,
    options: Primitive.RetryOptions<E, R2>
  ) => Primitive.Primitive<In, Out, E, R | R2>
>(2, (self, options) => {
  const policy: { schedule: Schedule.Schedule<any, any, any>; while?: (e: any) => boolean } = {
    schedule: options.schedule
  }
  if (options.while) policy.while = options.while
  return unsafeMake({
    name: options.name ?? `retry(${self.name})`,
    kind: "retry",
    children: [self],
    body: (input) => Effect.retry(self.run(input), policy as any) as Effect.Effect<any, any, any>
  })
})

/** @internal */
export const timeout = dual<
  (duration: Duration.DurationInput) => <In, Out, E, R>(
    self: Primitive.Primitive<In, Out, E, R>
  ) => Primitive.Primitive<In, Out, E | Primitive.PrimitiveTimeout, R>,
  <In, Out, E, R>(
    self: Primitive.Primitive<In, Out, E, R>,
    duration: Duration.DurationInput
  ) => Primitive.Primitive<In, Out, E | Primitive.PrimitiveTimeout, R>
>(2, (self, input) => {
  const name = `timeout(${self.name})`
  const duration = Duration.decodeUnknown(input)
  if (duration._tag === "None" || Duration.lessThanOrEqualTo(duration.value, Duration.zero)) {
    return invalid(name, `the timeout must be a positive duration, got ${String(input)}`)
  }
  const limit = duration.value
  return unsafeMake({
    name,
    kind: "timeout",
    children: [self],
    body: (input) =>
      Effect.timeoutFail(self.run(input), {
        duration: limit,
        onTimeout: () => new Primitive.PrimitiveTimeout({ primitive: self.name, duration: limit })
      })
  })
})

/** @internal */
export const fallback = (
  self: Primitive.Primitive.Any,
  alternatives: ReadonlyArray<Primitive.Primitive.Any>,
  options?: Primitive.FallbackOptions<any>
): Primitive.Primitive.Any => {
  const name = options?.name ?? `fallback(${[self, ...alternatives].map((p) => p.name).join(" ?? ")})`
  if (alternatives.length === 0) return invalid(name, "a fallback needs at least one alternative")
  const chain = [self, ...alternatives]
  const shouldFallBack = options?.when ?? (() => true)
  const body = (input: unknown) => {
    const attempt = (i: number): Effect.Effect<unknown, unknown, unknown> =>
      i === chain.length - 1
        ? chain[i]!.run(input)
        : Effect.catchIf(chain[i]!.run(input), shouldFallBack, (error) =>
          Effect.zipRight(
            Effect.annotateCurrentSpan({
              "flowtune.fallback.from": chain[i]!.name,
              "flowtune.fallback.to": chain[i + 1]!.name,
              "flowtune.fallback.error": errorTag(error)
            }),
            attempt(i + 1)
          ))
    return attempt(0)
  }
  return unsafeMake({ name, kind: "fallback", children: chain, body })
}

const errorTag = (error: unknown): string =>
  typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : String(error)

/** @internal */
export const run = <In, Out, E, R>(
  self: Primitive.Primitive<In, Out, E, R>,
  input: In,
  options?: WorkflowContext.MakeOptions
): Effect.Effect<Out, E, Exclude<R, WorkflowContext.WorkflowContext>> =>
  options === undefined
    ? WorkflowContext.ensure(self.run(input))
    : WorkflowContext.withContext(options)(self.run(input))
