import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as Cache from "../src/Cache.js"
import * as Cost from "../src/Cost.js"
import * as Hedge from "../src/Hedge.js"
import * as CostLedger from "../src/internal/costLedger.js"
import * as Model from "../src/Model.js"
import * as Primitive from "../src/Primitive.js"
import * as Router from "../src/Router.js"
import { runVirtual } from "./support/virtualTime.js"

class Boom extends Data.TaggedError("Boom")<{ readonly attempt: number }> {}

interface Script {
  readonly ms: number
  readonly fail?: boolean
}

/**
 * A step whose n-th call takes `script[n].ms` (and fails if asked). It logs
 * starts, ends and finalizers, so a test can see what ran and what was cut.
 */
const scripted = (name: string, script: ReadonlyArray<Script>) => {
  const log: Array<string> = []
  let n = 0
  const step = Primitive.make(name, (input: string) =>
    Effect.suspend(() => {
      const i = n++
      const s = script[Math.min(i, script.length - 1)]!
      log.push(`start ${i}`)
      return Effect.sleep(`${s.ms} millis`).pipe(
        Effect.zipRight(s.fail ? Effect.fail(new Boom({ attempt: i })) : Effect.succeed(`${name}#${i}: ${input}`)),
        Effect.onExit((exit) => Effect.sync(() => log.push(`${Exit.isInterrupted(exit) ? "interrupted" : "end"} ${i}`)))
      )
    }))
  return { step, log, calls: () => n }
}

const elapsed = <A, E, R>(effect: Effect.Effect<A, E, R>, advance: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(`${advance} millis`)
    return yield* Fiber.await(fiber)
  })

