/**
 * Writing the running fiber's context directly, for the two places that put
 * a service in it around an effect on every run: the run context
 * (`WorkflowContext`) and flowtune's spans (`span.ts`).
 *
 * A write through `FiberRef.set` is `FiberRefs.updateAs`: it copies the
 * fiber's refs and first compares the new context with the old one, which
 * hashes the whole new `Context` (`Hash.cached` even defines a property on
 * it). The value here always differs (it holds a new service), so the write
 * skips that check; and the restore, in the common case where the body left
 * the fiber's refs as it found them (or restored them, as nested writes do),
 * puts the refs from before the write back whole instead of copying them again.
 *
 * @internal
 */
import type * as Context from "effect/Context"
import * as Equal from "effect/Equal"
import type * as Fiber from "effect/Fiber"
import type * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import type * as RuntimeFlags from "effect/RuntimeFlags"

/**
 * `setFiberRef` (what `FiberRef.set` calls), `setFiberRefs`, `_fiberRefs` and
 * `currentRuntimeFlags` are on Effect's fiber runtime (effect 3.22) but not on
 * the public `RuntimeFiber` type. `_fiberRefs` is read instead of
 * `getFiberRefs()`, which first writes the runtime flags into the refs (a new
 * object on every call). test/Span.test.ts and test/WorkflowContext.test.ts
 * break if they move.
 *
 * @internal
 */
export interface FiberInternals {
  setFiberRef<X>(fiberRef: FiberRef.FiberRef<X>, value: X): void
  setFiberRefs(fiberRefs: FiberRefs.FiberRefs): void
  readonly _fiberRefs: FiberRefs.FiberRefs
  readonly currentRuntimeFlags: RuntimeFlags.RuntimeFlags
}

/** @internal */
export const internalsOf = (fiber: Fiber.RuntimeFiber<unknown, unknown>): FiberInternals =>
  fiber as unknown as FiberInternals

/** `FiberRefs.updateAs` for the context, less its check that the value changed. */
const withContext = (
  refs: FiberRefs.FiberRefs,
  fiberId: FiberId.Runtime,
  context: Context.Context<never>
): FiberRefs.FiberRefs => {
  const locals = new Map(refs.locals)
  const stack = locals.get(FiberRef.currentContext)
  const entry = [fiberId, context] as const
  if (stack === undefined) locals.set(FiberRef.currentContext, [entry])
  else if (stack[0][0] === fiberId || Equal.equals(stack[0][0], fiberId)) {
    locals.set(FiberRef.currentContext, [entry, ...stack.slice(1)])
  } else locals.set(FiberRef.currentContext, [entry, ...stack])
  return FiberRefs.unsafeMake(locals)
}

/**
 * Makes `context` the fiber's context and returns what puts the previous one
 * back (to be called once, on the same fiber, when the effect it was written
 * for exits).
 *
 * @internal
 */
export const swapContext = (
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  context: Context.Context<never>
): () => void => {
  const internals = internalsOf(fiber)
  const previous = fiber.currentContext
  const before = internals._fiberRefs
  const written = withContext(before, fiber.id(), context)
  internals.setFiberRefs(written)
  return () => {
    if (internals._fiberRefs === written) internals.setFiberRefs(before)
    else internals.setFiberRef(FiberRef.currentContext, previous)
  }
}
