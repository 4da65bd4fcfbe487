/**
 * Checkpoints: timestamped marks on a run's timeline (and span events), from
 * the run itself and from parallel branches, read back as a value.
 *
 * Run: npx tsx examples/checkpoints.ts
 */
import * as Effect from "effect/Effect"
import * as Primitive from "flowtune/Primitive"
import * as WorkflowContext from "flowtune/WorkflowContext"

const step = (name: string, millis: number) =>
  Primitive.make(name, (_: unknown) =>
    Effect.gen(function*() {
      yield* WorkflowContext.checkpoint(`${name}.start`)
      yield* Effect.sleep(`${millis} millis`)
      yield* WorkflowContext.checkpoint(`${name}.end`, { millis })
    }))

const workflow = Primitive.sequence(
  step("input-processing", 5),
  Primitive.parallel({ summary: step("summary", 120), keywords: step("keywords", 60) }),
  step("output-formatting", 10)
)

const program = Effect.gen(function*() {
  yield* Primitive.run(workflow, "document")
  const context = yield* WorkflowContext.WorkflowContext
  const timeline = yield* WorkflowContext.timeline
  console.log(
    `run ${context.runId} (correlation ${context.correlationId}, metadata ${JSON.stringify(context.metadata)})`
  )
  for (const mark of timeline) {
    const branch = mark.branch.length > 0 ? `[${mark.branch.join("/")}]` : ""
    console.log(`  +${String(mark.at - context.startedAt).padStart(4)} ms  ${mark.name} ${branch}`)
  }
}).pipe(WorkflowContext.withContext({ metadata: { user: "ada" } }))

Effect.runPromise(program)
