/**
 * The guide's "Identify Bottleneck Types" table, automated: run a workflow
 * that makes the classic mistakes and let the advisor point them out, then
 * run the fixed version and get no findings.
 *
 *   npx tsx examples/advisor-findings.ts
 */
import * as Effect from "effect/Effect"
import * as Advisor from "flowtune/Advisor"
import * as FlowMetrics from "flowtune/Metrics"
import * as Primitive from "flowtune/Primitive"

// A model-like call: GenAI attributes on its span, optionally streamed.
const model = (name: string, millis: number, ttftMillis?: number) =>
  FlowMetrics.instrument(
    Primitive.make(name, (prompt: string) =>
      Effect.gen(function*() {
        yield* Effect.annotateCurrentSpan({
          "gen_ai.system": "simulated",
          "gen_ai.request.model": "sim-large",
          ...(ttftMillis === undefined ? {} : { "flowtune.stream.ttft_ms": ttftMillis })
        })
        yield* Effect.sleep(`${millis} millis`)
        return `${name}(${prompt})`
      })),
    { fingerprint: true }
  )

const lookup = FlowMetrics.instrument(
  Primitive.make(
    "lookup",
    (id: string) =>
      Effect.as(
        Effect.zipRight(Effect.annotateCurrentSpan("flowtune.backend", "postgres"), Effect.sleep("10 millis")),
        id
      )
  ),
  { fingerprint: true }
)

const naive = Primitive.sequence(
  Primitive.fromFunction("split", (doc: string) => [...doc.split(" "), "the", "the"]),
  Primitive.forEach(lookup, { concurrency: 1 }),
  Primitive.fromFunction("join", (words: Array<string>) => words.join(" ")),
  model("summary", 1200),
  model("keywords", 1200),
  model("sentiment", 1200)
).pipe(Primitive.withName("naive"))

const tuned = Primitive.sequence(
  Primitive.fromFunction("prepare", (doc: string) => doc.trim()),
  Primitive.parallel({
    summary: model("summary", 1200, 150),
    keywords: model("keywords", 1200, 150),
    sentiment: model("sentiment", 1200, 150)
  }),
  Primitive.fromFunction("combine", (r: Record<string, string>) => Object.values(r).join("\n"))
).pipe(Primitive.withName("tuned"))

const program = Effect.gen(function*() {
  for (const workflow of [naive, tuned]) {
    const run = yield* Advisor.adviseRun(Primitive.run(workflow, "the quick brown fox jumps over the lazy dog"))
    console.log(FlowMetrics.formatBreakdown(run.breakdown))
    console.log(Advisor.formatFindings(run.findings))
    console.log()
  }
})

Effect.runPromise(program)
