/**
 * The guide's router models on the simulated layer, at a tenth of real time:
 * `npx tsx examples/model-simulated.ts`
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Model from "flowtune/Model"
import * as Primitive from "flowtune/Primitive"

const scale = 0.1
const fast = Model.simulated(Model.profiles.fast, { scale })
const quality = Model.simulated(Model.profiles.quality, { scale })
const streaming = Model.simulatedStream(Model.profiles.streaming, { scale })

const program = Effect.gen(function*() {
  for (const step of [fast, quality]) {
    const [took, completion] = yield* Effect.timed(Primitive.run(step, "What is Python?"))
    yield* Effect.log(
      `${step.name}: "${completion.text}" in ${
        Math.round(Duration.toMillis(took))
      } ms, $${completion.costUsd} (${completion.usage.inputTokens} in / ${completion.usage.outputTokens} out tokens)`
    )
  }
  const started = Date.now()
  yield* streaming.stream("Explain quantum computing").pipe(
    Stream.runForEach((token) => Effect.log(`+${Date.now() - started} ms ${JSON.stringify(token)}`))
  )
})

Effect.runPromise(program)
