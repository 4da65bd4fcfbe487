/**
 * `npm run bench -- tail`: hedged calls and adaptive concurrency, in virtual
 * time (a discrete-event clock, test/support/virtualTime.ts), so the figures
 * are exact and reproducible (seeded) and a run takes seconds.
 *
 * 1. Hedging ("The Tail at Scale": hedging after the p95 cut a 1,000-key
 *    read's p99.9 from 1,800 ms to 74 ms for 2% more requests). A simulated
 *    model with a heavy tail, called without and with `Hedge` at its own p95
 *    (cap 5%): p50/p99/p99.9, their ratios, the extra calls. Two tails: a pure
 *    lognormal (p99 = 10x p50) and the paper's shape, a fast body with 2% of
 *    stalls.
 * 2. Adaptive concurrency: closed-loop callers against a backend with a
 *    hidden capacity (429 past it): fixed too low, fixed too high (no limit),
 *    and `Concurrency` with each algorithm (AIMD, gradient). Throughput as a
 *    share of the capacity, 429 rate, p99 backend latency, mean wait for a
 *    place. Then a backend whose latency grows before it rejects (past a knee
 *    calls queue; 429 past twice the knee), where a limit that reads latency
 *    can stop before the 429s.
 *
 * The backend is the simulated model's provider function (the same seeded
 * latency draws and 429s as `Model.simulated`), called directly: going
 * through `@effect/ai`'s response decoding costs about 5 ms of CPU per call,
 * which would make 10^5 virtual calls take minutes of real time.
 */
import * as Prompt from "@effect/ai/Prompt"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Concurrency from "../src/Concurrency.js"
import * as Hedge from "../src/Hedge.js"
import type * as ModelSimulated from "../src/internal/modelSimulated.js"
import * as Model from "../src/Model.js"
import type * as Simulated from "../src/Model/Simulated.js"
import * as Primitive from "../src/Primitive.js"
import { runVirtual } from "../test/support/virtualTime.js"
import type { Suite } from "./harness.js"

const prompt = Prompt.make("hello")

/** The simulated backend as a primitive: one seeded service, as `Model.simulated` builds it. */
// Loaded after `Model` (below, in `run`): entering the model modules through
// the internal one first meets an import cycle (modelSimulated -> modelContext -> modelSimulated).
let modelSimulated: typeof ModelSimulated

const backend = (profile: Simulated.Profile, options?: Simulated.Options) => {
  const service = modelSimulated.params(profile, { seed: 42, ...options })
  return Primitive.make(profile.name, (_: number): Effect.Effect<unknown, Model.ModelError> =>
    // `generateText` takes the provider options @effect/ai would pass; only the prompt is read. Its
    // `IdGenerator` requirement is never used by the simulated service (and has a default), hence the cast.
    Effect.mapError(
      service.generateText({ prompt } as Parameters<typeof service.generateText>[0]),
      // As `Model.generate` does: a 429 becomes `RateLimited`, which the limiter reads.
      (error) => Model.fromAiError(error, profile.name)
    ) as Effect.Effect<unknown, Model.ModelError>)
}

