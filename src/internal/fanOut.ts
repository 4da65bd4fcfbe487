import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Runtime from "effect/Runtime"

/** @internal */
export interface FanOutOptions {
  /** How many branches may run at once; `Infinity` for all of them. */
  readonly concurrency: number
  /** Interrupt the running siblings at the first failure and stop starting new ones. */
  readonly failFast: boolean
  /** The context of branch `index`'s fiber, given the parent's (default: the parent's). */
  readonly context?: ((parent: Context.Context<never>, index: number) => Context.Context<never>) | undefined
}

/**
 * Runs `count` effects concurrently and returns every exit, in order.
 *
 * Branches run as root fibers that share the parent's context, FiberRefs and
 * runtime flags (so spans nest and services resolve as usual), instead of
 * child fibers: on Node 20 `Effect.all` with unbounded concurrency over 10
 * trivial effects measured ~210 us against ~57 us this way (scratch probe,
 * `npm run bench -- primitive` tracks it), the difference being the FiberRefs
 * fork/join that child fibers pay. The price is that FiberRef changes made
 * inside a branch are not merged back into the parent, which no combinator
 * here relies on. Structured concurrency is kept by hand: the parent waits for
 * every branch, and its interruption (or a fail-fast failure) interrupts the
 * running branches and waits for their finalizers before it returns.
 *
 * @internal
 */
export const fanOut = <A, E, R>(
  count: number,
  branch: (index: number) => Effect.Effect<A, E, R>,
  options: FanOutOptions
): Effect.Effect<Array<Exit.Exit<A, E>>, never, R> =>
  Effect.withFiberRuntime<Array<Exit.Exit<A, E>>, never, R>((parent, status) => {
    const parentContext = parent.getFiberRef(FiberRef.currentContext)
    const fiberRefs = parent.getFiberRefs()
    const runtime = Runtime.make<R>({
      // The parent fiber's context is, by construction, the `R` this effect requires.
      // `any`: the parent's context is the caller's `R`; the fiber's context slot is typed `Context<never>`
      context: parentContext as any,
      runtimeFlags: status.runtimeFlags,
      fiberRefs
    })
    const contextOf = options.context
    // A branch's own context is set when its fiber is created (one runtime
    // object per branch), not provided by an extra effect inside the branch.
    const runtimeOf = contextOf === undefined ? () => runtime : (index: number) =>
      Runtime.make<R>({
        context: contextOf(parentContext, index) as any, // the parent's context plus a service: still `R`
        runtimeFlags: status.runtimeFlags,
        fiberRefs
      })
    const parentId = parent.id()
    return Effect.async<Array<Exit.Exit<A, E>>>((resume) => {
      const exits = new Array<Exit.Exit<A, E>>(count)
      const running = new Set<Fiber.RuntimeFiber<A, E>>()
      let next = 0
      let finished = 0
      let failed = false
      let pumping = false
      let cancelled = false

      const complete = () => {
        if (!cancelled && finished === next && (failed || next === count)) {
          cancelled = true
          resume(Effect.succeed(failed ? exits.slice(0, next) : exits))
        }
      }

      const onExit = (index: number, fiber: Fiber.RuntimeFiber<A, E>) => (exit: Exit.Exit<A, E>) => {
        running.delete(fiber)
        exits[index] = exit
        finished++
        if (options.failFast && !failed && Exit.isFailure(exit)) {
          failed = true
          for (const sibling of running) sibling.unsafeInterruptAsFork(parentId)
        }
        pump()
      }

      // A loop rather than recursion: branches that finish synchronously
      // would otherwise grow the stack with every item of a large map.
      const pump = () => {
        if (pumping) return
        pumping = true
        while (!failed && !cancelled && next < count && running.size < options.concurrency) {
          const index = next++
          const fiber = Runtime.runFork(runtimeOf(index), branch(index))
          const exit = fiber.unsafePoll()
          if (exit !== null) {
            onExit(index, fiber)(exit)
          } else {
            running.add(fiber)
            fiber.addObserver(onExit(index, fiber))
          }
        }
        pumping = false
        complete()
      }

      pump()
      return Effect.suspend(() => {
        cancelled = true
        return Fiber.interruptAll(Array.from(running))
      })
    })
  })

/**
 * A queue that answers every item it is offered through a callback (a batched
 * primitive's, found on the primitive through `itemQueue` in primitive.ts), so that a list
 * can be handed to it without a fiber per item.
 *
 * @internal
 */
export interface ItemQueue<In, Out, E> {
  /**
   * Queues `item`; `answer` is called once with its exit (possibly at once),
   * unless the returned ticket is withdrawn first. Throws, having queued
   * nothing, when the item cannot be queued.
   */
  readonly offer: (item: In, answer: (exit: Exit.Exit<Out, E>) => void) => unknown
  /** Takes an unanswered item out of the queue: no answer follows. */
  readonly withdraw: (ticket: unknown) => void
}

