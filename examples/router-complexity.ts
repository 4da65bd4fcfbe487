/**
 * The guide's "Apply Intelligent Routing", for real: three simulated models,
 * a 70/20/10 simple/medium/complex workload routed by the complexity scorer,
 * and what routing saved against always calling the quality model.
 *
 *   npx tsx examples/router-complexity.ts
 *
 * Latencies are the guide's divided by 10 (0.08/0.15/0.25 s instead of
 * 0.8/1.5/2.5 s) so the example runs in seconds; costs are the guide's.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Primitive from "flowtune/Primitive"
import * as Router from "flowtune/Router"

const SCALE = 10

/** A simulated model: sleeps for its (scaled) latency, and declares its price. */
const simulatedModel = (name: string, latencyMillis: number, costPerCall: number) =>
  Primitive.make(
    name,
    (query: string) => Effect.as(Effect.sleep(Duration.millis(latencyMillis / SCALE)), `${name} answered: ${query}`),
    { annotations: { costPerCall, description: `${latencyMillis} ms, $${costPerCall} a call (guide)` } }
  )

const routes = {
  simple: simulatedModel("gpt-3.5", 800, 0.0005),
  medium: simulatedModel("gpt-4-turbo", 1500, 0.005),
  complex: simulatedModel("gpt-4", 2500, 0.01)
}

// 100 queries: 70 simple, 20 with a complexity keyword, 10 with keyword + code.
const workload = Array.from({ length: 100 }, (_, i) => {
  const k = i % 10
  if (k < 7) return `What is the capital of country #${i}?`
  if (k < 9) return `Explain photosynthesis to a ten year old (#${i})`
  return "Analyze this function and explain the bug:\n```python\ndef mean(xs): return sum(xs) / len(xs)\n```"
})

const routed = Router.make({
  name: "by-complexity",
  routes,
  select: Router.complexity(),
  fallback: ["complex", "medium", "simple"]
})
const alwaysQuality = Router.make({ name: "always-quality", routes, select: () => "complex" })

const percent = (x: number) => `${(x * 100).toFixed(0)}%`
const seconds = (d: Duration.Duration) => `${(Duration.toMillis(d) / 1000).toFixed(3)} s`

const program = Effect.gen(function*() {
  console.log(`Simulated models, latencies scaled down ${SCALE}x (guide: 0.8 s / 1.5 s / 2.5 s):`)
  for (const [key, model] of Object.entries(routes)) {
    console.log(`  ${key.padEnd(8)} ${model.name.padEnd(12)} ${model.annotations.description}`)
  }

  const first = Router.complexity()(workload[9]!)
  console.log(`\nWhy the last query of each ten goes to "${first.route}": ${first.reason}`)

  // One query at a time, as in the guide's per-query averages.
  for (const query of workload) yield* Primitive.run(routed, query)
  for (const query of workload) yield* Primitive.run(alwaysQuality, query)

  const fast = yield* Router.stats(routed)
  const slow = yield* Router.stats(alwaysQuality)

  console.log(`\nTraffic mix over ${fast.calls} queries:`)
  for (const route of Object.values(fast.routes)) {
    console.log(
      `  ${route.route.padEnd(8)} ${percent(route.share).padStart(4)}  mean ${seconds(route.meanLatency)}  ` +
        `total $${route.totalCost.toFixed(4)}`
    )
  }
  const latencyRatio = Duration.toMillis(slow.meanLatency) / Duration.toMillis(fast.meanLatency)
  const costRatio = slow.meanCost / fast.meanCost
  console.log(`\n                 routed      always quality`)
  console.log(`  mean latency   ${seconds(fast.meanLatency).padEnd(11)} ${seconds(slow.meanLatency)}`)
  console.log(`  mean cost      $${fast.meanCost.toFixed(5).padEnd(10)} $${slow.meanCost.toFixed(5)}`)
  console.log(`  total cost     $${fast.totalCost.toFixed(4).padEnd(10)} $${slow.totalCost.toFixed(4)}`)
  console.log(
    `\nRouting is ${latencyRatio.toFixed(2)}x faster and ${costRatio.toFixed(2)}x cheaper: ` +
      `$${(slow.totalCost - fast.totalCost).toFixed(4)} saved over ${fast.calls} queries ` +
      `(${percent(1 - fast.meanCost / slow.meanCost)} of the cost).`
  )
  console.log(
    `Guide (unscaled): 1.11 s vs 2.5 s (2.25x), $0.00235 vs $0.01 (4.26x). ` +
      `Measured latencies include real timer jitter.`
  )
})

Effect.runPromise(program)
