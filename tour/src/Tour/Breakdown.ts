/**
 * Step 2 of the guide: profile to find the bottleneck. The baseline workflow
 * runs again under `Metrics.profileRun`; its breakdown names the bottleneck,
 * and `Advisor.analyze` (the guide's "Identify Bottleneck Types" table,
 * automated) says what to do about it, here and on the multi-model analysis
 * run one call at a time.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Advisor from "flowtune/Advisor"
import * as Metrics from "flowtune/Metrics"
import * as Primitive from "flowtune/Primitive"
import * as Tracing from "flowtune/Tracing"
import type * as Tour from "../Tour.js"
import * as Baseline from "./Baseline.js"
import { claim, type Step, toGuideTime, toTimeline, TourEnv } from "./Common.js"
import * as Parallel from "./Parallel.js"

// The run's root and the workflow's primitives; not the spans the model client opens inside a primitive.
const isOwnSpan = (span: Tracing.SpanRecord): boolean =>
  span.parentSpanId === undefined || span.attributes[Tracing.Attributes.primitiveKind] !== undefined

/**
 * @since 0.1.0
 * @category steps
 */
export const step: Step = {
  id: "breakdown",
  title: "2. Breakdown & advisor",
  section: "Step 2: Profile to Find Bottlenecks",
  run: Effect.gen(function*() {
    const { scale } = yield* TourEnv
    const profiled = yield* Metrics.profileRun(Primitive.run(yield* Baseline.workflow, "What is Effect?"), {
      bottleneckThreshold: 0.5
    })
    const b = profiled.breakdown
    const bottleneck = b.bottleneck
    const share = (bottleneck?.share ?? 0) * 100
    // The advisor reads the run as the tour prints it: in guide time, and by the
    // names of the workflow's own steps (a model primitive's inner
    // `LanguageModel.generateText` span would otherwise name the step).
    const advise = (spans: ReadonlyArray<Tracing.SpanRecord>) =>
      Advisor.analyze(toGuideTime(spans.filter(isOwnSpan), scale))
    const baselineFindings = advise(profiled.spans)
    const workflows = yield* Parallel.workflows
    const [, sequentialSpans] = yield* Tracing.record(Primitive.run(workflows.multiModelSequential, "Analyze this"))
    const sequentialFindings = advise(sequentialSpans)
    const found = (findings: ReadonlyArray<Advisor.Finding>, tag: Advisor.Finding["_tag"]) =>
      findings.some((f) => f._tag === tag) ? 1 : 0
    const claims: Array<Tour.Claim> = [
      claim("bottleneck share (LLM-bound at 90%+)", 90, share, "%", { check: "at-least" }),
      claim("bottleneck found: llm_call", 1, bottleneck?.name === "llm_call" ? 1 : 0, "count"),
      claim("advisor: dominant step in the baseline", 1, found(baselineFindings, "DominantStep"), "count"),
      claim("advisor: parallelize the sequential analysis", 1, found(sequentialFindings, "Parallelize"), "count")
    ]
    const steps = b.steps.map((s) =>
      `${s.name.padEnd(18)} ${(s.durationMillis / scale).toFixed(0).padStart(5)} ms (${Math.round(s.share * 100)}%)${
        s.bottleneck ? "  <- bottleneck" : ""
      }`
    )
    return {
      headline: bottleneck === undefined
        ? "no bottleneck found"
        : `bottleneck: ${bottleneck.name} at ${share.toFixed(1)}% of ${(b.totalMillis / scale / 1000).toFixed(2)} s`,
      claims,
      timelines: [toTimeline("profiled run", profiled.spans, scale)],
      distributions: b.steps.map((s) => ({ label: s.name, values: [s.durationMillis / scale] })),
      assumptions: [{ label: "bottleneck threshold (Metrics.profileRun)", value: "50% of the run" }],
      notes: [
        ...steps,
        ...[...baselineFindings, ...sequentialFindings].map((f) =>
          `advisor [${f._tag}] (guide time): ${f.title} -> ${f.suggestion}`
        )
      ]
    }
  })
}
