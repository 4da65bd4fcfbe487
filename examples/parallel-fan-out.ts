/**
 * Parallel fan-out: the guide's `step1 | step2 | step3`, and its multi-model
 * analysis (2.5 s, 2.0 s, 1.5 s, then a 0.1 s consensus), scaled by 1/10.
 *
 * Also shows fail-fast: when one branch fails, its siblings are interrupted at
 * once (their finalizers run), unlike the original Python version.
 *
 * Run: npx tsx examples/parallel-fan-out.ts
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Primitive from "flowtune/Primitive"

const ms = (d: Duration.Duration) => `${Math.round(Duration.toMillis(d))} ms`

const analysis = (model: string, millis: number) =>
  Primitive.make(
    model,
    (text: string) =>
      Effect.as(Effect.sleep(`${millis} millis`), { model, verdict: `${model} read ${text.length} chars` })
  )

const consensus = Primitive.make(
  "consensus",
  (analyses: ReadonlyArray<{ readonly model: string }>) =>
    Effect.as(Effect.sleep("10 millis"), `consensus of ${analyses.map((a) => a.model).join(", ")}`)
)

const models = [analysis("gpt-4", 250), analysis("claude", 200), analysis("gemini", 150)] as const
const sequential = Primitive.sequence(
  Primitive.forEach(
    Primitive.make("one-at-a-time", (i: number) => models[i]!.run("The quarterly report")),
    { concurrency: 1 }
  ),
  consensus
)
const parallel = Primitive.sequence(Primitive.parallel(models), consensus)

const program = Effect.gen(function*() {
  const [seqTime] = yield* Effect.timed(Primitive.run(sequential, [0, 1, 2]))
  const [parTime, result] = yield* Effect.timed(Primitive.run(parallel, "The quarterly report"))
  console.log(`sequential: ${ms(seqTime)}  (guide: 6.1 s, scaled 0.61 s)`)
  console.log(`parallel:   ${ms(parTime)}  (guide: 2.6 s, scaled 0.26 s)`)
  console.log(`result:     ${result}`)

  const slowBranch = Primitive.make(
    "slow",
    (_: string) =>
      Effect.sleep("5 seconds").pipe(Effect.onInterrupt(() => Effect.log("slow branch interrupted, cleaned up")))
  )
  const failing = Primitive.make(
    "failing",
    (_: string) => Effect.zipRight(Effect.sleep("50 millis"), Effect.fail("upstream returned 500"))
  )
  const [failTime, error] = yield* Effect.timed(
    Effect.flip(Primitive.run(Primitive.parallel([slowBranch, failing]), "x"))
  )
  console.log(`fail-fast:  failed with "${error}" after ${ms(failTime)}, not 5 s`)
})

Effect.runPromise(program)
