import { assert, describe, it } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as Budget from "../src/Budget.js"
import * as Model from "../src/Model.js"
import * as Primitive from "../src/Primitive.js"
import * as WorkflowContext from "../src/WorkflowContext.js"

/** A simulated model at $0.01 a call (800 ms), and a count of the calls that reached it. */
const priced = (costPerCall = 0.01) => {
  let sent = 0
  const model = Model.simulated({ name: "priced", latency: "800 millis", costPerCall, outputTokens: 10 }, {
    retries: 0
  })
  const counted = Primitive.around(model, (_input, next) => Effect.zipRight(Effect.sync(() => sent++), next))
  return { model: counted, sent: () => sent }
}

const runAll = <A, E, R>(effects: ReadonlyArray<Effect.Effect<A, E, R>>, advance: Duration.DurationInput) =>
  Effect.gen(function*() {
    const fibers = yield* Effect.forEach(effects, (e) => Effect.fork(Effect.exit(e)))
    yield* TestClock.adjust(advance)
    return yield* Effect.forEach(fibers, Fiber.join)
  })

const refusal = (error: { readonly _tag: string }): Budget.BudgetExceeded => {
  assert.strictEqual(error._tag, "BudgetExceeded")
  return error as Budget.BudgetExceeded
}

describe("Budget", () => {
  it.effect("the call that would cross the budget is refused before it is sent", () =>
    Effect.gen(function*() {
      const budget = yield* Budget.make({ name: "run", usd: 0.025 })
      const { model, sent } = priced()
      const guarded = Budget.guard(model, budget)
      for (let i = 0; i < 2; i++) yield* runAll([Primitive.run(guarded, `q${i}`)], "1 second")
      const start = yield* TestClock.currentTimeMillis
      const refused = refusal(yield* Effect.flip(Primitive.run(guarded, "q3")))
      assert.strictEqual(yield* TestClock.currentTimeMillis, start)
      assert.deepStrictEqual(
        [refused.unit, refused.limit, refused.spent, refused.reserved, refused.estimate],
        ["usd", 0.025, 0.02, 0, 0.01]
      )
      assert.strictEqual(sent(), 2)
      const spending = yield* Budget.spending(budget)
      assert.deepStrictEqual([spending.usd, spending.reservedUsd, spending.refused], [0.02, 0, 1])
    }))

  it.effect("concurrent calls cannot overspend together: 10 at once on a budget for 3", () =>
    Effect.gen(function*() {
      const budget = yield* Budget.make({ name: "burst", usd: 0.03 })
      const { model, sent } = priced()
      const guarded = Budget.guard(model, budget)
      const exits = yield* runAll(Array.from({ length: 10 }, (_, i) => Primitive.run(guarded, `q${i}`)), "1 second")
      assert.strictEqual(exits.filter(Exit.isSuccess).length, 3)
      assert.strictEqual(sent(), 3)
      assert.closeTo((yield* Budget.spending(budget)).usd, 0.03, 1e-12)
    }))

  it.effect("the actual cost is charged after the call, from the cost ledger, whatever the estimate", () =>
    Effect.gen(function*() {
      const budget = yield* Budget.make({ name: "actual", usd: 1 })
      const { model } = priced(0.05)
      const guarded = Budget.guard(model, budget, { estimate: () => ({ usd: 0.001, tokens: 0 }) })
      const fiber = yield* Effect.fork(Primitive.run(guarded, "q"))
      yield* TestClock.adjust("100 millis")
      assert.deepStrictEqual(yield* Effect.map(Budget.spending(budget), (s) => [s.usd, s.reservedUsd]), [0, 0.001])
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(yield* Effect.map(Budget.spending(budget), (s) => [s.usd, s.reservedUsd]), [0.05, 0])
    }))

  it.effect("a window resets the spending", () =>
    Effect.gen(function*() {
      const budget = yield* Budget.make({ name: "per-minute", usd: 0.01, window: "1 minute" })
      const guarded = Budget.guard(priced().model, budget)
      const first = yield* runAll([Primitive.run(guarded, "a"), Primitive.run(guarded, "b")], "1 second")
      assert.deepStrictEqual(first.map(Exit.isSuccess), [true, false])
      yield* TestClock.adjust("59 seconds")
      const next = yield* runAll([Primitive.run(guarded, "c")], "1 second")
      assert.isTrue(Exit.isSuccess(next[0]!))
    }))

  it.effect("tenant keys have separate accounts; a token budget estimates from the prompt", () =>
    Effect.gen(function*() {
      // "tenant-a: ..." is 26 characters -> 7 input tokens, + 10 output tokens = 17 per call (estimated and actual).
      const budget = yield* Budget.make({ name: "tenants", tokens: 40 })
      const guarded = Budget.guard(priced().model, budget, {
        key: (prompt) => typeof prompt === "string" ? prompt.split(":")[0]! : "other",
        outputTokens: 10
      })
      const exits = yield* runAll(
        ["tenant-a: 1234567890123456", "tenant-a: 1234567890123456", "tenant-b: 1234567890123456"].map((q) =>
          Primitive.run(guarded, q)
        ),
        "1 second"
      )
      assert.deepStrictEqual(exits.map(Exit.isSuccess), [true, true, true])
      const third = refusal(yield* Effect.flip(Primitive.run(guarded, "tenant-a: 1234567890123456")))
      assert.deepStrictEqual([third.key, third.unit, third.estimate], ["tenant-a", "tokens", 17])
      const a = yield* Budget.spending(budget, "tenant-a")
      const b = yield* Budget.spending(budget, "tenant-b")
      assert.deepStrictEqual([a.tokens, b.tokens], [34, 17])
    }))

  it.effect("a budget keyed by run gives every run its own account", () =>
    Effect.gen(function*() {
      const budget = yield* Budget.make({ name: "per-run", usd: 0.01 })
      const guarded = Budget.guard(priced().model, budget, { key: "run" })
      const run = (runId: string) =>
        Effect.gen(function*() {
          const first = yield* Effect.exit(Primitive.run(guarded, "a"))
          const second = yield* Effect.exit(Primitive.run(guarded, "b"))
          return [Exit.isSuccess(first), Exit.isSuccess(second)]
        }).pipe(WorkflowContext.withContext({ runId }))
      const results = yield* runAll([run("run-1"), run("run-2")], "2 seconds")
      assert.deepStrictEqual(results.map((e) => Exit.isSuccess(e) ? e.value : undefined), [[true, false], [
        true,
        false
      ]])
      assert.strictEqual((yield* Budget.spending(budget, "run-1")).usd, 0.01)
    }))

  it("checks its options where they are given", () => {
    assert.throws(() => Budget.make({ name: "none" }), /give a limit/)
    assert.throws(() => Budget.make({ name: "neg", usd: -1 }), /option "usd"/)
    assert.throws(() => Budget.make({ name: "w", usd: 1, window: 0 }), /option "window"/)
    const step = Primitive.make("unpriced", (q: string) => Effect.succeed(q))
    const budget = Effect.runSync(Budget.make({ name: "usd", usd: 1 }))
    assert.throws(() => Budget.guard(step, budget), /needs an estimate/)
  })
})
