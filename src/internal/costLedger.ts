/**
 * Cost accounting shared by the model layer, the cache, the router, budgets
 * and the tour: every model call charges what it actually cost to every
 * ledger open around it, so a cache can store what computing an entry cost
 * (model calls inside a composed primitive included) and a run can add up
 * its spend from the completions themselves, never from configured prices.
 *
 * Ledgers travel in a FiberRef, so forked branches (parallel, forEach)
 * charge the ledgers of the fiber that forked them.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"

/** @internal */
export interface Ledger {
  costUsd: number
  inputTokens: number
  outputTokens: number
  calls: number
}

/** @internal */
export const empty = (): Ledger => ({ costUsd: 0, inputTokens: 0, outputTokens: 0, calls: 0 })

/** The ledgers open around the current fiber, innermost last. @internal */
export const currentLedgers: FiberRef.FiberRef<ReadonlyArray<Ledger>> = FiberRef.unsafeMake<ReadonlyArray<Ledger>>(
  [],
  { fork: (parent) => parent, join: (parent) => parent }
)

/** @internal */
export interface Charge {
  readonly costUsd: number
  readonly inputTokens?: number | undefined
  readonly outputTokens?: number | undefined
}

const add = (ledger: Ledger, charge: Charge, calls: number) => {
  ledger.costUsd += charge.costUsd
  ledger.inputTokens += charge.inputTokens ?? 0
  ledger.outputTokens += charge.outputTokens ?? 0
  ledger.calls += calls
}

/**
 * Charges one call to every open ledger.
 *
 * @internal
 */
export const charge = (charge: Charge): Effect.Effect<void> =>
  Effect.flatMap(FiberRef.get(currentLedgers), (ledgers) =>
    Effect.sync(() => {
      for (const ledger of ledgers) add(ledger, charge, 1)
    }))

/**
 * Runs `effect` with a fresh ledger open and returns what it spent beside
 * its result (on success; a failed run's spend stays charged to the outer
 * ledgers, which is where it was paid).
 *
 * @internal
 */
export const measure = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<readonly [A, Ledger], E, R> =>
  Effect.suspend(() => {
    const ledger = empty()
    return Effect.map(
      Effect.locallyWith(effect, currentLedgers, (open) => [...open, ledger]),
      (a) => [a, ledger] as const
    )
  })

/**
 * For `Runtime.runFork`'s `updateRefs`: a new fiber starts with `ledger`
 * open inside the ledgers it inherits. Cheaper than `measure` when the
 * fiber runs one computation: no region to enter and leave (`locallyWith`).
 *
 * @internal
 */
export const opening = (ledger: Ledger) => (refs: FiberRefs.FiberRefs, fiberId: FiberId.Runtime): FiberRefs.FiberRefs =>
  FiberRefs.updateAs(refs, {
    fiberId,
    fiberRef: currentLedgers,
    value: [...FiberRefs.getOrDefault(refs, currentLedgers), ledger]
  })
