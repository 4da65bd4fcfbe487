/**
 * Cost budgets: a limit in US dollars and/or tokens, for a whole service, a
 * tenant key or a run, over all time or per time window. A guarded call
 * whose estimate (from the prompt and the model's price) would cross the
 * limit fails with `BudgetExceeded` before it is sent; a call that is sent
 * reserves its estimate, and when it ends the reservation is replaced by
 * what it actually cost. Concurrent calls therefore cannot overspend
 * together: each one sees the others' reservations.
 *
 * "What it actually cost" is read from the same cost ledgers that the cache
 * (cost saved) and the router (cost per route) read: every model call inside
 * the guarded primitive charges them, hedged second attempts included.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Budget, Model, Primitive } from "flowtune"
 *
 * const program = Effect.gen(function*() {
 *   const budget = yield* Budget.make({ name: "daily", usd: 5, window: "1 day" })
 *   const answer = Model.simulated(Model.profiles.quality).pipe(
 *     Budget.guard(budget, { key: (prompt) => prompt.slice(0, 8) }) // a tenant key
 *   )
 *   return yield* Primitive.run(answer, "tenant-a: summarize this")
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as internal from "./internal/budget.js"
import type * as Primitive from "./Primitive.js"

/**
 * A call refused before it was sent: its estimate would cross the budget.
 *
 * @since 0.1.0
 * @category errors
 */
export class BudgetExceeded extends Data.TaggedError("BudgetExceeded")<{
  readonly budget: string
  readonly key: string
  readonly unit: "usd" | "tokens"
  readonly limit: number
  /** Spent in the current window (or ever), completed calls only. */
  readonly spent: number
  /** Held by calls in flight. */
  readonly reserved: number
  readonly estimate: number
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `budget "${this.budget}" (${this.key}): ${this.unit} ${this.spent} spent + ${this.reserved} reserved + ` +
      `${this.estimate} estimated > ${this.limit}`
  }
}

/**
 * Options of `make`. Give `usd`, `tokens` or both.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly name: string
  /** The most US dollars per key and window. */
  readonly usd?: number | undefined
  /** The most tokens (input + output) per key and window. */
  readonly tokens?: number | undefined
  /** Spending resets at every multiple of this duration. Default: never. */
  readonly window?: Duration.DurationInput | undefined
}

/**
 * A budget.
 *
 * @since 0.1.0
 * @category models
 */
export interface Budget {
  readonly [internal.TypeId]: typeof internal.TypeId
  readonly name: string
}

/**
 * What one call is expected to cost.
 *
 * @since 0.1.0
 * @category models
 */
export interface Estimate {
  readonly usd: number
  readonly tokens: number
}

/**
 * Options of `guard`.
 *
 * @since 0.1.0
 * @category models
 */
export interface GuardOptions<In> {
  /**
   * Whose budget a call spends: a tenant key from the input, `"run"` (the
   * current `WorkflowContext` run) or, by default, one key for every call.
   */
  readonly key?: ((input: In) => string) | "run" | undefined
  /**
   * The estimate of one call. Default: from the prompt and the price: input
   * tokens estimated from the text (4 characters a token), `outputTokens`
   * more, priced with the `model`'s entry of the price table
   * (`Model.layerPrices`), or at the primitive's `costPerCall`.
   */
  readonly estimate?: ((input: In) => Estimate) | undefined
  /** The model whose price the default estimate uses. */
  readonly model?: string | undefined
  /** Output tokens the default estimate expects. Default: 256. */
  readonly outputTokens?: number | undefined
}

/**
 * Spending of one key.
 *
 * @since 0.1.0
 * @category models
 */
export interface Spending {
  readonly usd: number
  readonly tokens: number
  readonly reservedUsd: number
  readonly reservedTokens: number
  /** Calls refused with `BudgetExceeded` in this window. */
  readonly refused: number
}

/**
 * Makes a budget (its spending state is created by this effect). Options are
 * checked here (`Primitive.InvalidPrimitive`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: Options) => Effect.Effect<Budget> = internal.make

/**
 * Puts a primitive under a budget: each call is estimated and refused with
 * `BudgetExceeded` if it would cross the limit, else it reserves its
 * estimate, runs, and is charged what its model calls actually cost.
 *
 * @since 0.1.0
 * @category combinators
 */
export const guard: {
  <In>(
    budget: Budget,
    options?: GuardOptions<NoInfer<In>>
  ): <Out, E, R>(self: Primitive.Primitive<In, Out, E, R>) => Primitive.Primitive<In, Out, E | BudgetExceeded, R>
  <In, Out, E, R>(
    self: Primitive.Primitive<In, Out, E, R>,
    budget: Budget,
    options?: GuardOptions<NoInfer<In>>
  ): Primitive.Primitive<In, Out, E | BudgetExceeded, R>
} = internal.guard as any // `any`: the overloads are checked at call sites; the implementation is untyped

/**
 * The spending of a key (default: the key every call shares) in the current window.
 *
 * @since 0.1.0
 * @category getters
 */
export const spending: (budget: Budget, key?: string) => Effect.Effect<Spending> = internal.spending
