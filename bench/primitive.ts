/**
 * `npm run bench -- primitive`: the cost of composing trivial steps.
 *
 * A sequence of 10 steps and a fan-out of 10 branches, each step `n => n + 1`,
 * through flowtune, plain async/await and Promise.all, plain Effect, and
 * LangChain.js runnables, all in one process and interleaved rounds. flowtune
 * is measured with span tracing off (`Effect.withTracerEnabled(false)`) and on
 * (Effect's built-in tracer).
 */
import { RunnableLambda, RunnableParallel, RunnableSequence } from "@langchain/core/runnables"
import * as Effect from "effect/Effect"
import * as Primitive from "../src/Primitive.js"
import { measure, ratios, settings, type Suite } from "./harness.js"

const N = 10
const indices = Array.from({ length: N }, (_, i) => i)

const asyncStep = async (n: number) => n + 1
const effectStep = (n: number) => Effect.succeed(n + 1)

const steps = indices.map((i) => Primitive.make(`step${i}`, effectStep))
const sequence = Primitive.sequence(...(steps as unknown as [Primitive.Primitive<number, number>]))
const fanOut = Primitive.parallel(steps as unknown as [Primitive.Primitive<number, number>])

const plainChain = (input: number) => {
  let effect = effectStep(input)
  for (let i = 1; i < N; i++) effect = Effect.flatMap(effect, effectStep)
  return effect
}
const plainAll = (input: number) => Effect.all(indices.map(() => effectStep(input)), { concurrency: "unbounded" })

const lambdas = indices.map((i) => RunnableLambda.from(asyncStep).withConfig({ runName: `step${i}` }))
const lcSequence = RunnableSequence.from(
  lambdas as unknown as [RunnableLambda<number, number>, RunnableLambda<number, number>]
)
const lcParallel = RunnableParallel.from(Object.fromEntries(lambdas.map((l, i) => [`b${i}`, l])))

const untraced = <A, E>(effect: Effect.Effect<A, E>) => Effect.withTracerEnabled(effect, false)

// Inside a running workflow the fan-out does not pay `runPromise` (entering the
// Effect runtime from a Promise, ~8x a Promise.all on its own): run it 100
// times in one program and report the cost per fan-out.
const INNER = 100
const inWorkflow = <A, E>(effect: Effect.Effect<A, E>) => ({
  ops: INNER,
  run: () => Effect.runPromise(untraced(Effect.repeatN(effect, INNER - 1)))
})

const suite: Suite = {
  name: "primitive",
  description: "Sequence of 10 and fan-out of 10 trivial steps: flowtune vs async/await, Effect, LangChain.js",
  run: async (options) => {
    const results = await measure([
      {
        name: "seq.async-await",
        run: async () => {
          let x = 0
          for (let i = 0; i < N; i++) x = await asyncStep(x)
          return x
        }
      },
      { name: "seq.effect", run: () => Effect.runPromise(untraced(plainChain(0))) },
      { name: "seq.flowtune", run: () => Effect.runPromise(untraced(sequence.run(0))) },
      { name: "seq.flowtune.traced", run: () => Effect.runPromise(sequence.run(0)) },
      { name: "seq.flowtune.run-context", run: () => Effect.runPromise(untraced(Primitive.run(sequence, 0))) },
      { name: "seq.langchain", run: () => lcSequence.invoke(0) },
      { name: "fan.promise-all", run: () => Promise.all(indices.map(() => asyncStep(0))) },
      { name: "fan.effect-all", run: () => Effect.runPromise(untraced(plainAll(0))) },
      { name: "fan.flowtune", run: () => Effect.runPromise(untraced(fanOut.run(0))) },
      { name: "fan.flowtune.traced", run: () => Effect.runPromise(fanOut.run(0)) },
      { name: "fan.effect-all.in-workflow", ...inWorkflow(plainAll(0)) },
      { name: "fan.flowtune.in-workflow", ...inWorkflow(fanOut.run(0)) },
      { name: "fan.langchain", run: () => lcParallel.invoke(0) }
    ], settings(options))
    return {
      results,
      ratios: ratios(results, [
        ["seq.flowtune", "seq.effect"],
        ["seq.flowtune.traced", "seq.effect"],
        ["seq.effect", "seq.async-await"],
        ["seq.flowtune", "seq.async-await"],
        ["seq.langchain", "seq.async-await"],
        ["fan.flowtune", "fan.promise-all"],
        ["fan.flowtune.traced", "fan.promise-all"],
        ["fan.effect-all", "fan.promise-all"],
        ["fan.langchain", "fan.promise-all"],
        ["fan.flowtune", "fan.effect-all"],
        ["fan.flowtune.in-workflow", "fan.promise-all"],
        ["fan.flowtune.in-workflow", "fan.effect-all.in-workflow"]
      ]),
      notes: [
        "Targets: seq.flowtune/seq.effect <= 1.5; fan.flowtune/fan.promise-all <= 20 (siblings still interrupted on failure)."
      ]
    }
  }
}

export default suite
