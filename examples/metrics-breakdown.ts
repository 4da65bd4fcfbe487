/**
 * The guide's "Measure Baseline" step without a single timer: run the
 * workflow under `FlowMetrics.profileRun` and print where the time went.
 *
 *   npx tsx examples/metrics-breakdown.ts
 */
import * as Effect from "effect/Effect"
import * as FlowMetrics from "flowtune/Metrics"
import * as Primitive from "flowtune/Primitive"
import * as WorkflowContext from "flowtune/WorkflowContext"

const processInput = Primitive.make(
  "input_processing",
  (query: string) => Effect.as(Effect.sleep("50 millis"), query.trim())
)

const llmCall = Primitive.make("llm_call", (prompt: string) =>
  Effect.gen(function*() {
    yield* Effect.sleep("300 millis")
    yield* WorkflowContext.checkpoint("first_token")
    yield* Effect.sleep("2000 millis")
    return `An answer to "${prompt}"`
  }))

const formatOutput = Primitive.make(
  "output_formatting",
  (answer: string) => Effect.as(Effect.sleep("100 millis"), answer.toUpperCase())
)

const workflow = Primitive.sequence(processInput, llmCall, formatOutput)

const program = Effect.gen(function*() {
  const { breakdown, value } = yield* FlowMetrics.profileRun(Primitive.run(workflow, "  what is flowtune?  "))
  console.log(value)
  console.log(FlowMetrics.formatBreakdown(breakdown))
})

Effect.runPromise(program)
