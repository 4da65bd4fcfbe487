/**
 * `npm run bench -- primitive`: the cost of composing trivial steps, on the
 * path a user takes.
 *
 * A sequence of 10 steps and a fan-out of 10 branches, each step `n => n + 1`.
 * The user's path comes first: `Effect.runPromise(Primitive.run(p, 0))` with
 * default options and Effect's default tracer, exactly as the README shows it.
 * Its peers have the same entry point and loop shape:
 * - per call: one `runPromise` per operation on both sides (`seq.effect` is
 *   `runPromise` of a 10-`flatMap` chain; `fan.promise-all` is one
 *   `Promise.all` of 10 async calls);
 * - in a run: 100 operations inside one program on both sides (one
 *   `runPromise` of `repeatN` against one async function looping 100 times).
 * `fan.user.functions` is the fan-out over `fromFunction` steps, which run in
 * place (no fiber each), against the same `Promise.all` of async calls.
 * Internal fast paths (`p.run` with tracing off, no run context) are
 * measured beside them, labelled `internal.`, and are not what users get.
 */
import { RunnableLambda, RunnableParallel, RunnableSequence } from "@langchain/core/runnables"
import * as Effect from "effect/Effect"
import * as Primitive from "../src/Primitive.js"
import { measureAll, pairedRatios, settings, type Suite } from "./harness.js"

const N = 10
const INNER = 100
const indices = Array.from({ length: N }, (_, i) => i)

const asyncStep = async (n: number) => n + 1
const effectStep = (n: number) => Effect.succeed(n + 1)

const steps = indices.map((i) => Primitive.make(`step${i}`, effectStep))
const sequence = Primitive.sequence(...(steps as unknown as [Primitive.Primitive<number, number>]))
const fanOut = Primitive.parallel(steps as unknown as [Primitive.Primitive<number, number>])
// The same fan-out over plain functions (`fromFunction`): no fiber per branch.
const functionSteps = indices.map((i) => Primitive.fromFunction(`f${i}`, (n: number) => n + 1))
const fanOutFunctions = Primitive.parallel(functionSteps as unknown as [Primitive.Primitive<number, number>])

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

const inRun = <A, E>(effect: Effect.Effect<A, E>) => ({
  ops: INNER,
  run: () => Effect.runPromise(Effect.repeatN(effect, INNER - 1))
})

const suite: Suite = {
  name: "primitive",
  description: "Sequence of 10 and fan-out of 10 trivial steps through Primitive.run (user's path) vs peers",
  run: async (options) => {
    const measured = await measureAll([
      // the user's path and its like-for-like peers, one runPromise per call
      { name: "seq.user", run: () => Effect.runPromise(Primitive.run(sequence, 0)) },
      { name: "seq.effect", run: () => Effect.runPromise(plainChain(0)) },
      {
        name: "seq.async-await",
        run: async () => {
          let x = 0
          for (let i = 0; i < N; i++) x = await asyncStep(x)
          return x
        }
      },
      { name: "seq.langchain", run: () => lcSequence.invoke(0) },
      // 100 sequences inside one run
      { name: "seq.user.in-run", ...inRun(Primitive.run(sequence, 0)) },
      { name: "seq.effect.in-run", ...inRun(plainChain(0)) },
      // the fan-out, one entry per call
      { name: "fan.user", run: () => Effect.runPromise(Primitive.run(fanOut, 0)) },
      { name: "fan.user.functions", run: () => Effect.runPromise(Primitive.run(fanOutFunctions, 0)) },
      { name: "fan.promise-all", run: () => Promise.all(indices.map(() => asyncStep(0))) },
      { name: "fan.effect-all", run: () => Effect.runPromise(plainAll(0)) },
      { name: "fan.langchain", run: () => lcParallel.invoke(0) },
      // 100 fan-outs inside one run, against 100 Promise.all in one async function
      { name: "fan.user.in-run", ...inRun(Primitive.run(fanOut, 0)) },
      {
        name: "fan.promise-all.in-run",
        ops: INNER,
        run: async () => {
          for (let k = 0; k < INNER; k++) await Promise.all(indices.map(() => asyncStep(0)))
        }
      },
      // the floor: entering the Effect runtime from a Promise, nothing else
      { name: "floor.runPromise(void)", run: () => Effect.runPromise(Effect.void) },
      // the floor of a fan-out that gives each branch a fiber: ten fibers that do nothing
      { name: "floor.10-fibers", run: () => Promise.all(indices.map(() => Effect.runPromise(Effect.void))) },
      // internal fast paths, not what a user gets from the README
      { name: "internal.seq.p.run-untraced", run: () => Effect.runPromise(untraced(sequence.run(0))) },
      { name: "internal.fan.p.run-untraced", run: () => Effect.runPromise(untraced(fanOut.run(0))) }
    ], settings(options))
    const { ratios, spreads } = pairedRatios(measured, [
      ["seq.user", "seq.effect"],
      ["seq.user.in-run", "seq.effect.in-run"],
      ["seq.user", "seq.async-await"],
      ["seq.langchain", "seq.async-await"],
      ["fan.user", "fan.promise-all"],
      ["fan.user.functions", "fan.promise-all"],
      ["fan.user.in-run", "fan.promise-all.in-run"],
      ["fan.effect-all", "fan.promise-all"],
      ["fan.langchain", "fan.promise-all"],
      ["floor.runPromise(void)", "fan.promise-all"],
      ["floor.10-fibers", "fan.promise-all"],
      ["internal.seq.p.run-untraced", "seq.effect"],
      ["internal.fan.p.run-untraced", "fan.promise-all"]
    ])
    return {
      results: measured.cpu,
      wall: measured.wall,
      ratios,
      spreads,
      notes: [
        "Targets (issue 16): seq.user/seq.effect <= 1.5; fan.user/fan.promise-all <= 20.",
        "floor.runPromise(void)/fan.promise-all is what entering Effect once per call costs before any work."
      ]
    }
  }
}

export default suite