describe("Hedge", () => {
  it.effect("the second attempt wins; the first is interrupted and its finalizer has run when the call returns", () =>
    Effect.gen(function*() {
      const { log, step } = scripted("slow-then-fast", [{ ms: 10_000 }, { ms: 100 }])
      const hedged = yield* Hedge.make(step, { delay: "500 millis", maxExtra: 1 })
      // The log is read in the caller's fiber as soon as the call returns, before
      // that fiber ends (which would interrupt any child left running anyway).
      const fiber = yield* Effect.fork(
        Effect.map(Primitive.run(hedged, "q"), (result) => ({ result, log: [...log] }))
      )
      yield* TestClock.adjust("599 millis")
      assert.isTrue((yield* Fiber.poll(fiber))._tag === "None")
      yield* TestClock.adjust("1 millis")
      const returned = yield* Fiber.join(fiber)
      assert.strictEqual(returned.result, "slow-then-fast#1: q")
      assert.deepStrictEqual(returned.log, ["start 0", "start 1", "end 1", "interrupted 0"])
      const stats = yield* Hedge.stats(hedged)
      assert.deepStrictEqual([stats.calls, stats.hedged, stats.hedgeWins], [1, 1, 1])
    }))

  it.effect("the loser's AbortSignal fires (a fromPromise step's HTTP request would be aborted)", () =>
    Effect.gen(function*() {
      let aborted = false
      const stuck = Primitive.fromPromise("stuck", (_: string, signal: AbortSignal) =>
        new Promise<string>(() => {
          signal.addEventListener("abort", () => (aborted = true))
        }))
      const fast = Primitive.make("fast", (q: string) => Effect.as(Effect.sleep("50 millis"), `fast: ${q}`))
      const hedged = yield* Hedge.make(stuck, { delay: "200 millis", alternative: fast, maxExtra: 1 })
      const exit = yield* elapsed(Primitive.run(hedged, "q"), 250)
      assert.deepStrictEqual(exit, Exit.succeed("fast: q"))
      assert.isTrue(aborted)
    }))

  it.effect("never hedges once the first attempt succeeded, even 1 ms before the delay", () =>
    Effect.gen(function*() {
      for (const ms of [1, 400, 499]) {
        const { calls, step } = scripted("quick", [{ ms }])
        const hedged = yield* Hedge.make(step, { delay: "500 millis", maxExtra: 1 })
        const exit = yield* elapsed(Primitive.run(hedged, "q"), 2_000)
        assert.isTrue(Exit.isSuccess(exit))
        assert.strictEqual(calls(), 1, `first attempt of ${ms} ms`)
        assert.strictEqual((yield* Hedge.stats(hedged)).hedged, 0)
      }
    }))

  it.effect("a first attempt that fails before the delay fails the call without a hedge", () =>
    Effect.gen(function*() {
      const { calls, step } = scripted("fails-fast", [{ ms: 100, fail: true }])
      const hedged = yield* Hedge.make(step, { delay: "500 millis", maxExtra: 1 })
      const exit = yield* elapsed(Primitive.run(hedged, "q"), 2_000)
      assert.deepStrictEqual(exit, Exit.fail(new Boom({ attempt: 0 })))
      assert.strictEqual(calls(), 1)
    }))

  it.effect("when both attempts fail, both errors are in the cause", () =>
    Effect.gen(function*() {
      const { step } = scripted("both-fail", [{ ms: 800, fail: true }, { ms: 100, fail: true }])
      const hedged = yield* Hedge.make(step, { delay: "500 millis", maxExtra: 1 })
      const exit = yield* elapsed(Primitive.run(hedged, "q"), 1_000)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const failures = Chunk.toArray(Cause.failures(exit.cause)).map((e) => e.attempt).sort()
        assert.deepStrictEqual(failures, [0, 1])
      }
    }))

  it.effect("the cap on extra attempts holds: 100 slow calls with maxExtra 0.1 -> exactly 10 hedges", () =>
    Effect.gen(function*() {
      const { calls, step } = scripted("always-slow", [{ ms: 1_000 }])
      const hedged = yield* Hedge.make(step, { delay: "100 millis", maxExtra: 0.1 })
      const fiber = yield* Effect.fork(
        Effect.forEach(Array.from({ length: 100 }, (_, i) => `q${i}`), (q) => Primitive.run(hedged, q), {
          concurrency: "unbounded"
        })
      )
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(fiber)
      const stats = yield* Hedge.stats(hedged)
      assert.strictEqual(stats.hedged, 10)
      assert.strictEqual(stats.capped, 90)
      assert.strictEqual(calls(), 110)
    }))

  // 400 calls: on the discrete-event clock (test/support/virtualTime.ts) rather than 400 TestClock steps.
  it("a percentile delay follows the primitive's own latencies (heavy-tailed simulated model)", () => {
    const { exit } = runVirtual(Effect.gen(function*() {
      const model = Model.simulated(
        { name: "tail", latency: { _tag: "LogNormal", median: "100 millis", p99OverP50: 10 }, costPerCall: 0.001 },
        { seed: 7, retries: 0 }
      )
      const hedged = yield* Hedge.make(model, { delay: { percentile: 95, window: 200 }, maxExtra: 0.05 })
      yield* Effect.forEach(Array.from({ length: 400 }, (_, i) => `q${i}`), (q) => Primitive.run(hedged, q), {
        concurrency: 1,
        discard: true
      })
      return yield* Hedge.stats(hedged)
    }))
    assert.isTrue(Exit.isSuccess(exit))
    if (Exit.isFailure(exit)) return
    const stats = exit.value
    // p95 of a lognormal with median 100 and p99/p50 = 10: 100 * 10^(1.645/2.326) = 509 ms.
    assert.isTrue(stats.currentDelayMs! > 350 && stats.currentDelayMs! < 750, String(stats.currentDelayMs))
    assert.isTrue(stats.hedged > 0 && stats.extraFraction <= 0.05, JSON.stringify(stats))
    // A second attempt that completed was charged, from the cost ledger; an interrupted one was not.
    assert.isTrue(stats.hedgeWins > 0)
    assert.closeTo(stats.extraCostUsd, stats.hedgeWins * 0.001, 1e-9)
    // The model layer charges a call when it completes: every loser here was interrupted in
    // flight, so none was charged, and each is counted as aborted (its cost unknown).
    assert.strictEqual(stats.abortedLosers, stats.hedged)
    assert.strictEqual(stats.loserCostUsd, 0)
  })

  /** A step that pays `usd` (a completed round, as the model layer charges it) at `chargeAt`, and ends at `ms`. */
  const paying = (name: string, chargeAt: number, usd: number, ms: number, fail = false) =>
    Primitive.make(name, (q: string) =>
      Effect.sleep(`${chargeAt} millis`).pipe(
        Effect.zipRight(CostLedger.charge({ costUsd: usd })),
        Effect.zipRight(Effect.sleep(`${ms - chargeAt} millis`)),
        Effect.zipRight(fail ? Effect.fail(new Boom({ attempt: 1 })) : Effect.succeed(`${name}: ${q}`))
      ))

  it.effect("a loser interrupted in flight is counted as aborted; only what it had paid before counts", () =>
    Effect.gen(function*() {
      // The first attempt paid $0.003 for an earlier round, then its request hangs; the second pays $0.01.
      const hedged = yield* Hedge.make(paying("slow", 100, 0.003, 10_000), {
        delay: "500 millis",
        alternative: paying("fast", 100, 0.01, 100),
        maxExtra: 1
      })
      const exit = yield* elapsed(Cost.measure(Primitive.run(hedged, "q")), 600)
      assert.isTrue(Exit.isSuccess(exit))
      if (Exit.isFailure(exit)) return
      const [answer, spend] = exit.value
      assert.strictEqual(answer, "fast: q")
      const stats = yield* Hedge.stats(hedged)
      assert.deepStrictEqual([stats.hedged, stats.hedgeWins, stats.abortedLosers], [1, 1, 1])
      assert.closeTo(stats.loserCostUsd, 0.003, 1e-12)
      assert.closeTo(stats.extraCostUsd, 0.01, 1e-12)
      // The caller's ledger holds both charges: the losers' are not hidden from a budget.
      assert.closeTo(spend.costUsd, 0.013, 1e-12)
    }))

  it.effect("a loser that completed is charged in full and not counted as aborted", () =>
    Effect.gen(function*() {
      // The second attempt pays $0.01, then fails (a decoding error after the answer); the first wins.
      const hedged = yield* Hedge.make(paying("steady", 900, 0.002, 1_000), {
        delay: "500 millis",
        alternative: paying("paid-then-failed", 100, 0.01, 200, true),
        maxExtra: 1
      })
      const exit = yield* elapsed(Primitive.run(hedged, "q"), 1_000)
      assert.deepStrictEqual(exit, Exit.succeed("steady: q"))
      const stats = yield* Hedge.stats(hedged)
      assert.deepStrictEqual([stats.hedged, stats.hedgeWins, stats.abortedLosers], [1, 0, 0])
      assert.closeTo(stats.loserCostUsd, 0.01, 1e-12)
    }))

  it.effect("inside Cache.wrap: the hedged call that wins fills the cache once", () =>
    Effect.gen(function*() {
      const { calls, step } = scripted("cached", [{ ms: 10_000 }, { ms: 100 }, { ms: 100 }])
      const hedged = yield* Hedge.make(step, { delay: "500 millis", maxExtra: 1 })
      const cached = Cache.wrap(hedged)
      const first = yield* elapsed(Primitive.run(cached, "q"), 600)
      assert.deepStrictEqual(first, Exit.succeed("cached#1: q"))
      const second = yield* elapsed(Primitive.run(cached, "q"), 0)
      assert.deepStrictEqual(second, Exit.succeed("cached#1: q"))
      assert.strictEqual(calls(), 2)
      const stats = yield* Cache.stats(cached)
      assert.strictEqual(stats.misses, 1)
    }).pipe(Effect.provide(Cache.layerMemory({ capacity: 10 }))))

  it.effect("inside a Router: a route hedged onto another provider", () =>
    Effect.gen(function*() {
      const primary = scripted("provider-a", [{ ms: 5_000 }])
      const backup = scripted("provider-b", [{ ms: 300 }])
      const hedged = yield* Hedge.make(primary.step, { delay: "1 second", alternative: backup.step, maxExtra: 1 })
      const router = Router.make({ name: "r", routes: { main: hedged }, select: () => "main" })
      const exit = yield* elapsed(Primitive.run(router, "q"), 1_300)
      assert.deepStrictEqual(exit, Exit.succeed("provider-b#0: q"))
      assert.deepStrictEqual(primary.log, ["start 0", "interrupted 0"])
    }))

  it("checks its options where they are given", () => {
    const step = Primitive.make("s", (q: string) => Effect.succeed(q))
    // Wrong on purpose: a JavaScript caller (or a config file) is not type-checked.
    const bad: ReadonlyArray<Hedge.Options<string, string, never, never>> = [
      { delay: -1 },
      { delay: Number.NaN },
      { delay: { percentile: 100.5 } },
      { delay: { percentile: 95, window: 10, minSamples: 20 } },
      { delay: "1 second", maxExtra: 2 }
    ]
    for (const options of bad) {
      assert.throws(() => Hedge.make(step, options), /option "(delay|delay\.percentile|delay\.minSamples|maxExtra)"/)
    }
  })
})
