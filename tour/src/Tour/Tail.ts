/**
 * Beyond the guide: the tail. The guide tunes averages; this step measures
 * the three primitives that handle what averages hide (docs/Tail.md):
 *
 * 1. `Hedge` against a heavy-tailed simulated model (about 1 s, but 2% of
 *    calls stall for 10-20 s): the same calls without and with a second
 *    attempt after the model's own 95th percentile, capped at 5% extra
 *    calls. The anchor is "The Tail at Scale" (Dean and Barroso, CACM 2013);
 *    the target is a p99 at least 3x lower for at most 5% extra calls.
 * 2. `Concurrency` in front of a backend that answers 429 past a capacity it
 *    does not publish: closed-loop callers through a fixed limit that is too
 *    high, then through the adaptive limiter. Target: at least 90% of the
 *    capacity with under 1% of calls answered 429.
 * 3. `Budget`: concurrent calls against a dollar budget; the call that would
 *    cross it is refused before it is sent, and what was spent (summed from
 *    the completions) stays within it.
 *
 * Every figure is measured: latencies from the `Clock`, extra calls and 429s
 * from counters, costs from the cost ledger. In virtual time the step makes
 * more calls than in real time (where each simulated call also costs a few
 * milliseconds of CPU); the assumptions say how many.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Budget from "flowtune/Budget"
import * as Concurrency from "flowtune/Concurrency"
import * as Hedge from "flowtune/Hedge"
import * as Model from "flowtune/Model"
import * as Primitive from "flowtune/Primitive"
import type * as Tour from "../Tour.js"
import { claim, costed, mean, model, percentile, sleepGuide, type Step, timed, TourEnv, traced } from "./Common.js"
import * as World from "./World.js"
// The discrete-event clock of the library's tests and benchmarks, reused (see `onVirtualClock`).
import { runVirtual } from "../../../test/support/virtualTime.js"

/** The target's margin: 5% extra calls is a bound, not a figure to be within 5% of. */
const bound = { tolerance: 0, slack: 0 } as const

/**
 * Runs a measurement with thousands of sleeps. In real time, as it is; in
 * virtual time, on the discrete-event clock of the library's benchmarks
 * (test/support/virtualTime.ts) rather than the `TestClock`, which polls
 * every fiber at each wake-up (tens of real ms each, minutes for these
 * runs). Either way every figure comes from the clock the run used.
 *
 * @since 0.1.0
 * @category measuring
 */
export const onVirtualClock = <A, E>(self: Effect.Effect<A, E, TourEnv>): Effect.Effect<A, E, TourEnv> =>
  Effect.gen(function*() {
    const env = yield* TourEnv
    if (!env.virtualTime) return yield* self
    const prices = yield* Model.Prices
    const { exit } = runVirtual(
      self.pipe(Effect.provideService(TourEnv, env), Effect.provideService(Model.Prices, prices))
    )
    return yield* exit
  })

/**
 * The same calls without and with a hedge at the world's percentile (cap 5%):
 * each call's latency in guide milliseconds, and the hedge's counters.
 *
 * @since 0.1.0
 * @category measuring
 */
export const hedging = (calls: number, concurrency: number) =>
  Effect.gen(function*() {
    const { world } = yield* TourEnv
    const questions = Array.from({ length: calls }, (_, i) => `question ${i}`)
    const latencies = <E, R>(p: Primitive.Primitive<string, unknown, E, R>) =>
      Effect.forEach(questions, (q) => Effect.map(timed(Primitive.run(p, q)), ([, ms]) => ms), { concurrency })
    // Two instances of the same seeded model: the first attempts draw the same latencies.
    const plain = yield* latencies(yield* model(world.models.tail, "tail_model"))
    const hedged = yield* Hedge.make(yield* model(world.models.tail, "tail_model"), {
      name: "hedged_tail_model",
      delay: { percentile: world.tail.hedgePercentile },
      maxExtra: 0.05
    })
    const [withHedge, spend] = yield* costed(latencies(hedged))
    return { plain, hedged: withHedge, stats: yield* Hedge.stats(hedged), spend }
  })

