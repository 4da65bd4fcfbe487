import * as Prompt from "@effect/ai/Prompt"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Budget from "../Budget.js"
import * as Model from "../Model.js"
import * as Primitive from "../Primitive.js"
import * as WorkflowContext from "../WorkflowContext.js"
import * as CostLedger from "./costLedger.js"
import { estimateTokens, promptText } from "./modelSimulated.js"
import * as opts from "./options.js"

/** @internal */
// `any`: a `unique symbol` type can only be given to a `Symbol.for` result by a cast (as Effect does).
export const TypeId: unique symbol = Symbol.for("flowtune/Budget") as any

interface Account {
  window: number
  usd: number
  tokens: number
  reservedUsd: number
  reservedTokens: number
  refused: number
}

interface Handle extends Budget.Budget {
  readonly usd: number
  readonly tokens: number
  readonly windowMs: number
  readonly accounts: Map<string, Account>
}

const shared = "*"

/** @internal */
export const make = (options: Budget.Options): Effect.Effect<Budget.Budget> => {
  const owner = "Budget.make"
  if (typeof options !== "object" || options === null) opts.invalidShape(owner, "options with a `name` are required")
  const name = opts.nonEmptyString(owner, "name", options.name)
  const usd = opts.numberOr(owner, "usd", options.usd, Infinity, { min: 0, infinite: true })
  const tokens = opts.numberOr(owner, "tokens", options.tokens, Infinity, { min: 0, infinite: true })
  if (options.usd === undefined && options.tokens === undefined) {
    opts.invalidShape(owner, "give a limit: `usd`, `tokens` or both")
  }
  const windowMs = options.window === undefined
    ? Infinity
    : Duration.toMillis(opts.duration(owner, "window", options.window))
  // One account per key, created by this effect: nothing is shared between budgets.
  return Effect.sync((): Budget.Budget => {
    const handle: Handle = { [TypeId]: TypeId, name, usd, tokens, windowMs, accounts: new Map() }
    return handle
  })
}

/** The key's account in the window of `now`; a new window starts from zero (reservations carry over). */
const account = (handle: Handle, key: string, now: number): Account => {
  const window = Number.isFinite(handle.windowMs) ? Math.floor(now / handle.windowMs) : 0
  let acc = handle.accounts.get(key)
  if (acc === undefined) {
    acc = { window, usd: 0, tokens: 0, reservedUsd: 0, reservedTokens: 0, refused: 0 }
    handle.accounts.set(key, acc)
  } else if (acc.window !== window) {
    acc.window = window
    acc.usd = 0
    acc.tokens = 0
    acc.refused = 0
  }
  return acc
}

const inputText = (input: unknown): string => {
  if (typeof input === "string") return input
  if (Prompt.isPrompt(input)) return promptText(input)
  try {
    return JSON.stringify(input) ?? ""
  } catch {
    return String(input)
  }
}

/** @internal */
export const guard = dual((args) => Primitive.isPrimitive(args[0]), (
  self: Primitive.Primitive.Any,
  budget: Budget.Budget,
  options?: Budget.GuardOptions<unknown>
): Primitive.Primitive.Any => {
  const owner = `Budget.guard(${self.name})`
  const handle = budget as Handle
  if (handle?.[TypeId] !== TypeId) opts.invalid(owner, "budget", "a Budget from Budget.make", budget)
  const outputTokens = opts.numberOr(owner, "outputTokens", options?.outputTokens, 256, { min: 0, integer: true })
  const costPerCall = self.annotations.costPerCall
  const keyOption = options?.key
  if (keyOption !== undefined && keyOption !== "run") opts.func(owner, "key", keyOption)
  const customEstimate = options?.estimate === undefined ? undefined : opts.func<
    (input: unknown) => Budget.Estimate
  >(owner, "estimate", options.estimate)
  if (
    customEstimate === undefined && options?.model === undefined && costPerCall === undefined && handle.usd !== Infinity
  ) {
    opts.invalidShape(
      owner,
      "a dollar budget needs an estimate: give `model` (priced by the price table), `estimate`, or a primitive with a `costPerCall`"
    )
  }

  const estimate = (input: unknown): Effect.Effect<Budget.Estimate> => {
    if (customEstimate !== undefined) return Effect.sync(() => customEstimate(input))
    const inputTokens = estimateTokens(inputText(input))
    const tokens = inputTokens + outputTokens
    if (options?.model === undefined) return Effect.succeed({ usd: costPerCall ?? 0, tokens })
    const model = options.model
    return Effect.map(Model.Prices, (prices) => ({
      usd: Model.cost(prices, model, { inputTokens, outputTokens }) || (costPerCall ?? 0),
      tokens
    }))
  }

  const keyOf = (input: unknown): Effect.Effect<string> =>
    keyOption === undefined
      ? Effect.succeed(shared)
      : keyOption === "run"
      ? Effect.withFiberRuntime((fiber) => Effect.succeed(WorkflowContext.unsafeCurrent(fiber)?.runId ?? shared))
      : Effect.sync(() => keyOption(input))

  const body = (input: unknown, next: Effect.Effect<unknown, unknown, unknown>) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const key = yield* keyOf(input)
        const expected = yield* estimate(input)
        const now = yield* Clock.currentTimeMillis
        const acc = account(handle, key, now)
        // Check and reserve in one synchronous step: no other call can slip in between.
        // (A relative epsilon, so that three $0.01 calls fit in $0.03 despite binary sums.)
        const over = acc.usd + acc.reservedUsd + expected.usd > handle.usd * (1 + 1e-9)
          ? "usd" as const
          : acc.tokens + acc.reservedTokens + expected.tokens > handle.tokens
          ? "tokens" as const
          : undefined
        if (over !== undefined) {
          acc.refused++
          return yield* Effect.fail(
            new Budget.BudgetExceeded({
              budget: handle.name,
              key,
              unit: over,
              limit: over === "usd" ? handle.usd : handle.tokens,
              spent: over === "usd" ? acc.usd : acc.tokens,
              reserved: over === "usd" ? acc.reservedUsd : acc.reservedTokens,
              estimate: over === "usd" ? expected.usd : expected.tokens
            })
          )
        }
        acc.reservedUsd += expected.usd
        acc.reservedTokens += expected.tokens
        const ledger = CostLedger.empty()
        return yield* restore(
          Effect.locallyWith(next, CostLedger.currentLedgers, (open) => [...open, ledger])
        ).pipe(
          Effect.ensuring(Effect.flatMap(Clock.currentTimeMillis, (end) =>
            Effect.sync(() => {
              acc.reservedUsd -= expected.usd
              acc.reservedTokens -= expected.tokens
              // Charged to the window the call ends in (a reset does not forgive a call in flight).
              const settled = account(handle, key, end)
              settled.usd += ledger.costUsd
              settled.tokens += ledger.inputTokens + ledger.outputTokens
            })))
        )
      })
    )
  // Inside the primitive's own span: a refusal shows on it.
  return Primitive.around(self, body)
})

/** @internal */
export const spending = (budget: Budget.Budget, key: string = shared): Effect.Effect<Budget.Spending> =>
  Effect.map(Clock.currentTimeMillis, (now) => {
    const acc = account(budget as Handle, key, now)
    return {
      usd: acc.usd,
      tokens: acc.tokens,
      reservedUsd: acc.reservedUsd,
      reservedTokens: acc.reservedTokens,
      refused: acc.refused
    }
  })
