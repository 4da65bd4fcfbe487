/**
 * The simulated model alone, part of `npm run bench -- e2e`.
 */
import { FakeListChatModel } from "@langchain/core/utils/testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Model from "../../src/Model.js"
import * as Primitive from "../../src/Primitive.js"
import { measureAll, pairedRatios } from "../harness.js"

// -----------------------------------------------------------------------------
// the simulated model alone
//
// One model call at 0 ms, 200 at a time, each through its own entry:
// `Model.simulated` through `Primitive.run`; `Model.generate` over
// `Model.layerSimulated`, the same simulated provider as a stock @effect/ai
// `LanguageModel.make` service (what `Model.simulated` ran before it kept its
// own parts decoder); LangChain's `FakeListChatModel.invoke`. Paired rounds
// (bench/harness.ts).

/** One model call at 0 ms, 200 at a time, through each entry. */
export const modelCalls = async (quick: boolean) => {
  const C = 200
  const queries = Array.from({ length: C }, (_, i) => `what does document ${i} say about topic ${i % 97}?`)
  const profile = { name: "bench-zero", latency: 0, costPerCall: 0.001 }
  const simulated = Model.simulated(profile)
  const generate = Model.generate({ name: "bench-zero" })
  // the stock service, built once: `Model.layerSimulated` is @effect/ai's `LanguageModel.make`
  const stock = await Effect.runPromise(Effect.scoped(Layer.build(Model.layerSimulated(profile))))
  const viaStock = (q: string) => Effect.provide(Primitive.run(generate, q), stock)
  const fake = new FakeListChatModel({ responses: ["bench-zero: an answer"] })
  const measured = await measureAll([
    {
      name: "model.simulated",
      ops: C,
      run: () => Promise.all(queries.map((q) => Effect.runPromise(Primitive.run(simulated, q))))
    },
    {
      name: "model.stock-ai-service",
      ops: C,
      run: () => Promise.all(queries.map((q) => Effect.runPromise(viaStock(q))))
    },
    { name: "model.langchain-fake", ops: C, run: () => Promise.all(queries.map((q) => fake.invoke(q))) }
  ], quick ? { rounds: 3, timePerRoundMs: 150, warmupMs: 100 } : { rounds: 7, timePerRoundMs: 300, warmupMs: 300 })
  return {
    measured,
    ...pairedRatios(measured, [
      ["model.simulated", "model.stock-ai-service"],
      ["model.simulated", "model.langchain-fake"]
    ])
  }
}
