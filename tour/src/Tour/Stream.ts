/**
 * Step 6 of the guide, streaming: the same answer of the world's streaming
 * model (`Model.profiles.streaming` in the guide's world: first token 0.3 s,
 * complete 2.5 s), once returned whole (`Model.simulated`) and once streamed
 * token by token (`Model.simulatedStream` on the same profile, measured with
 * `Stream.timed`). The first token's time is what the stream measured, so a
 * slower profile shows up as a slower first token.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Model from "flowtune/Model"
import * as Primitive from "flowtune/Primitive"
import * as FlowStream from "flowtune/Stream"
import type * as Tour from "../Tour.js"
import { allowanceMs, claim, model, type Step, TourEnv, traced } from "./Common.js"
import * as World from "./World.js"

const prompt = "Explain quantum computing"

// The answer the simulated model streams: 23 words, so one token every 100 ms after the first.
const answer = "Quantum computers use qubits , which can hold superpositions of 0 and 1 , and entanglement " +
  "to explore many states at once ."

/**
 * The world's streaming model, token by token, at the tour's scale.
 *
 * @since 0.1.0
 * @category workflows
 */
export const streaming = Effect.map(
  TourEnv,
  ({ scale, world }) =>
    Model.simulatedStream({ ...world.models.streaming, respond: () => answer }, { scale, name: "llm_stream" })
)

/**
 * @since 0.1.0
 * @category steps
 */
export const step: Step = {
  id: "stream",
  title: "7. Stream",
  section: "Step 6: Optimize Data Transfer (Streaming)",
  run: Effect.gen(function*() {
    const { scale, world } = yield* TourEnv
    const whole = yield* model({ ...world.models.streaming, respond: () => answer }, "llm_call")
    const blocking = yield* traced("whole answer", Primitive.run(whole, prompt))
    const streamed = yield* traced("streamed answer", Primitive.run(FlowStream.timed(yield* streaming), prompt))
    const ttft = streamed.value.ttftMs / scale
    const total = streamed.value.totalMs / scale
    const claims: Array<Tour.Claim> = [
      claim("wait for the whole answer", 2.5, blocking.ms / 1000, "s"),
      claim("streaming: first token", 0.3, ttft / 1000, "s"),
      claim("streaming: complete", 2.5, total / 1000, "s"),
      // The ratio inherits the first token's fixed allowance: 2.5 s / (0.3 s + 20 ms) is 7.8x.
      claim("perceived latency reduced", 8.3, ttft === 0 ? Infinity : blocking.ms / ttft, "x", {
        slack: 8.3 - 2500 / (300 + allowanceMs)
      })
    ]
    return {
      headline: `first words after ${(ttft / 1000).toFixed(2)} s instead of ${(blocking.ms / 1000).toFixed(2)} s (${
        (blocking.ms / ttft).toFixed(1)
      }x sooner); done at ${(total / 1000).toFixed(2)} s either way`,
      claims,
      assumptions: [{ label: "streaming model (simulated)", value: World.describeModel(world.models.streaming) }],
      timelines: [blocking.timeline, streamed.timeline],
      distributions: [
        { label: "whole answer: first text", values: [blocking.ms] },
        { label: "streamed: first token", values: [ttft] },
        { label: "streamed: complete", values: [total] }
      ],
      notes: [`${streamed.value.items.length} tokens in ${streamed.value.chunks} chunks`]
    }
  })
}
