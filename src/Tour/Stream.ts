/**
 * Step 6 of the guide, streaming: the same 2.5 s answer of the simulated
 * streaming model, once returned whole (`Model.simulated` with
 * `Model.profiles.streaming`) and once streamed token by token (a
 * `Stream.make` primitive on the same profile, measured with `Stream.timed`):
 * the first token arrives at 0.3 s.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as EffectStream from "effect/Stream"
import * as Model from "../Model.js"
import * as Primitive from "../Primitive.js"
import * as FlowStream from "../Stream.js"
import type * as Tour from "../Tour.js"
import { claim, model, type Step, timerSlackMs, TourEnv, traced } from "./Common.js"

const answer = ("Quantum computers use qubits , which can hold superpositions of 0 and 1 , and entanglement " +
  "to explore many states at once .").split(" ")

// First token at 300 ms, then one every 100 ms: the 23rd lands at 2.5 s. Whole
// milliseconds on purpose: the TestClock cannot represent fractional ones.
const offsetMs = (i: number) => i === 0 ? 300 : 300 + i * Math.round(2200 / (answer.length - 1))

/**
 * The streaming model of `Model.profiles.streaming`, token by token. Each
 * token is due at a fixed offset from the start of the answer, so timer
 * delays do not add up over the stream.
 *
 * @since 0.1.0
 * @category workflows
 */
export const streaming = FlowStream.make("llm_stream", (_prompt: string) =>
  EffectStream.unwrap(Effect.gen(function*() {
    const { scale } = yield* TourEnv
    const start = yield* Clock.currentTimeMillis
    return EffectStream.fromIterable(answer.map((token, i) => [token, i] as const)).pipe(
      EffectStream.mapEffect(([token, i]) =>
        Clock.currentTimeMillis.pipe(
          Effect.flatMap((now) => Effect.sleep(Duration.millis(Math.max(0, start + offsetMs(i) * scale - now)))),
          Effect.as(`${token} `),
          Effect.withSpan(`token ${i + 1}`)
        )
      )
    )
  })))

/**
 * @since 0.1.0
 * @category steps
 */
export const step: Step = {
  id: "stream",
  title: "7. Stream",
  section: "Step 6: Optimize Data Transfer (Streaming)",
  run: Effect.gen(function*() {
    const { scale } = yield* TourEnv
    const whole = yield* model(Model.profiles.streaming, "llm_call")
    const blocking = yield* traced("whole answer", Primitive.run(whole, "Explain quantum computing"))
    const streamed = yield* traced(
      "streamed answer",
      Primitive.run(FlowStream.timed(streaming), "Explain quantum computing")
    )
    const ttft = streamed.value.ttftMs / scale
    const total = streamed.value.totalMs / scale
    // The first token is one real timer plus the stream's own setup (about 1 ms,
    // see BENCHMARKS.md) away: a large part of 0.3 s at scale 0.1.
    const slack = 2 * (yield* timerSlackMs)
    const claims: Array<Tour.Claim> = [
      claim("wait for the whole answer", 2.5, blocking.ms / 1000, "s"),
      claim("streaming: first token", 0.3, ttft / 1000, "s", { slack: slack / 1000 }),
      claim("streaming: complete", 2.5, total / 1000, "s"),
      claim("perceived latency reduced", 8.3, blocking.ms / ttft, "x", {
        slack: 8.3 - 2500 / (300 + slack)
      })
    ]
    return {
      headline: `first words after ${(ttft / 1000).toFixed(2)} s instead of ${(blocking.ms / 1000).toFixed(2)} s (${
        (blocking.ms / ttft).toFixed(1)
      }x sooner); done at ${(total / 1000).toFixed(2)} s either way`,
      claims,
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
