/**
 * `npm run bench -- stream`: what a streamed answer costs, on the path a user
 * takes.
 *
 * The user's path comes first: `Effect.runPromise(Primitive.run(p, n))` of
 * `collectText(map(source, upper))` with default options and Effect's default
 * tracer, CPU per run. Its peers have the same entry point and shape: one
 * `await` of an async function per run, which reads the same source, maps
 * every token and joins them (an async generator against `fromAsyncIterable`,
 * a synchronous loop against `fromIterable`; never a synchronous source
 * against an async generator).
 * - `answer.*`: one 1,000-token answer per run.
 * - `empty.*`: a source with no token: the fixed cost of a run.
 * - `tokens.*`: 100,000 tokens in one run (steady state), per token.
 * - `stream.*` and `effect-stream.*`: a source written as an Effect `Stream`
 *   (`Stream.make`, read through Effect's stream machinery) and the same
 *   pipeline on Effect alone, to separate what flowtune adds from Effect's cost.
 * - `ttft.*`: one run stopped at its first token (setup, first token, teardown).
 * - `simulated-model`: `Model.simulatedStream` (0 ms latency) collected, a few
 *   runs timed one by one (too slow for rounds: see the note).
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as EffectStream from "effect/Stream"
import * as Model from "../src/Model.js"
import * as Primitive from "../src/Primitive.js"
import * as FlowStream from "../src/Stream.js"
import { measureAll, pairedRatios, settings, type Suite } from "./harness.js"

/** Tokens in one long stream (steady-state throughput). */
const LONG = 100_000
/** Tokens in one answer (what a typical response costs end to end). */
const ANSWER = 1000
const vocabulary = Array.from({ length: 97 }, (_, i) => `tok${i} `)
const tokens = Array.from({ length: LONG }, (_, i) => vocabulary[i % 97]!)
const upper = (token: string) => token.toUpperCase()

async function* generate(n: number): AsyncGenerator<string> {
  for (let i = 0; i < n; i++) yield tokens[i]!
}

// The peers: an async function per run, like `runPromise` per run.
const plainAsync = async (n: number) => {
  const out: Array<string> = []
  for await (const token of generate(n)) out.push(upper(token))
  return out.join("")
}
const plainSync = async (n: number) => {
  const out: Array<string> = []
  for (const token of tokens.slice(0, n)) out.push(upper(token))
  return out.join("")
}

const viaAsync = FlowStream.collectText(
  FlowStream.map(FlowStream.fromAsyncIterable("bench.async-iterable", (n: number) => generate(n)), upper)
)
const viaAsyncSource = FlowStream.fromAsyncIterable("bench.ttft", (n: number) => generate(n))
const viaIterable = FlowStream.collectText(
  FlowStream.map(FlowStream.fromIterable("bench.iterable", (n: number) => tokens.slice(0, n)), upper)
)
const effectSource = FlowStream.make(
  "bench.effect-stream",
  (n: number) => EffectStream.fromIterable(tokens.slice(0, n)).pipe(EffectStream.rechunk(64))
)
const viaEffectStream = FlowStream.collectText(FlowStream.map(effectSource, upper))
const rawEffectStream = (n: number) =>
  EffectStream.fromIterable(tokens.slice(0, n)).pipe(
    EffectStream.rechunk(64),
    EffectStream.map(upper),
    EffectStream.runCollect,
    Effect.map((chunk) => Chunk.join(chunk, ""))
  )

const user = <E>(p: Primitive.Primitive<number, string, E>, n: number) => () => Effect.runPromise(Primitive.run(p, n))

const firstToken = <E>(source: FlowStream.StreamPrimitive<number, string, E>) =>
  Effect.runPromise(EffectStream.runHead(FlowStream.run(source, ANSWER)))

// `Model.simulatedStream` costs milliseconds per token (see the note): timed run by run.
const SIMULATED = 100
const simulated = FlowStream.collectText(
  Model.simulatedStream({ name: "bench", latency: "0 millis", firstToken: "0 millis" })
)
const simulatedPrompt = Array.from({ length: SIMULATED }, (_, i) => `w${i}`).join(" ")
const timeSimulated = async (runs: number) => {
  const cpu: Array<number> = []
  for (let i = 0; i < runs; i++) {
    const start = process.cpuUsage()
    await Effect.runPromise(Primitive.run(simulated, simulatedPrompt))
    const used = process.cpuUsage(start)
    cpu.push((used.user + used.system) * 1000)
  }
  return cpu.sort((a, b) => a - b)[Math.floor(runs / 2)]!
}

