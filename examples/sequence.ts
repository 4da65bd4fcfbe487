/**
 * Sequence: the guide's `step1 >> step2 >> step3`.
 *
 * Three simulated model calls of 200 ms each (the guide's 2 s, scaled by 1/10)
 * run one after another, each receiving the previous step's output.
 *
 * Run: npx tsx examples/sequence.ts
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Primitive from "flowtune/Primitive"

const ms = (d: Duration.Duration) => `${Math.round(Duration.toMillis(d))} ms`

const llmStep = (name: string) =>
  Primitive.make(name, (text: string) => Effect.as(Effect.sleep("200 millis"), `${text} -> ${name}`))

const workflow = Primitive.sequence(llmStep("outline"), llmStep("draft"), llmStep("polish"))

const program = Effect.gen(function*() {
  const [duration, output] = yield* Effect.timed(Primitive.run(workflow, "topic"))
  console.log(`output:  ${output}`)
  console.log(`elapsed: ${ms(duration)} (3 steps x 200 ms, one after another)`)
})

Effect.runPromise(program)