/** z of the 99th percentile of the standard normal: a lognormal's sigma is ln(p99/p50) / z99. */
const z99 = 2.3263478740408408

/**
 * A backend's capacity in calls a second: `capacity` calls at once over the
 * mean of its configured latency (a lognormal's is median x exp(sigma^2 / 2)).
 * For another distribution, the measured mean of the calls it served.
 *
 * @since 0.1.0
 * @category measuring
 */
export const capacityPerSecond = (profile: Model.Profile, capacity: number, servedMeanMs: number): number => {
  const latency = profile.latency
  if (typeof latency !== "object" || latency === null || !("_tag" in latency)) {
    return capacity / (Duration.toMillis(Duration.decode(latency)) / 1000)
  }
  if (latency._tag !== "LogNormal") return capacity / (servedMeanMs / 1000)
  const sigma = Math.log(latency.p99OverP50) / z99
  return capacity / (Duration.toMillis(Duration.decode(latency.median)) * Math.exp((sigma * sigma) / 2) / 1000)
}

/**
 * Closed-loop callers (four per place of capacity) against the capped
 * backend through `limit`: `warmup` guide seconds not counted (the limiter
 * finds the capacity), then `guideSeconds` measured. A 429 makes its caller
 * wait the retry-after (1 s). The throughput is measured; the capacity in
 * calls a second is an input: the calls at once over the mean of the
 * backend's configured latency (`capacityPerSecond`).
 *
 * @since 0.1.0
 * @category measuring
 */
export const flowControl = (limit: "adaptive" | number, warmup: number, guideSeconds: number) =>
  Effect.gen(function*() {
    const { scale, world } = yield* TourEnv
    const capacity = world.tail.hiddenCapacity
    const backend = Model.simulated(world.models.capped, {
      scale,
      name: "capped_model",
      retries: 0,
      capacity: { concurrency: capacity, retryAfter: "1 second" }
    })
    const served: Array<number> = []
    const measured = Primitive.make(
      "capped_backend",
      (q: string) =>
        Effect.map(timed(Primitive.run(backend, q)), ([completion, ms]) => {
          if (counting) served.push(ms)
          return completion
        })
    )
    const limiter = yield* Concurrency.make(
      limit === "adaptive"
        ? { name: "tour_backend", initial: 4 }
        : { name: "tour_backend_fixed", initial: limit, min: limit, max: limit }
    )
    const call = measured.pipe(Concurrency.limit(limiter))
    let ok = 0
    let rejected = 0
    let open = true
    let counting = false
    const caller = Effect.gen(function*() {
      while (open) {
        const exit = yield* Effect.exit(Primitive.run(call, "hello"))
        if (!open) break
        if (Exit.isSuccess(exit)) ok += counting ? 1 : 0
        else {
          rejected += counting ? 1 : 0
          yield* sleepGuide(1000)
        }
      }
    })
    const fibers = yield* Effect.forEach(Array.from({ length: 4 * capacity }), () => Effect.fork(caller))
    yield* sleepGuide(warmup * 1000)
    counting = true
    const [, ms] = yield* timed(sleepGuide(guideSeconds * 1000))
    open = false
    yield* Effect.forEach(fibers, (f) => f.await, { discard: true })
    const throughput = ok / (ms / 1000)
    const stats = yield* Concurrency.stats(limiter)
    return {
      ok,
      rejected,
      throughput,
      meanMs: mean(served),
      share: throughput / capacityPerSecond(world.models.capped, capacity, mean(served)),
      rate429: ok + rejected === 0 ? 0 : rejected / (ok + rejected),
      finalLimit: stats.limit
    }
  })

/**
 * Ten calls at once against the world's budget, through `Budget.guard`:
 * what reached the model (a counter inside the guard), what was refused and
 * what was spent (from the completions, through the cost ledger).
 *
 * @since 0.1.0
 * @category measuring
 */