const suite: Suite = {
  name: "stream",
  description: "A streamed answer through Primitive.run (source -> map -> collectText) vs a plain async generator",
  run: async (options) => {
    // Sanity: every pipeline produces the same text.
    const expected = await plainAsync(ANSWER)
    for (const p of [viaAsync, viaIterable, viaEffectStream]) {
      if (await user(p, ANSWER)() !== expected) throw new Error(`${p.name} produced different text`)
    }
    const measured = await measureAll([
      // the user's path and its peers, one run per operation
      { name: "answer.user.async-iterable", run: user(viaAsync, ANSWER) },
      { name: "answer.plain-async-generator", run: () => plainAsync(ANSWER) },
      { name: "empty.user.async-iterable", run: user(viaAsync, 0) },
      { name: "empty.plain-async-generator", run: () => plainAsync(0) },
      { name: "answer.user.iterable", run: user(viaIterable, ANSWER) },
      { name: "answer.plain-loop", run: () => plainSync(ANSWER) },
      { name: "empty.user.iterable", run: user(viaIterable, 0) },
      { name: "answer.user.stream", run: user(viaEffectStream, ANSWER) },
      { name: "answer.effect-stream", run: () => Effect.runPromise(rawEffectStream(ANSWER)) },
      { name: "empty.user.stream", run: user(viaEffectStream, 0) },
      { name: "empty.effect-stream", run: () => Effect.runPromise(rawEffectStream(0)) },
      // steady state, per token
      { name: "tokens.user.async-iterable", ops: LONG, run: user(viaAsync, LONG) },
      { name: "tokens.plain-async-generator", ops: LONG, run: () => plainAsync(LONG) },
      { name: "tokens.user.stream", ops: LONG, run: user(viaEffectStream, LONG) },
      // time to first token: the stream is read (Stream.run), not collected
      {
        name: "ttft.plain-async-generator",
        run: async () => {
          const iterator = generate(ANSWER)
          const first = await iterator.next()
          await iterator.return(undefined)
          return first
        }
      },
      { name: "ttft.user.async-iterable", run: () => firstToken(FlowStream.map(viaAsyncSource, upper)) }
    ], settings(options))
    const results: Record<string, number> = {
      ...measured.cpu,
      [`simulated-model.${SIMULATED}-tokens (CPU per run)`]: await timeSimulated(options.quick ? 1 : 3)
    }
    const { ratios, spreads } = pairedRatios(measured, [
      ["answer.user.async-iterable", "answer.plain-async-generator"],
      ["empty.user.async-iterable", "empty.plain-async-generator"],
      ["empty.user.async-iterable", "empty.effect-stream"],
      ["answer.user.iterable", "answer.plain-loop"],
      ["answer.user.stream", "answer.effect-stream"],
      ["empty.user.stream", "empty.effect-stream"],
      ["answer.effect-stream", "answer.plain-async-generator"],
      ["tokens.user.async-iterable", "tokens.plain-async-generator"],
      ["tokens.user.stream", "tokens.plain-async-generator"],
      ["ttft.user.async-iterable", "ttft.plain-async-generator"]
    ])
    const us = (name: string) => (results[name]! / 1e3).toFixed(1)
    return {
      results,
      wall: measured.wall,
      ratios,
      spreads,
      notes: [
        `Fixed cost per run (CPU, empty source, user path): ${us("empty.user.async-iterable")} us async-iterable, ${
          us("empty.user.iterable")
        } us iterable, ${us("empty.user.stream")} us through an Effect Stream; Effect's own runCollect of an ` +
        `empty stream: ${us("empty.effect-stream")} us. Target: <= 100 us.`,
        `One ${ANSWER}-token answer (CPU per run): ${us("answer.user.async-iterable")} us against ${
          us("answer.plain-async-generator")
        } us for the async generator. Target: <= 2x.`,
        `Model.simulatedStream, ${SIMULATED} tokens at 0 ms latency: ${
          (results[`simulated-model.${SIMULATED}-tokens (CPU per run)`]! / 1e6).toFixed(1)
        } ms of CPU per run (median of ${options.quick ? 1 : 3} runs, timed one by one).`
      ]
    }
  }
}

export default suite