/**
 * `fanOut` over a list handed to a queue: the items are offered in one step
 * (at most `concurrency` unanswered at a time, the next offered as one is
 * answered) and awaited together, on the calling fiber. Same contract as
 * `fanOut`: the exits in order; with `failFast`, the first failure withdraws
 * the unanswered items (their exits are interruptions) and offers no more;
 * interrupting the caller withdraws every unanswered item.
 *
 * @internal
 */
export const fanOutQueued = <In, Out, E>(
  items: ReadonlyArray<In>,
  queue: ItemQueue<In, Out, E>,
  options: Pick<FanOutOptions, "concurrency" | "failFast">
): Effect.Effect<Array<Exit.Exit<Out, E>>> =>
  // The items are offered in the calling fiber's own step, not inside an
  // `Effect.async` register: offering 1000 items there measured 4x slower
  // (630 against 150 ns an item). Its interruption is watched from then on.
  Effect.uninterruptibleMask((restore) =>
    Effect.withFiberRuntime((parent) => {
      const count = items.length
      const exits = new Array<Exit.Exit<Out, E>>(count)
      const tickets = new Array<unknown>(count)
      let next = 0
      let finished = 0
      let failed = false
      let pumping = false
      let done = false
      let resume: ((result: Effect.Effect<Array<Exit.Exit<Out, E>>>) => void) | undefined

      const withdrawAll = () => {
        const interrupted: Exit.Exit<Out, E> = Exit.interrupt(parent.id())
        for (let i = 0; i < next; i++) {
          if (exits[i] === undefined) {
            exits[i] = interrupted
            finished++
            queue.withdraw(tickets[i])
          }
        }
      }

      const settle = (index: number, exit: Exit.Exit<Out, E>) => {
        if (exits[index] !== undefined) return
        exits[index] = exit
        finished++
        if (options.failFast && !failed && Exit.isFailure(exit)) {
          failed = true
          withdrawAll()
        }
        pump()
      }

      const result = () => Effect.succeed(failed ? exits.slice(0, next) : exits)

      // A loop rather than recursion: a queue may answer during `offer`.
      const pump = () => {
        if (pumping || done) return
        pumping = true
        while (!failed && next < count && next - finished < options.concurrency) {
          const index = next++
          try {
            tickets[index] = queue.offer(items[index]!, (exit) => settle(index, exit))
          } catch (error) {
            settle(index, Exit.die(error))
          }
        }
        pumping = false
        if (finished === next && (failed || next === count)) {
          done = true
          if (resume !== undefined) resume(result())
        }
      }

      pump()
      if (done) return result()
      return Effect.onInterrupt(
        restore(Effect.async<Array<Exit.Exit<Out, E>>>((resumeWith) => {
          if (done) resumeWith(result())
          else resume = resumeWith
        })),
        () =>
          Effect.sync(() => {
            done = true
            withdrawAll()
          })
      )
    })
  )

/**
 * A plain function's outcome as the exit its fiber would have ended with (a
 * throw is a defect).
 *
 * @internal
 */
export const callExit = (f: (input: unknown) => unknown, input: unknown): Exit.Exit<unknown> => {
  try {
    return Exit.succeed(f(input))
  } catch (error) {
    return Exit.die(error)
  }
}

/**
 * The exits of `count` effects run in turn on the calling fiber (the first
 * failure stops a fail-fast run, as `fanOut` starts no branch after it).
 *
 * @internal
 */
export const inTurn = <A, E, R>(
  count: number,
  effect: (index: number) => Effect.Effect<A, E, R>,
  failFast: boolean
): Effect.Effect<Array<Exit.Exit<A, E>>, never, R> =>
  Effect.suspend(() => {
    const exits: Array<Exit.Exit<A, E>> = []
    const next = (): Effect.Effect<Array<Exit.Exit<A, E>>, never, R> =>
      exits.length === count ? Effect.succeed(exits) : Effect.flatMap(Effect.exit(effect(exits.length)), (exit) => {
        exits.push(exit)
        return failFast && Exit.isFailure(exit) ? Effect.succeed(exits) : next()
      })
    return next()
  })

/**
 * The exits of a fail-fast run: every value, or the first failure's cause.
 *
 * @internal
 */
export const collectFailFast = <A, E>(exits: ReadonlyArray<Exit.Exit<A, E>>): Effect.Effect<Array<A>, E> => {
  const values = new Array<A>(exits.length)
  for (let i = 0; i < exits.length; i++) {
    const exit = exits[i]!
    if (Exit.isFailure(exit)) return Effect.failCause(firstFailure(exits) ?? exit.cause)
    values[i] = exit.value
  }
  return Effect.succeed(values)
}

// The sibling that failed first is the one whose failure is not an
// interruption we caused; report it rather than an interrupted sibling.
const firstFailure = <A, E>(exits: ReadonlyArray<Exit.Exit<A, E>>) => {
  for (const exit of exits) {
    if (exit !== undefined && Exit.isFailure(exit) && !Exit.isInterrupted(exit)) return exit.cause
  }
  return undefined
}
