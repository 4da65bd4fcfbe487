/**
 * Streaming: the guide's "Streaming Large Responses" step.
 *
 * A simulated model streams its answer: the first token after 0.3 s, the
 * whole answer after 2.5 s. The tokens are printed as they arrive, with the
 * measured time to first token. Then the same request is served from the
 * cache, as a stream: at once, and paced like the original.
 *
 * Run: npx tsx examples/stream-ttft.ts
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as FlowCache from "flowtune/Cache"
import * as FlowStream from "flowtune/Stream"

const answer = "Quantum computers use qubits, which can be 0 and 1 at once, " +
  "so some problems are solved with far fewer steps."
const tokens = answer.split(/(?<= )/)

// First token at 300 ms, the last one at 2.5 s, evenly spaced in between.
const gap = Math.round(2200 / (tokens.length - 1))
const llm = FlowStream.make(
  "llm.stream",
  (_prompt: string) =>
    Stream.fromIterable(tokens.map((token, i) => [token, i === 0 ? 300 : gap] as const)).pipe(
      Stream.mapEffect(([token, delay]) => Effect.as(Effect.sleep(delay), token))
    )
)

/** Prints each token as it arrives and returns the timings of the run. */
const printStream = (label: string, stream: Stream.Stream<string>) =>
  Effect.gen(function*() {
    process.stdout.write(`${label}\n  `)
    const timed = yield* FlowStream.measure(
      Stream.tap(stream, (token) => Effect.sync(() => process.stdout.write(token)))
    )
    console.log(
      `\n  first token after ${timed.ttftMs} ms, complete after ${timed.totalMs} ms ` +
        `(${timed.chunks} chunks; a non-streaming caller waits ${timed.totalMs} ms: ` +
        `${timed.perceivedSpeedup.toFixed(1)}x sooner)\n`
    )
  })

const program = Effect.gen(function*() {
  // The cache's keyed store over the configured tiers (here: memory).
  const store = yield* FlowCache.makeStore({
    namespace: "examples.stream",
    schema: FlowStream.Recording(Schema.String),
    ttl: "1 hour"
  })
  const cached = yield* FlowStream.cached(llm, { store, key: (prompt: string) => prompt })
  const paced = yield* FlowStream.cached(llm, { store, key: (prompt: string) => prompt, pace: "original" })

  const prompt = "Explain quantum computing"
  yield* printStream("1. From the model (streamed):", cached.stream(prompt))
  yield* printStream("2. Same request, from the cache (replayed at once, original chunks):", cached.stream(prompt))
  yield* printStream("3. Same request, from the cache, paced like the original:", paced.stream(prompt))
}).pipe(
  Effect.scoped,
  Effect.provide(FlowCache.layerMemory())
)

Effect.runPromise(program)
