/**
 * `npm run bench -- router`: what routing costs on top of the route it picks,
 * and what the complexity scorer costs per decision (target: under 2 us for a
 * 100-word query).
 */
import * as Effect from "effect/Effect"
import * as os from "node:os"
import * as Primitive from "../src/Primitive.js"
import * as Router from "../src/Router.js"
import { type Case, measure, ratios, settings, type Suite } from "./harness.js"

/** A 100-word question with no complexity signal until its last words, so the scan reads all of it. */
const query100 = [
  ...Array.from(
    { length: 96 },
    (_, i) => ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "near", "river", "bank"][i % 12]
  ),
  "so",
  "tell",
  "me",
  "why?"
].join(" ")

/** The guide's Python selector, transcribed as directly as JavaScript allows (split, lower-case, includes). */
const guideKeywords = ["analyze", "compare", "explain", "why", "how", "detailed"]
const guideScore = (query: string): string => {
  let score = 0
  const n = query.split(/\s+/).filter((w) => w.length > 0).length
  if (n > 100) score += 0.4
  else if (n > 50) score += 0.2
  const lower = query.toLowerCase()
  if (guideKeywords.some((k) => lower.includes(k))) score += 0.3
  if (query.includes("```") || query.includes("def ") || query.includes("class ")) score += 0.3
  return score >= 0.6 ? "complex" : score >= 0.3 ? "medium" : "simple"
}

/** Calibration: the least any single pass over the text can cost on this machine. */
const barePass = (text: string): number => {
  let spaces = 0
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 32) spaces++
  return spaces
}

let sink: unknown = undefined
const loop = (n: number, f: () => unknown) => () => {
  for (let i = 0; i < n; i++) sink = f()
}

const suite: Suite = {
  name: "router",
  description: "Routing overhead vs calling the chosen route directly, and the complexity scorer per decision",
  run: async (options) => {
    const route = (name: string) => Primitive.make(name, (q: string) => Effect.succeed(q.length))
    const routes = { simple: route("simple"), medium: route("medium"), complex: route("complex") }
    const fixed = Router.make({ name: "bench-fixed", routes, select: () => "medium" })
    const scored = Router.make({ name: "bench-scored", routes, select: Router.complexity() })
    const withFallback = Router.make({
      name: "bench-fallback",
      routes,
      select: Router.complexity(),
      fallback: ["complex", "medium", "simple"]
    })
    const score = Router.scorer()
    const select = Router.complexity()
    const direct = routes.medium

    const untraced = <A, E>(effect: Effect.Effect<A, E>) => Effect.runSync(Effect.withTracerEnabled(effect, false))
    const N = 1000
    const cases: Array<Case> = [
      { name: "route called directly", run: () => Effect.runSync(direct.run(query100)) },
      { name: "router, fixed key", run: () => Effect.runSync(fixed.run(query100)) },
      { name: "router, complexity selector", run: () => Effect.runSync(scored.run(query100)) },
      { name: "router, complexity + fallback list", run: () => Effect.runSync(withFallback.run(query100)) },
      { name: "route called directly, tracing off", run: () => untraced(direct.run(query100)) },
      { name: "router, fixed key, tracing off", run: () => untraced(fixed.run(query100)) },
      { name: "scorer, 100 words", ops: N, run: loop(N, () => score(query100)) },
      { name: "complexity decision, 100 words", ops: N, run: loop(N, () => select(query100)) },
      { name: "guide's selector (split + includes), 100 words", ops: N, run: loop(N, () => guideScore(query100)) },
      { name: "calibration: bare charCodeAt pass, 100 words", ops: N, run: loop(N, () => barePass(query100)) }
    ]
    const results = await measure(cases, settings(options))
    if (sink === undefined) throw new Error("unreachable")
    const overhead = results["router, complexity selector"]! - results["route called directly"]!
    const fixedOverhead = results["router, fixed key"]! - results["route called directly"]!
    const decision = results["complexity decision, 100 words"]!
    const stats = await Effect.runPromise(Router.stats(scored))
    return {
      results: {
        ...results,
        "routing overhead (complexity)": overhead,
        "routing overhead (fixed key)": fixedOverhead,
        "routing overhead (fixed key, tracing off)": results["router, fixed key, tracing off"]! -
          results["route called directly, tracing off"]!
      },
      ratios: ratios(results, [
        ["router, fixed key", "route called directly"],
        ["router, complexity selector", "route called directly"],
        ["router, fixed key, tracing off", "route called directly, tracing off"],
        ["guide's selector (split + includes), 100 words", "complexity decision, 100 words"],
        ["complexity decision, 100 words", "calibration: bare charCodeAt pass, 100 words"]
      ]),
      notes: [
        `Decision cost on a 100-word query: ${(decision / 1000).toFixed(2)} us (target < 2 us): ${
          decision < 2000 ? "met" : "NOT met"
        }; ${(decision / results["calibration: bare charCodeAt pass, 100 words"]!).toFixed(1)}x a bare pass over ` +
        `the same ${query100.length} characters (load average ${
          os.loadavg()[0]!.toFixed(1)
        } on ${os.availableParallelism()} cores).`,
        `The scored router was accounted ${stats.calls.toLocaleString("en-US")} calls, mix ${
          JSON.stringify(stats.mix)
        }.`
      ]
    }
  }
}

export default suite
