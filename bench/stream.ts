/**
 * `npm run bench -- stream`: tokens per second through a streaming pipeline
 * (source -> map -> collect) against a plain async generator consumed with
 * `for await`, in one run, and the time to first token the pipeline adds.
 *
 * `tokens.*` is one long stream (steady-state throughput), `answer.*` one
 * 1000-token answer end to end (with the per-run cost of a stream).
 * Figures are nanoseconds per token (lower is better). The flowtune cases run
 * with span tracing off; metrics (TTFT, total, gaps) are on, as in production.
 * - `tokens.plain-async-generator`: the baseline.
 * - `tokens.flowtune.async-iterable`: the same async generator through
 *   `fromAsyncIterable` (read-ahead buffer, adaptive chunks).
 * - `tokens.flowtune.per-token`: an Effect stream with one token per chunk
 *   (the worst case: every token pays the per-chunk cost).
 * - `tokens.flowtune.chunked`: an Effect stream in chunks of 64 tokens.
 * - `*.effect-stream.*`: the same pipeline on Effect's `Stream` alone, to
 *   separate what flowtune adds (measurements, span check) from Effect's cost.
 * - `ttft.*`: one run that stops at its first token (setup + first token +
 *   teardown), per run rather than per token.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as EffectStream from "effect/Stream"
import type * as Primitive from "../src/Primitive.js"
import * as FlowStream from "../src/Stream.js"
import { measure, ratios, settings, type Suite } from "./harness.js"

/** Tokens in one long stream (steady-state throughput). */
const LONG = 100_000
/** Tokens in one answer (what a typical response costs end to end). */
const ANSWER = 1000
const vocabulary = Array.from({ length: 97 }, (_, i) => `tok${i} `)
const tokens = Array.from({ length: LONG }, (_, i) => vocabulary[i % 97]!)
const transform = (token: string) => token.toUpperCase()

async function* generate(n: number): AsyncGenerator<string> {
  for (let i = 0; i < n; i++) yield tokens[i]!
}

const plainPipeline = async (n: number) => {
  const out: Array<string> = []
  for await (const token of generate(n)) out.push(transform(token))
  return out.join("")
}

const untraced = <A, E>(effect: Effect.Effect<A, E>) => Effect.withTracerEnabled(effect, false)

const fromGenerator = FlowStream.fromAsyncIterable("bench.async-iterable", (n: number) => generate(n))
const perToken = FlowStream.make(
  "bench.per-token",
  (n: number) => EffectStream.fromIterable(tokens.slice(0, n)).pipe(EffectStream.rechunk(1))
)
const chunked = FlowStream.make(
  "bench.chunked",
  (n: number) => EffectStream.fromIterable(tokens.slice(0, n)).pipe(EffectStream.rechunk(64))
)

const rawChunked = (n: number) =>
  EffectStream.fromIterable(tokens.slice(0, n)).pipe(
    EffectStream.rechunk(64),
    EffectStream.map(transform),
    EffectStream.runCollect,
    Effect.map((chunk) => Chunk.join(chunk, ""))
  )

const pipeline = <E>(source: FlowStream.StreamPrimitive<number, string, E>) =>
  FlowStream.collectText(FlowStream.map(source, transform))

const viaGenerator = pipeline(fromGenerator)
const viaPerToken = pipeline(perToken)
const viaChunked = pipeline(chunked)

const firstToken = <E>(source: FlowStream.StreamPrimitive<number, string, E>) =>
  Effect.runPromise(untraced(EffectStream.runHead(source.stream(ANSWER))))

