/**
 * What a piece of work cost: every model call charges what it actually cost
 * (from the provider's usage and the price table) to each measurement open
 * around it, including calls made in composed primitives and forked branches
 * (`parallel`, `forEach`). A cache hit costs nothing, so measuring a run
 * shows what caching and routing really saved.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cost, Model, Primitive } from "flowtune"
 *
 * const answer = Model.generate()
 * const program = Effect.gen(function*() {
 *   const [completion, spend] = yield* Cost.measure(Primitive.run(answer, "Explain caching"))
 *   console.log(`$${spend.costUsd.toFixed(4)} for ${spend.calls} call(s), ${spend.outputTokens} tokens out`)
 * }).pipe(Effect.provide(Model.layerSimulated(Model.profiles.fast)))
 * ```
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as CostLedger from "./internal/costLedger.js"

/**
 * What the model calls inside a measured effect cost.
 *
 * @since 0.1.0
 * @category models
 */
export interface Spend {
  readonly costUsd: number
  readonly inputTokens: number
  readonly outputTokens: number
  /** Model calls charged (a cache hit is not a call). */
  readonly calls: number
}

/**
 * Runs an effect and returns its result beside what it spent. Measurements
 * nest: an outer one includes what inner ones measured. When the effect
 * fails, its spend stays charged to the measurements around this one.
 *
 * @since 0.1.0
 * @category measuring
 */
export const measure: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<readonly [A, Spend], E, R> =
  CostLedger.measure
