/**
 * Cost budgets: $0.03 per tenant and minute on a $0.01 model. Five calls of
 * one tenant at once: three are sent, two are refused before they are sent
 * (their estimate would cross the budget), and another tenant is unaffected.
 *
 * Run: npx tsx examples/tail-budget.ts
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Budget from "flowtune/Budget"
import * as Model from "flowtune/Model"
import * as Primitive from "flowtune/Primitive"

const program = Effect.gen(function*() {
  const budget = yield* Budget.make({ name: "per-tenant", usd: 0.03, window: "1 minute" })
  const answer = Model.simulated(Model.profiles.quality, { scale: 0.1 }).pipe(
    Budget.guard(budget, { key: (prompt) => (typeof prompt === "string" ? prompt.split(":")[0]! : "unknown") })
  )
  const calls = ["acme: a", "acme: b", "acme: c", "acme: d", "acme: e", "globex: a"]
  const results = yield* Effect.forEach(calls, (q) => Effect.either(Primitive.run(answer, q)), {
    concurrency: "unbounded"
  })
  results.forEach((r, i) =>
    console.log(
      calls[i],
      Either.isRight(r)
        ? `-> $${r.right.costUsd}`
        : `-> refused: ${r.left._tag === "BudgetExceeded" ? r.left.message : r.left._tag}`
    )
  )
  const acme = yield* Budget.spending(budget, "acme")
  console.log(`acme spent $${acme.usd.toFixed(2)} of $0.03, ${acme.refused} refused`)
})

Effect.runPromise(program)
