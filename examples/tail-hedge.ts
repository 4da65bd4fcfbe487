/**
 * Hedged calls: a simulated model with the tail "The Tail at Scale" describes
 * (a fast body and 2% of stalls), called 300 times without and with a hedge
 * at its own p95 (at most 5% extra calls). Prints p50/p99 and the extra calls.
 *
 * Run: npx tsx examples/tail-hedge.ts   (about 20 s)
 */
import * as Effect from "effect/Effect"
import * as Hedge from "flowtune/Hedge"
import * as Model from "flowtune/Model"
import * as Primitive from "flowtune/Primitive"

const tail: Model.Profile = {
  name: "tail",
  latency: {
    _tag: "Mixture",
    components: [
      { weight: 0.98, latency: { _tag: "LogNormal", median: "200 millis", p99OverP50: 2 } },
      { weight: 0.02, latency: { _tag: "Uniform", min: "2 seconds", max: "4 seconds" } }
    ]
  },
  costPerCall: 0.001
}

const timed = (p: Primitive.Primitive<string, Model.Completion, unknown>) =>
  Effect.forEach(Array.from({ length: 300 }, (_, i) => `question ${i}`), (q) =>
    Effect.gen(function*() {
      const start = Date.now()
      yield* Primitive.run(p, q)
      return Date.now() - start
    }), { concurrency: 10 }).pipe(Effect.map((ms) => ms.sort((a, b) => a - b)))

const at = (sorted: ReadonlyArray<number>, q: number) => sorted[Math.ceil(q * sorted.length) - 1]

const program = Effect.gen(function*() {
  const plain = yield* timed(Model.simulated(tail, { seed: 1 }))
  const hedged = yield* Hedge.make(Model.simulated(tail, { seed: 1 }), {
    delay: { percentile: 95, minSamples: 20 },
    maxExtra: 0.05
  })
  const withHedge = yield* timed(hedged)
  const stats = yield* Hedge.stats(hedged)
  console.log(`without hedging: p50 ${at(plain, 0.5)} ms, p99 ${at(plain, 0.99)} ms`)
  console.log(`hedged at p95:   p50 ${at(withHedge, 0.5)} ms, p99 ${at(withHedge, 0.99)} ms`)
  console.log(
    `extra calls: ${(stats.extraFraction * 100).toFixed(1)}% (${stats.hedged} hedges, ${stats.hedgeWins} won, ` +
      `delay now ${stats.currentDelayMs} ms, $${stats.extraCostUsd.toFixed(3)} charged for second attempts)`
  )
})

Effect.runPromise(program)
