/**
 * Step 1 of the guide: measure the baseline. A three-step workflow (input
 * processing 50 ms, an LLM call 2.3 s, output formatting 100 ms) run once
 * with span recording on; its breakdown is the guide's "Baseline Metrics".
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Model from "flowtune/Model"
import * as Primitive from "flowtune/Primitive"
import type * as Tour from "../Tour.js"
import { allowanceMs, claim, model, simulated, type Step, TourEnv, traced } from "./Common.js"
import * as World from "./World.js"

/**
 * The guide's baseline steps and their latencies (guide milliseconds).
 *
 * @since 0.1.0
 * @category workflows
 */
export const guideSteps = [
  { name: "input_processing", ms: 50, share: 2 },
  { name: "llm_call", ms: 2300, share: 94 },
  { name: "output_formatting", ms: 100, share: 4 }
] as const

/**
 * The baseline workflow: input processing, then the LLM call (a simulated
 * model taking the guide's 2.3 s), then output formatting.
 *
 * @since 0.1.0
 * @category workflows
 */
export const workflow = Effect.map(
  Effect.flatMap(TourEnv, ({ world }) => model(world.models.llmCall, "llm_call")),
  (llmCall) =>
    Primitive.withName(
      Primitive.sequence(
        simulated<string>("input_processing", 50),
        llmCall,
        simulated<Model.Completion>("output_formatting", 100)
      ),
      "workflow"
    )
)

/**
 * Guide milliseconds spent in each named span of a timeline.
 *
 * @since 0.1.0
 * @category measuring
 */
export const durations = (timeline: Tour.Timeline): Map<string, number> => {
  const out = new Map<string, number>()
  for (const bar of timeline.bars) out.set(bar.name, (out.get(bar.name) ?? 0) + bar.endMs - bar.startMs)
  return out
}

/**
 * @since 0.1.0
 * @category steps
 */
export const step: Step = {
  id: "baseline",
  title: "1. Baseline",
  section: "Step 1: Measure Baseline Performance",
  run: Effect.gen(function*() {
    const run = yield* traced("baseline", Primitive.run(yield* workflow, "What is Effect?"))
    const byName = durations(run.timeline)
    const total = byName.get("workflow") ?? run.ms
    const { world } = yield* TourEnv
    const claims: Array<Tour.Claim> = [claim("total time", 2450, total, "ms")]
    for (const s of guideSteps) claims.push(claim(`${s.name}`, s.ms, byName.get(s.name) ?? 0, "ms"))
    // A share of the run inherits its step's fixed allowance, as points of the guide's total.
    for (const s of guideSteps) {
      claims.push(
        claim(`${s.name} share`, s.share, (100 * (byName.get(s.name) ?? 0)) / total, "%", {
          slack: (100 * allowanceMs) / 2450
        })
      )
    }
    const llmShare = (100 * (byName.get("llm_call") ?? 0)) / total
    return {
      headline: `${(total / 1000).toFixed(2)} s per run, llm_call is ${llmShare.toFixed(0)}% of it: the bottleneck`,
      claims,
      assumptions: [
        { label: "input_processing, output_formatting (simulated work)", value: "50 ms, 100 ms" },
        { label: "llm_call (simulated model)", value: World.describeModel(world.models.llmCall) }
      ],
      timelines: [run.timeline],
      distributions: guideSteps.map((s) => ({ label: s.name, values: [byName.get(s.name) ?? 0] })),
      notes: []
    }
  })
}