export const budgeted = Effect.gen(function*() {
  const { scale, world } = yield* TourEnv
  const budget = yield* Budget.make({ name: "tour", usd: world.tail.budgetUsd })
  let sent = 0
  const answered = Model.simulated(world.models.capped, { scale, name: "budgeted_model", retries: 0 })
  const counted = Primitive.make("budgeted_model", (q: string) =>
    Effect.suspend(() => {
      sent++
      return Primitive.run(answered, q)
    }))
  const estimateUsd = world.tail.budgetEstimateUsd
  const guarded = counted.pipe(Budget.guard(
    budget,
    estimateUsd === undefined
      ? { model: world.models.capped.name }
      : { estimate: () => ({ usd: estimateUsd, tokens: 0 }) }
  ))
  const run = yield* traced(
    "budget: 10 calls at once",
    costed(Effect.forEach(
      Array.from({ length: 10 }, (_, i) => `task ${i}`),
      (q) => Effect.either(Primitive.run(guarded, q)),
      { concurrency: "unbounded" }
    ))
  )
  const [results, spend] = run.value
  const refused = results.filter((r) => r._tag === "Left" && r.left._tag === "BudgetExceeded").length
  return { sent, refused, spentUsd: spend.costUsd, spending: yield* Budget.spending(budget), timeline: run.timeline }
})

/**
 * How many hedged calls each way, and how long each limit runs (guide
 * seconds): fewer in real time, where each simulated call also costs a few
 * milliseconds of CPU (at scale 0.1, tens of guide milliseconds).
 *
 * @since 0.1.0
 * @category measuring
 */
export const sizes = Effect.map(TourEnv, ({ virtualTime }) =>
  virtualTime
    ? { calls: 1000, warmup: 20, seconds: 40 }
    : { calls: 200, warmup: 10, seconds: 10 })

/**
 * @since 0.1.0
 * @category steps
 */
