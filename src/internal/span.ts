import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as RuntimeFlags from "effect/RuntimeFlags"
import * as Tracer from "effect/Tracer"
import { internalsOf, swapContext } from "./fiberContext.js"

/**
 * `Effect.withSpan` for flowtune's own spans (a primitive, a cache operation,
 * a batch call), given the fiber that runs them.
 *
 * `Effect.withSpan` is `useSpan` + `onExit` + `provideService`, which is a
 * `withFiberRuntime`, two `uninterruptibleMask`s, an `acquireUseRelease`
 * around a `FiberRef` get/set/set, a `context()` read and an `endSpan` effect:
 * about 30 run-loop steps per span, and the OpenTelemetry tracer wraps every
 * step in `context.with` (its `context` hook). Here the caller already holds
 * the fiber, so the span is made and put in the fiber's context directly (what
 * `FiberRef.set` does, without its step), and the span ends and the context is
 * restored in the one success/failure continuation: three steps of our own
 * (an `uninterruptible` region, the continuation, and `interruptible` for the
 * body when the caller was interruptible), so an interrupted body still ends
 * its span with the interruption, as `onExit` does. The two context writes
 * are the rest of the cost (each copies the fiber's refs), so the first skips
 * `FiberRefs.updateAs`'s equality check and the second, in the common case,
 * puts the previous refs back whole.
 *
 * What it keeps from Effect's `unsafeMakeSpan`/`endSpan` (effect 3.22): the
 * parent is the fiber's `Tracer.ParentSpan` with `DisablePropagation` spans
 * skipped (or none: a root); the links from `Effect.linkSpans` before the
 * given ones; the attributes from `Effect.annotateSpans`, then the given ones;
 * the clock from the fiber's default services and `withTracerTiming(false)`
 * (times 0); a span already ended by its body is not ended again. The tracer's
 * `context` hook needs nothing: the fiber calls it on every step with
 * `fiber.currentSpan`, which the context write updates.
 *
 * Deferred to `Effect.withSpan`: a span not given `captureStackTrace: false`
 * (Effect's default captures an `Error` per span, to add the caller's line on
 * failure: flowtune's spans are opened inside flowtune, where that line says
 * nothing, so they all pass `false`), and tracing disabled (Effect then makes a
 * no-op span without calling the tracer). The `parent`/`root`/`context`
 * options are not taken.
 *
 * One difference, shared with `Effect.withSpan`: the span starts in the
 * caller's step, before the uninterruptible region is entered, so an
 * interruption that arrives in that one gap leaves the span unended (Effect
 * starts its span in `useSpan`'s `withFiberRuntime`, before `onExit` masks
 * interruption); here the context is not restored either, on a fiber that is
 * then only unwinding.
 *
 * @internal
 */
export const withSpan = <A, E, R>(
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  self: Effect.Effect<A, E, R>,
  name: string,
  options: SpanOptions
): Effect.Effect<A, E, R> => {
  if (options.captureStackTrace !== false || !fiber.getFiberRef(FiberRef.currentTracerEnabled)) {
    return Effect.withSpan(self, name, options)
  }
  const internals = internalsOf(fiber)
  const context = fiber.currentContext
  const { clock, span, timing } = open(fiber, context, name, options)
  const restore = swapContext(fiber, Context.add(context, Tracer.ParentSpan, span))
  const end = <X extends Exit.Exit<A, E>>(exit: X): X => {
    restore()
    if (span.status._tag !== "Ended") span.end(timing ? clock.unsafeCurrentTimeNanos() : zero, exit)
    return exit
  }
  const interruptible = RuntimeFlags.interruption(internals.currentRuntimeFlags)
  const handled = Effect.matchCauseEffect(interruptible ? Effect.interruptible(self) : self, {
    onFailure: (cause) => end(Exit.failCause(cause)),
    onSuccess: (value) => end(Exit.succeed(value))
  })
  return interruptible ? Effect.uninterruptible(handled) : handled
}

/**
 * The span of a plain function (a `fromFunction` step) under a recording
 * tracer: opened, the function called, ended, in the caller's step. A
 * function runs no effect, so nothing can start a span under it or read the
 * current one: its span is not made current, which saves both context writes.
 * What the tracer receives is what `withSpan` gives it (parent, links,
 * annotations, times, the exit; a throw ends the span with a defect). The one
 * difference: code inside the function that asks OpenTelemetry for the active
 * span (a log correlation) sees the enclosing primitive's span.
 *
 * @internal
 */
export const leaf = <A>(
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  f: () => A,
  name: string,
  options: SpanOptions
): Effect.Effect<A> => {
  if (options.captureStackTrace !== false || !fiber.getFiberRef(FiberRef.currentTracerEnabled)) {
    return Effect.withSpan(Effect.sync(f), name, options)
  }
  const { clock, span, timing } = open(fiber, fiber.currentContext, name, options)
  let exit: Exit.Exit<A>
  try {
    exit = Exit.succeed(f())
  } catch (defect) {
    exit = Exit.die(defect)
  }
  span.end(timing ? clock.unsafeCurrentTimeNanos() : zero, exit)
  return exit
}

/** Makes the span as Effect's `unsafeMakeSpan` does (see `withSpan`). */
const open = (
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  context: Context.Context<never>,
  name: string,
  options: SpanOptions
) => {
  const tracer = fiber.currentTracer
  const clock = fiber.currentDefaultServices.unsafeMap.get(Clock.Clock.key) as Clock.Clock
  const timing = fiber.getFiberRef(FiberRef.currentTracerTimingEnabled)
  const linked = fiber.getFiberRef(FiberRef.currentTracerSpanLinks)
  const links = Chunk.isEmpty(linked)
    ? options.links ?? noLinks
    : options.links === undefined
    ? Chunk.toReadonlyArray(linked)
    : [...Chunk.toReadonlyArray(linked), ...options.links]
  const span = tracer.span(
    name,
    parentOf(context.unsafeMap.get(Tracer.ParentSpan.key) as Tracer.AnySpan | undefined),
    Context.empty(),
    links,
    timing ? clock.unsafeCurrentTimeNanos() : zero,
    options.kind ?? "internal",
    options
  )
  const annotations = fiber.getFiberRef(FiberRef.currentTracerSpanAnnotations)
  if (HashMap.size(annotations) > 0) HashMap.forEach(annotations, (value, key) => span.attribute(key, value))
  const attributes = options.attributes
  if (attributes !== undefined) { for (const key in attributes) span.attribute(key, attributes[key]) }
  return { clock, span, timing }
}

/** The options of `withSpan`: those of `Effect.withSpan` that flowtune's spans use. */
export interface SpanOptions extends Tracer.SpanOptions {
  readonly attributes?: Readonly<Record<string, unknown>> | undefined
  readonly kind?: Tracer.SpanKind | undefined
  readonly links?: ReadonlyArray<Tracer.SpanLink> | undefined
  readonly captureStackTrace?: boolean | undefined
  readonly parent?: undefined
  readonly root?: undefined
  readonly context?: undefined
}

const zero = BigInt(0)
const noLinks: ReadonlyArray<Tracer.SpanLink> = []
const none = Option.none<Tracer.AnySpan>()

/** Effect's `filterDisablePropagation`: a span that disables propagation hands its children to its own parent. */
const parentOf = (span: Tracer.AnySpan | undefined): Option.Option<Tracer.AnySpan> => {
  while (span !== undefined && Context.get(span.context, Tracer.DisablePropagation)) {
    if (span._tag !== "Span") return none
    span = Option.getOrUndefined(span.parent)
  }
  return span === undefined ? none : Option.some(span)
}