const suite: Suite = {
  name: "stream",
  description: "Streaming tokens through source -> map -> collect: flowtune vs a plain async generator",
  run: async (options) => {
    // Sanity: every pipeline produces the same text.
    const expected = await plainPipeline(ANSWER)
    for (const p of [viaGenerator, viaPerToken, viaChunked]) {
      const text = await Effect.runPromise(untraced(p.run(ANSWER)))
      if (text !== expected) throw new Error(`${p.name} produced different text`)
    }
    const flow = <E>(p: Primitive.Primitive<number, string, E>, n: number) => () =>
      Effect.runPromise(untraced(p.run(n)))
    const results = await measure([
      { name: "tokens.plain-async-generator", ops: LONG, run: () => plainPipeline(LONG) },
      { name: "tokens.flowtune.async-iterable", ops: LONG, run: flow(viaGenerator, LONG) },
      { name: "tokens.flowtune.chunked", ops: LONG, run: flow(viaChunked, LONG) },
      { name: "tokens.flowtune.per-token", ops: LONG, run: flow(viaPerToken, LONG) },
      { name: "tokens.effect-stream.chunked", ops: LONG, run: () => Effect.runPromise(rawChunked(LONG)) },
      { name: "answer.plain-async-generator", ops: ANSWER, run: () => plainPipeline(ANSWER) },
      { name: "answer.flowtune.async-iterable", ops: ANSWER, run: flow(viaGenerator, ANSWER) },
      { name: "answer.flowtune.chunked", ops: ANSWER, run: flow(viaChunked, ANSWER) },
      { name: "answer.effect-stream.chunked", ops: ANSWER, run: () => Effect.runPromise(rawChunked(ANSWER)) },
      {
        name: "ttft.plain-async-generator",
        run: async () => {
          const iterator = generate(ANSWER)
          const first = await iterator.next()
          await iterator.return(undefined)
          return first
        }
      },
      { name: "ttft.flowtune.async-iterable", run: () => firstToken(fromGenerator) },
      { name: "ttft.flowtune.effect-stream", run: () => firstToken(chunked) },
      {
        name: "ttft.effect-stream.raw",
        run: () => Effect.runPromise(EffectStream.runHead(EffectStream.fromIterable(tokens.slice(0, ANSWER))))
      }
    ], settings(options))
    const perSecond = (name: string) => Math.round(1e9 / results[name]!).toLocaleString("en-US")
    const added = (name: string) => ((results[name]! - results["ttft.plain-async-generator"]!) / 1e3).toFixed(1)
    return {
      results,
      ratios: ratios(results, [
        ["tokens.flowtune.async-iterable", "tokens.plain-async-generator"],
        ["tokens.flowtune.chunked", "tokens.plain-async-generator"],
        ["tokens.flowtune.per-token", "tokens.plain-async-generator"],
        ["tokens.flowtune.chunked", "tokens.effect-stream.chunked"],
        ["answer.flowtune.async-iterable", "answer.plain-async-generator"],
        ["answer.flowtune.chunked", "answer.plain-async-generator"],
        ["answer.flowtune.chunked", "answer.effect-stream.chunked"],
        ["ttft.flowtune.async-iterable", "ttft.plain-async-generator"],
        ["ttft.flowtune.effect-stream", "ttft.plain-async-generator"],
        ["ttft.flowtune.effect-stream", "ttft.effect-stream.raw"]
      ]),
      notes: [
        `Steady state (${LONG.toLocaleString("en-US")} tokens), tokens/s: plain ${
          perSecond("tokens.plain-async-generator")
        }, async-iterable ${perSecond("tokens.flowtune.async-iterable")}, chunked ${
          perSecond("tokens.flowtune.chunked")
        }, per-token ${perSecond("tokens.flowtune.per-token")}.`,
        `One ${ANSWER}-token answer end to end, tokens/s: plain ${
          perSecond("answer.plain-async-generator")
        }, async-iterable ${perSecond("answer.flowtune.async-iterable")}, chunked ${
          perSecond("answer.flowtune.chunked")
        }.`,
        `TTFT added by the pipeline per run: ${added("ttft.flowtune.async-iterable")} us (async-iterable), ${
          added("ttft.flowtune.effect-stream")
        } us (Effect stream).`,
        "Target: steady-state throughput >= 1/2 of the plain generator, i.e. tokens.* ratio <= 2."
      ]
    }
  }
}

export default suite
