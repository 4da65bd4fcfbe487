/**
 * A model call on any OpenAI-compatible server, configured from the
 * environment:
 *
 *   OPENAI_BASE_URL=http://localhost:11434/v1 OPENAI_MODEL=llama3.2 \
 *   OPENAI_API_KEY=unused npx tsx examples/model-openai.ts
 *
 * Without OPENAI_BASE_URL it starts the local test server and talks to that.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Model from "flowtune/Model"
import * as Primitive from "flowtune/Primitive"
import * as OpenAiServer from "../test/support/openAiServer.js"

const answer = Model.generate({ system: "Answer in one sentence.", timeout: "30 seconds" })
const stream = Model.streamText({ system: "Answer in one sentence." })

const program = Effect.gen(function*() {
  const completion = yield* Primitive.run(answer, "Why does connection pooling help?")
  yield* Effect.log(`${completion.model}: ${completion.text}`)
  yield* Effect.log(`tokens ${completion.usage.inputTokens}/${completion.usage.outputTokens}, $${completion.costUsd}`)
  yield* stream.stream("Count to five.").pipe(
    Stream.runForEach((token) => Effect.log(`token ${JSON.stringify(token)}`))
  )
}).pipe(
  Effect.catchTags({
    RateLimited: (e) => Effect.logError(`rate limited, retry after ${String(e.retryAfter)}`),
    ModelTimeout: () => Effect.logError("the model took too long")
  })
)

const main = Effect.gen(function*() {
  if (process.env["OPENAI_BASE_URL"] === undefined) {
    const server = yield* OpenAiServer.scoped
    process.env["OPENAI_BASE_URL"] = server.url
    process.env["OPENAI_MODEL"] ??= "local-echo"
  }
  yield* program.pipe(Effect.provide(Model.layerOpenAiConfig()))
})

Effect.runPromise(Effect.scoped(main))