const quantile = (sorted: ReadonlyArray<number>, q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!

interface Latencies {
  readonly p50: number
  readonly p99: number
  readonly p999: number
  readonly extra: number
}

/** `calls` calls, `concurrency` at a time, each timed on the virtual clock. */
const latencies = (
  primitive: Primitive.Primitive<number, unknown, unknown>,
  calls: number,
  concurrency: number
): Array<number> => {
  const times: Array<number> = []
  const program = Effect.forEach(
    Array.from({ length: calls }, (_, i) => i),
    (i) =>
      Effect.gen(function*() {
        const start = yield* Effect.clockWith((c) => c.currentTimeMillis)
        yield* Primitive.run(primitive, i)
        times.push((yield* Effect.clockWith((c) => c.currentTimeMillis)) - start)
      }),
    { concurrency, discard: true }
  )
  const { exit } = runVirtual(program)
  if (Exit.isFailure(exit)) throw new Error(`tail bench: ${String(exit.cause)}`)
  return times.sort((a, b) => a - b)
}

const hedging = (
  latency: Simulated.Latency,
  calls: number,
  percentile: number
): { plain: Latencies; hedged: Latencies; capped: number } => {
  const profile: Simulated.Profile = { name: "heavy-tail", latency }
  const plainTimes = latencies(backend(profile), calls, 20)
  let extra = 0
  let capped = 0
  const hedgedTimes = latencies(
    Effect.runSync(Effect.gen(function*() {
      const hedged = yield* Hedge.make(backend(profile), { delay: { percentile, window: 1000 }, maxExtra: 0.05 })
      return Primitive.make("measured", (i: number) =>
        Effect.ensuring(
          Primitive.run(hedged, i),
          Effect.map(Hedge.stats(hedged), (s) => {
            extra = s.extraFraction
            capped = s.capped
          })
        ))
    })),
    calls,
    20
  )
  const summary = (sorted: Array<number>, extra: number): Latencies => ({
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    p999: quantile(sorted, 0.999),
    extra
  })
  return { plain: summary(plainTimes, 0), hedged: summary(hedgedTimes, extra), capped }
}

interface Load {
  readonly throughput: number
  readonly rejected: number
  readonly finalLimit: number | undefined
  /** p99 of the backend's latency (successful calls), ms. */
  readonly p99: number
  /** Mean wait for a place in the limiter, ms per call. */
  readonly wait: number
}

type Limit = "fixed-low" | "fixed-high" | "fixed-knee" | "aimd" | "gradient" | "gradient, tolerance 1.2"

const limiterOptions = (limit: Limit, knee: number): Concurrency.Options | undefined => {
  switch (limit) {
    case "fixed-high":
      return undefined
    case "fixed-low":
    case "fixed-knee": {
      const fixed = limit === "fixed-low" ? knee / 2 : knee
      return { name: limit, initial: fixed, min: fixed, max: fixed }
    }
    case "gradient, tolerance 1.2":
      return { name: limit, initial: 4, algorithm: "gradient", latencyTolerance: 1.2 }
    default:
      return { name: limit, initial: 4, algorithm: limit }
  }
}

const lognormal: Simulated.Latency = { _tag: "LogNormal", median: "100 millis", p99OverP50: 2 }

/**
 * The backend, timed: each successful call's time inside it goes to
 * `served`. With `knee < hard` it queues before it rejects: past `knee`
 * calls in flight a call takes its drawn latency times in-flight / knee, and
 * past `hard` it answers 429 at once (100 ms retry-after). With `knee = hard`
 * it is the simulated model's own hidden capacity.
 */
const timedBackend = (knee: number, hard: number, served: Array<number>) => {
  const raw = knee === hard
    ? backend({ name: "capped", latency: lognormal }, { capacity: { concurrency: hard, retryAfter: "100 millis" } })
    : backend({ name: "knee", latency: lognormal })
  let inFlight = 0
  return Primitive.make("timed", (i: number) =>
    Effect.suspend(() => {
      // With knee = hard, the simulated model answers the 429s itself.
      if (knee < hard && inFlight >= hard) {
        return Effect.fail(new Model.RateLimited({ model: "knee", retryAfter: Duration.millis(100) }))
      }
      inFlight++
      const factor = Math.max(1, inFlight / knee)
      return Effect.gen(function*() {
        const start = yield* Clock.currentTimeMillis
        yield* Primitive.run(raw, i)
        const base = (yield* Clock.currentTimeMillis) - start
        if (factor > 1) yield* Effect.sleep(Duration.millis(Math.round(base * (factor - 1))))
        served.push((yield* Clock.currentTimeMillis) - start)
      }).pipe(Effect.ensuring(Effect.sync(() => inFlight--)))
    }))
}

/** `4 * hard` closed-loop callers for `seconds`; a 429 makes its caller wait the retry-after (100 ms). */
const load = (limit: Limit, knee: number, hard: number, seconds: number): Load => {
  const program = Effect.gen(function*() {
    const served: Array<number> = []
    const raw = timedBackend(knee, hard, served)
    const options = limiterOptions(limit, knee)
    const limiter = options === undefined ? undefined : yield* Concurrency.make(options)
    const call = limiter === undefined ? raw : raw.pipe(Concurrency.limit(limiter))
    let ok = 0
    let rejected = 0
    let total = 0
    let stop = false
    const worker = Effect.gen(function*() {
      while (!stop) {
        const start = yield* Clock.currentTimeMillis
        const exit = yield* Effect.exit(Primitive.run(call, 0))
        total += (yield* Clock.currentTimeMillis) - start
        if (Exit.isSuccess(exit)) ok++
        else {
          rejected++
          yield* Effect.sleep("100 millis")
        }
      }
    })
    const fibers = yield* Effect.forEach(Array.from({ length: hard * 4 }), () => Effect.fork(worker))
    yield* Effect.sleep(`${seconds} seconds`)
    stop = true
    yield* Effect.forEach(fibers, (f) => f.await)
    const finalLimit = limiter === undefined ? undefined : (yield* Concurrency.stats(limiter)).limit
    // A 429 is answered at once: the rest of a call's time, outside the backend, is its wait for a place.
    const inBackend = served.reduce((a, b) => a + b, 0)
    return {
      throughput: ok / seconds,
      rejected: rejected / (ok + rejected),
      finalLimit,
      p99: quantile(served.sort((a, b) => a - b), 0.99),
      wait: (total - inBackend) / (ok + rejected)
    }
  })
  const { exit } = runVirtual(program)
  if (Exit.isFailure(exit)) throw new Error(`tail bench: ${String(exit.cause)}`)
  return exit.value
}

const suite: Suite = {
  name: "tail",
  description: "Tail latency (hedging at p95) and adaptive concurrency vs a hidden capacity, in virtual time",
  run: async (options) => {
    modelSimulated = await import("../src/internal/modelSimulated.js")
    const calls = options.quick ? 5_000 : 20_000
    const seconds = options.quick ? 30 : 120
    const results: Record<string, number> = {}
    const ratios: Record<string, number> = {}
    const notes: Array<string> = []

    const stalls: Simulated.Latency = {
      _tag: "Mixture",
      components: [
        { weight: 0.98, latency: { _tag: "LogNormal", median: "100 millis", p99OverP50: 2 } },
        { weight: 0.02, latency: { _tag: "Uniform", min: "1 second", max: "2 seconds" } }
      ]
    }
    const tails: ReadonlyArray<readonly [string, Simulated.Latency, number]> = [
      ["lognormal p99=10x p50, hedge at p95", { _tag: "LogNormal", median: "100 millis", p99OverP50: 10 }, 95],
      ["body + 2% stalls, hedge at p95", stalls, 95],
      ["body + 2% stalls, hedge at p97", stalls, 97]
    ]
    const rows = [
      "| tail | p50 | p99 | p99.9 | p99 | p99.9 | p99 ratio | p99.9 ratio | extra calls | hedges capped |",
      "|---|---|---|---|---|---|---|---|---|---|",
      "| Tail at Scale (paper, at p95) | | | 1,800 ms | | 74 ms | | 24x | 2% | |"
    ]
    for (const [name, latency, percentile] of tails) {
      const { capped, hedged, plain } = hedging(latency, calls, percentile)
      results[`_${name}: p99 ms without`] = plain.p99
      results[`_${name}: p99 ms hedged`] = hedged.p99
      ratios[`${name}: p99 without/hedged`] = plain.p99 / hedged.p99
      ratios[`${name}: p99.9 without/hedged`] = plain.p999 / hedged.p999
      ratios[`${name}: extra calls (fraction)`] = hedged.extra
      rows.push(
        `| ${name} | ${plain.p50} / ${hedged.p50} ms | ${plain.p99} ms | ${plain.p999} ms | ${hedged.p99} ms | ` +
          `${hedged.p999} ms | ${(plain.p99 / hedged.p99).toFixed(1)}x | ${(plain.p999 / hedged.p999).toFixed(1)}x | ` +
          `${(hedged.extra * 100).toFixed(1)}% | ${capped} |`
      )
    }
    notes.push(
      `Hedging (cap 5% extra calls), ${
        calls.toLocaleString("en-US")
      } calls, 20 at a time. Columns: p50 (without / hedged), ` +
        "p99 and p99.9 without, p99 and p99.9 hedged. Target: p99 >= 3x lower for <= 5% extra calls.\n\n" +
        rows.join("\n")
    )

    // Mean latency 100 * exp(sigma^2 / 2) ms with sigma = ln 2 / 2.326: n calls at once serve n / mean per second.
    const sigma = Math.log(2) / 2.3263478740408408
    const perSecond = (n: number) => n / (0.1 * Math.exp((sigma * sigma) / 2))
    const table = (section: string, knee: number, hard: number, limits: ReadonlyArray<Limit>): string => {
      const rows = [
        "| limit | throughput (calls/s) | share of capacity | 429 rate | p99 backend latency | mean wait for a place " +
        "| final limit |",
        "|---|---|---|---|---|---|---|"
      ]
      for (const limit of limits) {
        const r = load(limit, knee, hard, seconds)
        const key = `${section}, ${limit}`
        results[`_${key}: calls per second`] = Math.round(r.throughput)
        results[`_${key}: p99 backend ms`] = r.p99
        results[`_${key}: mean wait ms`] = Math.round(r.wait)
        ratios[`${key}: share of capacity`] = r.throughput / perSecond(knee)
        ratios[`${key}: 429 rate`] = r.rejected
        rows.push(
          `| ${limit} | ${r.throughput.toFixed(0)} | ${(100 * r.throughput / perSecond(knee)).toFixed(1)}% | ` +
            `${(100 * r.rejected).toFixed(2)}% | ${r.p99} ms | ${r.wait.toFixed(0)} ms | ${r.finalLimit ?? "none"} |`
        )
      }
      return rows.join("\n")
    }

    const capacity = 50
    notes.push(
      `Hidden capacity: ${capacity} calls at once (${perSecond(capacity).toFixed(0)} calls/s), ${capacity * 4} ` +
        `closed-loop callers for ${seconds} s; fixed-low = ${capacity / 2}, fixed-high = no limit. ` +
        "Target (adaptive): >= 90% of capacity, < 1% rejected.\n\n" +
        table("wall", capacity, capacity, ["fixed-low", "fixed-high", "aimd", "gradient"])
    )
    const knee = 25
    notes.push(
      `Latency grows before the 429s: past ${knee} calls in flight a call takes its latency times in-flight / ` +
        `${knee}, and 429 past ${2 * knee}. Capacity ${perSecond(knee).toFixed(0)} calls/s (more in flight only ` +
        `queues); ${8 * knee} closed-loop callers for ${seconds} s; fixed-knee = ${knee} (the ideal limit, known ` +
        "only to the simulation), fixed-high = no limit.\n\n" +
        table("knee", knee, 2 * knee, ["fixed-knee", "fixed-high", "aimd", "gradient", "gradient, tolerance 1.2"])
    )
    return { results, ratios, notes }
  }
}

export default suite