export const step: Step = {
  id: "tail",
  title: "10. Beyond the guide: the tail",
  section: "Beyond the guide: tail latency and flow control (docs/Tail.md)",
  run: Effect.gen(function*() {
    const { virtualTime, world } = yield* TourEnv
    const { calls, seconds, warmup } = yield* sizes
    const h = yield* onVirtualClock(hedging(calls, 10))
    const p = (values: ReadonlyArray<number>, q: number) => percentile(values, q)
    const ratio = p(h.plain, 99) / p(h.hedged, 99)
    const extra = 100 * h.stats.extraFraction
    const tooHigh = yield* onVirtualClock(flowControl(4 * world.tail.hiddenCapacity, 0, seconds / 2))
    const limited = yield* onVirtualClock(flowControl(world.tail.limit, warmup, seconds))
    const b = yield* budgeted
    const price = world.models.capped.costPerCall ?? 0
    const allowed = price === 0 ? b.sent : Math.floor(world.tail.budgetUsd / price + 1e-9)
    const info = { check: "info" } as const
    const claims: Array<Tour.Claim> = [
      claim("p99 without hedging", Number.NaN, p(h.plain, 99), "ms", info),
      claim("p99 hedged at the model's p95", Number.NaN, p(h.hedged, 99), "ms", info),
      claim("p99 lower with hedging (Tail at Scale; target >= 3x)", 3, ratio, "x", { check: "at-least", ...bound }),
      claim("extra calls (second attempts / calls)", 5, extra, "%", { check: "at-most", ...bound }),
      claim("p99.9 lower with hedging (paper: 24x at p99.9)", 24, p(h.plain, 99.9) / p(h.hedged, 99.9), "x", info),
      claim("losers charged (known extra cost)", Number.NaN, h.stats.loserCostUsd, "usd", info),
      claim("losers aborted in flight (cost unknown)", Number.NaN, h.stats.abortedLosers, "count", info),
      claim("fixed limit too high: share of capacity", 90, 100 * tooHigh.share, "%", info),
      claim("fixed limit too high: 429 rate", 1, 100 * tooHigh.rate429, "%", info),
      claim("Concurrency limiter: share of capacity (target >= 90%)", 90, 100 * limited.share, "%", {
        check: "at-least",
        ...bound
      }),
      claim("Concurrency limiter: 429 rate (target < 1%)", 1, 100 * limited.rate429, "%", {
        check: "at-most",
        ...bound
      }),
      claim("budget: calls sent (the rest refused before sending)", allowed, b.sent, "count", bound),
      claim("budget: calls refused", 10 - allowed, b.refused, "count", bound),
      claim("budget: spent, from the completions (<= budget)", world.tail.budgetUsd, b.spentUsd, "usd", {
        check: "at-most",
        ...bound
      })
    ]
    const limitName = world.tail.limit === "adaptive"
      ? "adaptive (Concurrency, AIMD from 4)"
      : `fixed ${world.tail.limit}`
    return {
      headline: `p99 ${(p(h.plain, 99) / 1000).toFixed(2)} s -> ${(p(h.hedged, 99) / 1000).toFixed(2)} s (${
        ratio.toFixed(1)
      }x) for ${extra.toFixed(1)}% extra calls; ${(100 * limited.share).toFixed(0)}% of a hidden capacity with ${
        (100 * limited.rate429).toFixed(2)
      }% 429s; budget $${world.tail.budgetUsd}: ${b.sent} sent, ${b.refused} refused, $${b.spentUsd.toFixed(3)} spent`,
      claims,
      assumptions: [
        { label: "heavy-tailed model (simulated)", value: "98%: lognormal 1 s median, p99 2x; 2%: 10-20 s stalls" },
        { label: "hedging", value: `at p${world.tail.hedgePercentile} of its own latencies, cap 5% extra calls` },
        { label: "hedged calls each way", value: `${calls}, 10 at a time (${virtualTime ? "virtual" : "real"} time)` },
        {
          label: "hidden capacity",
          value: `${world.tail.hiddenCapacity} calls at once (${
            capacityPerSecond(world.models.capped, world.tail.hiddenCapacity, limited.meanMs).toFixed(1)
          } calls/s), 429 past it (retry after 1 s)`
        },
        { label: "closed-loop callers", value: String(4 * world.tail.hiddenCapacity) },
        { label: "fixed limit too high", value: `${4 * world.tail.hiddenCapacity}, measured ${seconds / 2} s` },
        {
          label: "limit checked",
          value: `${limitName}: ${warmup} s of warm-up not counted, then ${seconds} s measured`
        },
        { label: "budget", value: `$${world.tail.budgetUsd}, 10 calls at once` },
        { label: "budgeted model (simulated)", value: World.describeModel(world.models.capped) }
      ],
      timelines: [b.timeline],
      distributions: [
        { label: "without hedging", values: h.plain },
        { label: `hedged at p${world.tail.hedgePercentile}`, values: h.hedged }
      ],
      notes: [
        `hedging: ${h.stats.hedged} second attempts for ${h.stats.calls} calls, ${h.stats.hedgeWins} won, ` +
        `${h.stats.capped} refused by the cap; p50 ${p(h.plain, 50).toFixed(0)} -> ${
          p(h.hedged, 50).toFixed(0)
        } ms; losers: $${h.stats.loserCostUsd.toFixed(4)} charged, ${h.stats.abortedLosers} aborted in flight ` +
        `(a provider may bill an aborted request: up to ${h.stats.abortedLosers} x $${
          world.models.tail.costPerCall ?? 0
        } more); $${h.spend.costUsd.toFixed(3)} charged in all for ${h.spend.calls} completions`,
        `limits: fixed ${4 * world.tail.hiddenCapacity}: ${tooHigh.throughput.toFixed(2)} calls/s, ${
          (100 * tooHigh.rate429).toFixed(1)
        }% 429; ${limitName}: ${limited.throughput.toFixed(2)} calls/s, ${
          (100 * limited.rate429).toFixed(2)
        }% 429, final limit ${limited.finalLimit.toFixed(1)}; mean served latency ${limited.meanMs.toFixed(0)} ms`,
        `budget: refused ${b.spending.refused} in the window; ${b.sent} calls reached the model`
      ]
    }
  })
}
