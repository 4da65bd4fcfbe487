/**
 * Step 3 of the guide: parallelize. Three before/after pairs: three 2 s steps
 * in sequence vs fanned out; the multi-model analysis (2.5 s, 2.0 s, 1.5 s,
 * then a 0.1 s consensus); and map-reduce over 10 items of 1 s.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Model from "flowtune/Model"
import * as Primitive from "flowtune/Primitive"
import type * as Tour from "../Tour.js"
import { claim, model, simulated, type Step, TourEnv, traced } from "./Common.js"
import * as Parallel from "./Parallel.js"
import * as World from "./World.js"

const fanOutSteps = [
  simulated<string>("step1", 2000),
  simulated<string>("step2", 2000),
  simulated<string>("step3", 2000)
] as const

const processItem = simulated<number>("process_item", 1000)
const aggregate = simulated<ReadonlyArray<number>>("aggregate_results", 100)
const consensus = simulated<ReadonlyArray<Model.Completion>>("consensus_aggregator", 100)

/**
 * The guide's workflows, before and after. The multi-model analysis uses the
 * simulated models of `Model.profiles` (GPT-4-like 2.5 s, Claude-like 2.0 s,
 * Gemini-like 1.5 s); "sequential" is the same fan-out one call at a time.
 * The "parallel" fan-outs run as many branches at once as the world's
 * `fanOutConcurrency` allows (no bound in the guide's world).
 *
 * @since 0.1.0
 * @category workflows
 */
export const workflows = Effect.gen(function*() {
  const { world } = yield* TourEnv
  const concurrency = world.fanOutConcurrency
  const analyses = [
    yield* model(world.models.gpt4Like, "gpt4_analysis"),
    yield* model(world.models.claudeLike, "claude_analysis"),
    yield* model(world.models.geminiLike, "gemini_analysis")
  ] as const
  return {
    fanOutSequential: Primitive.withName(Primitive.sequence(...fanOutSteps), "step1 >> step2 >> step3"),
    fanOutParallel: Primitive.parallel(fanOutSteps, { name: "step1 | step2 | step3", concurrency }),
    multiModelSequential: Primitive.withName(
      Primitive.sequence(Primitive.parallel(analyses, { name: "gpt4 >> claude >> gemini", concurrency: 1 }), consensus),
      "sequential analysis"
    ),
    multiModelParallel: Primitive.withName(
      Primitive.sequence(Primitive.parallel(analyses, { name: "gpt4 | claude | gemini", concurrency }), consensus),
      "parallel analysis"
    ),
    mapReduceSequential: Primitive.withName(
      Primitive.sequence(Primitive.forEach(processItem, { concurrency: 1 }), aggregate),
      "map-reduce, one at a time"
    ),
    mapReduceParallel: Primitive.withName(
      Primitive.sequence(Primitive.forEach(processItem, { concurrency }), aggregate),
      "map-reduce, parallel"
    )
  }
})

const categories = ["3 steps of 2 s", "multi-model analysis", "map-reduce, 10 items"]

const items = Array.from({ length: 10 }, (_, i) => i)

/**
 * @since 0.1.0
 * @category steps
 */
export const step: Step = {
  id: "parallel",
  title: "3. Parallelize",
  section: "Step 3: Apply Parallelization",
  run: Effect.gen(function*() {
    const { world } = yield* TourEnv
    const workflows = yield* Parallel.workflows
    const fanSeq = yield* traced("3 steps, sequential", Primitive.run(workflows.fanOutSequential, "q"))
    const fanPar = yield* traced("3 steps, parallel", Primitive.run(workflows.fanOutParallel, "q"))
    const mmSeq = yield* traced("multi-model, sequential", Primitive.run(workflows.multiModelSequential, "q"))
    const mmPar = yield* traced("multi-model, parallel", Primitive.run(workflows.multiModelParallel, "q"))
    const mrSeq = yield* traced("map-reduce, sequential", Primitive.run(workflows.mapReduceSequential, items))
    const mrPar = yield* traced("map-reduce, parallel", Primitive.run(workflows.mapReduceParallel, items))
    const claims: Array<Tour.Claim> = [
      claim("3 x 2 s steps, sequential", 6, fanSeq.ms / 1000, "s"),
      claim("3 x 2 s steps, parallel", 2, fanPar.ms / 1000, "s"),
      claim("3 steps speedup", 3, fanSeq.ms / fanPar.ms, "x"),
      claim("multi-model, sequential", 6.1, mmSeq.ms / 1000, "s"),
      claim("multi-model, parallel", 2.6, mmPar.ms / 1000, "s"),
      claim("multi-model speedup", 2.3, mmSeq.ms / mmPar.ms, "x"),
      claim("map-reduce 10 items, sequential", 10.1, mrSeq.ms / 1000, "s"),
      claim("map-reduce 10 items, parallel", 1.1, mrPar.ms / 1000, "s"),
      claim("map-reduce speedup", 9.2, mrSeq.ms / mrPar.ms, "x")
    ]
    return {
      headline: `multi-model analysis ${(mmSeq.ms / 1000).toFixed(2)} s -> ${(mmPar.ms / 1000).toFixed(2)} s (${
        (mmSeq.ms / mmPar.ms).toFixed(2)
      }x); map-reduce ${(mrSeq.ms / mrPar.ms).toFixed(1)}x`,
      claims,
      timelines: [mmSeq.timeline, mmPar.timeline, fanSeq.timeline, fanPar.timeline, mrSeq.timeline, mrPar.timeline],
      distributions: [
        { label: "sequential", values: [fanSeq.ms, mmSeq.ms, mrSeq.ms], categories },
        { label: "parallel", values: [fanPar.ms, mmPar.ms, mrPar.ms], categories }
      ],
      assumptions: [
        {
          label: "step1..3, process_item, aggregate, consensus (simulated work)",
          value: "2 s each, 1 s, 0.1 s, 0.1 s"
        },
        ...[world.models.gpt4Like, world.models.claudeLike, world.models.geminiLike].map((p) => ({
          label: "analysis model (simulated)",
          value: World.describeModel(p)
        })),
        { label: "fan-out concurrency", value: String(world.fanOutConcurrency) }
      ],
      notes: []
    }
  })
}
