/**
 * `npm run bench -- alternatives`: flowtune's own engines against Effect's
 * pieces that could replace them, like for like (issue 15).
 *
 * Same entry point and loop shape on both sides: one `runPromise` per
 * operation, tracing off on both sides (Effect's pieces open no span).
 *
 * Stream sharing: one 1,000-token upstream (one token per chunk, as a model
 * streams) read to the end by N consumers (1, 10, 100) started together.
 * Figures are CPU per token delivered (N x 1,000 per operation).
 * - `share.flowtune.N`: `Stream.share` (`internal/streamCache.ts`: since
 *   issue 15 an `RcMap` of runs, each a `Stream.broadcastDynamic` with
 *   `replay: Infinity`, with our counters on top; before, our own engine:
 *   the chunks of the run in flight plus one Deferred per wake-up), each
 *   consumer on the primitive's `.stream` (with its per-consumer metrics).
 * - `share.flowtune-engine.N`: the same engine read through the primitive's
 *   body, without the per-consumer metrics (the engine's own cost).
 * - `share.effect-share.N`: Effect's `Stream.share` with `replay: Infinity`
 *   (the whole answer): the only setting whose late joiners see what ours do.
 * - `share.effect-broadcastDynamic.N`: `Stream.broadcastDynamic` with the
 *   same replay (what `Stream.share` runs, without its RcRef).
 * - `share.effect-pubsub.N`: `Stream.broadcast` (a PubSub, every consumer
 *   subscribed before the upstream starts; the number of consumers fixed).
 * - `share.unshared.N`: every consumer runs its own upstream (no sharing).
 * A second, untimed part checks what a consumer that joins after 500 tokens
 * receives from each.
 *
 * Fallback chains: three steps, each a model service answering at once.
 * - `fallback.flowtune.*`: `Primitive.fallback(p1, [p2, p3])`, `p.run` untraced.
 * - `fallback.effect-plan.*`: `Effect.withExecutionPlan` over one effect that
 *   reads the model service, the plan providing the three implementations as
 *   `Context`s (a `Layer` per step would build the layer on every call).
 * - `fallback.catch-chain.*`: a hand-written `catchAll` chain, the floor.
 * `*.ok`: the primary answers; `*.primary-fails`: it fails, the second answers.
 * 100 calls per `runPromise`.
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as ExecutionPlan from "effect/ExecutionPlan"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Primitive from "../src/Primitive.js"
import * as FlowStream from "../src/Stream.js"
import { measureAll, pairedRatios, settings, type Suite } from "./harness.js"

// -----------------------------------------------------------------------------
// stream sharing
// -----------------------------------------------------------------------------

const TOKENS = 1000
const SUBSCRIBERS = [1, 10, 100] as const
const vocabulary = Array.from({ length: 97 }, (_, i) => `tok${i} `)
const tokens = Array.from({ length: TOKENS }, (_, i) => vocabulary[i % 97]!)

/** One token per chunk, as a model streams its answer. */
const upstream = (): Stream.Stream<string> => Stream.fromIterable(tokens).pipe(Stream.rechunk(1))
const source = FlowStream.make("bench.upstream", (_: number) => upstream())

const untraced = <A, E>(effect: Effect.Effect<A, E>) => Effect.withTracerEnabled(effect, false)

/** Tokens received by one consumer. */
const drain = (stream: Stream.Stream<string>) => Stream.runCount(stream)

/** N consumers of the streams `open` gives, started together; the tokens they received in all. */
const consume = (n: number, open: () => Stream.Stream<string>) =>
  Effect.map(
    Effect.forEach(Array.from({ length: n }), () => drain(open()), { concurrency: "unbounded" }),
    (counts) => counts.reduce((a, b) => a + b, 0)
  )

// The body a stream primitive keeps under this symbol (`internal/stream.ts`).
const BodyKey = Symbol.for("flowtune/Stream/body")
interface Body {
  readonly [BodyKey]: (input: number) => Stream.Stream<string>
}

/** One shared run per operation, each side building its sharer inside the operation. */
const sharers = {
  flowtune: (n: number) =>
    Effect.scoped(Effect.flatMap(
      FlowStream.share(source, { key: () => "q" }),
      (shared) => consume(n, () => shared.stream(0))
    )),
  // The engine alone: the shared primitive's body, without the per-consumer metrics of `.stream`.
  "flowtune-engine": (n: number) =>
    Effect.scoped(Effect.flatMap(
      FlowStream.share(source, { key: () => "q" }),
      (shared) => consume(n, () => (shared as unknown as Body)[BodyKey](0))
    )),
  "effect-share": (n: number) =>
    Effect.scoped(Effect.flatMap(
      Stream.share(upstream(), { capacity: "unbounded", replay: Number.POSITIVE_INFINITY }),
      (shared) => consume(n, () => shared)
    )),
  "effect-broadcastDynamic": (n: number) =>
    Effect.scoped(Effect.flatMap(
      Stream.broadcastDynamic(upstream(), { capacity: "unbounded", replay: Number.POSITIVE_INFINITY }),
      (shared) => consume(n, () => shared)
    )),
  "effect-pubsub": (n: number) =>
    Effect.scoped(Effect.flatMap(
      Stream.broadcast(upstream(), n, { capacity: "unbounded" }),
      (streams) => {
        let next = 0
        return consume(n, () => (streams as ReadonlyArray<Stream.Stream<string>>)[next++]!)
      }
    )),
  unshared: (n: number) => consume(n, upstream)
} as const

type Sharer = keyof typeof sharers

/**
 * What a consumer that joins after the first consumer has read 500 tokens
 * receives: the upstream sends 500 tokens, waits for the late joiner, then
 * sends the other 500.
 */
const lateJoiner = (
  share: (s: Stream.Stream<string>) => Effect.Effect<() => Stream.Stream<string>, never, Scope.Scope>
) =>
  Effect.scoped(Effect.gen(function*() {
    const half = TOKENS / 2
    const gate = yield* Deferred.make<void>()
    const halfway = yield* Deferred.make<void>()
    const gated = Stream.concat(
      Stream.fromIterable(tokens.slice(0, half)).pipe(Stream.rechunk(1)),
      Stream.unwrap(Effect.as(
        Deferred.await(gate),
        Stream.fromIterable(tokens.slice(half)).pipe(Stream.rechunk(1))
      ))
    )
    const open = yield* share(gated)
    let seen = 0
    const first = yield* Effect.fork(Stream.runForEach(open(), () =>
      Effect.suspend(() =>
        ++seen === half ? Deferred.succeed(halfway, undefined) : Effect.void
      )))
    // The first consumer may itself miss the start (an upstream that starts before it subscribes).
    yield* Effect.timeout(Deferred.await(halfway), "1 second").pipe(Effect.ignore)
    const firstSeenAtGate = seen
    const late = yield* Effect.fork(drain(open()))
    // Let the late joiner subscribe before the upstream goes on.
    for (let i = 0; i < 50; i++) {
      yield* Effect.yieldNow()
    }
    yield* Deferred.succeed(gate, undefined)
    yield* Effect.timeout(first.await, "5 seconds").pipe(Effect.ignore)
    const lateCount = yield* Effect.timeout(late.await, "5 seconds").pipe(
      Effect.map((exit) =>
        exit._tag === "Success" ? String(exit.value) : "failed"
      ),
      Effect.catchAll(() => Effect.succeed("timed out"))
    )
    return firstSeenAtGate === half
      ? `late ${lateCount} of ${TOKENS}`
      : `first consumer ${seen} of ${TOKENS}, late ${lateCount}`
  }))

const lateJoiners = () =>
  Effect.all({
    flowtune: lateJoiner((s) =>
      Effect.map(
        FlowStream.share(FlowStream.make("bench.gated", (_: number) => s), { key: () => "q" }),
        (shared) => () => shared.stream(0)
      )
    ),
    "effect Stream.share (replay 0)": lateJoiner((s) =>
      Effect.map(Stream.share(s, { capacity: "unbounded" }), (shared) => () => shared)
    ),
    "effect Stream.share (replay 100)": lateJoiner((s) =>
      Effect.map(Stream.share(s, { capacity: "unbounded", replay: 100 }), (shared) => () => shared)
    ),
    "effect Stream.share (replay Infinity)": lateJoiner((s) =>
      Effect.map(
        Stream.share(s, { capacity: "unbounded", replay: Number.POSITIVE_INFINITY }),
        (shared) => () => shared
      )
    ),
    "effect Stream.broadcastDynamic (replay 0)": lateJoiner((s) =>
      Effect.map(Stream.broadcastDynamic(s, { capacity: "unbounded" }), (shared) => () => shared)
    )
  })

// -----------------------------------------------------------------------------
// fallback chains
// -----------------------------------------------------------------------------

class Unavailable {
  readonly _tag = "Unavailable"
}

interface Llm {
  readonly complete: (prompt: string) => Effect.Effect<string, Unavailable>
}
const Llm = Context.GenericTag<Llm>("bench/Llm")

const answering = (name: string): Llm => ({ complete: (prompt) => Effect.succeed(`${name}: ${prompt}`) })
const failing: Llm = { complete: () => Effect.fail(new Unavailable()) }

const chains = (first: Llm) => {
  const models = [first, answering("second"), answering("third")] as const
  const steps = models.map((m, i) => Primitive.make(`model${i}`, (q: string) => m.complete(q)))
  const flowtune = Primitive.fallback(steps[0]!, [steps[1]!, steps[2]!])
  const plan = ExecutionPlan.make(
    { provide: Context.make(Llm, models[0]) },
    { provide: Context.make(Llm, models[1]) },
    { provide: Context.make(Llm, models[2]) }
  )
  const viaService = Effect.flatMap(Llm, (llm) => llm.complete("q"))
  return {
    flowtune: flowtune.run("q"),
    "effect-plan": Effect.withExecutionPlan(viaService, plan),
    "catch-chain": Effect.suspend(() =>
      models[0].complete("q").pipe(
        Effect.catchAll(() => models[1].complete("q")),
        Effect.catchAll(() => models[2].complete("q"))
      )
    )
  }
}

const CALLS = 100

const suite: Suite = {
  name: "alternatives",
  description: "flowtune's engines vs Effect's own pieces, like for like: stream sharing, fallback chains",
  run: async (options) => {
    // Sanity: every sharer delivers every token to every consumer.
    for (const [name, run] of Object.entries(sharers)) {
      for (const n of SUBSCRIBERS) {
        const delivered = await Effect.runPromise(untraced(run(n)))
        if (delivered !== n * TOKENS) throw new Error(`${name} delivered ${delivered} of ${n * TOKENS} tokens`)
      }
    }
    const late = await Effect.runPromise(untraced(lateJoiners()))

    const ok = chains(answering("primary"))
    const primaryFails = chains(failing)
    for (const [name, effect] of [...Object.entries(ok), ...Object.entries(primaryFails)]) {
      const answer = await Effect.runPromise(untraced(effect as Effect.Effect<string, unknown>))
      if (!answer.includes(": q")) throw new Error(`${name} answered ${answer}`)
    }
    const expectedOk = await Effect.runPromise(untraced(ok.flowtune))
    const expectedFallback = await Effect.runPromise(untraced(primaryFails.flowtune))
    if (expectedOk !== "primary: q" || expectedFallback !== "second: q") throw new Error("wrong fallback order")

    const shareCases = SUBSCRIBERS.flatMap((n) =>
      (Object.keys(sharers) as Array<Sharer>).map((name) => ({
        name: `share.${name}.${n}`,
        ops: n * TOKENS,
        run: () => Effect.runPromise(untraced(sharers[name](n)))
      }))
    )
    const inRun = (effect: Effect.Effect<unknown, unknown>) => () =>
      Effect.runPromise(untraced(Effect.repeatN(effect, CALLS - 1)))
    const fallbackCases = (["ok", "primary-fails"] as const).flatMap((scenario) => {
      const c = scenario === "ok" ? ok : primaryFails
      return (Object.keys(c) as Array<keyof typeof c>).map((name) => ({
        name: `fallback.${name}.${scenario}`,
        ops: CALLS,
        run: inRun(c[name] as Effect.Effect<unknown, unknown>)
      }))
    })
    const measured = await measureAll([...shareCases, ...fallbackCases], settings(options))
    const { ratios, spreads } = pairedRatios(measured, [
      ...SUBSCRIBERS.flatMap((n) => [
        [`share.flowtune.${n}`, `share.effect-share.${n}`] as const,
        [`share.flowtune-engine.${n}`, `share.effect-share.${n}`] as const,
        [`share.flowtune.${n}`, `share.effect-broadcastDynamic.${n}`] as const,
        [`share.flowtune.${n}`, `share.effect-pubsub.${n}`] as const,
        [`share.flowtune.${n}`, `share.unshared.${n}`] as const
      ]),
      ["fallback.flowtune.ok", "fallback.effect-plan.ok"],
      ["fallback.flowtune.primary-fails", "fallback.effect-plan.primary-fails"],
      ["fallback.flowtune.ok", "fallback.catch-chain.ok"],
      ["fallback.effect-plan.ok", "fallback.catch-chain.ok"],
      ["fallback.flowtune.primary-fails", "fallback.catch-chain.primary-fails"],
      ["fallback.effect-plan.primary-fails", "fallback.catch-chain.primary-fails"]
    ])
    return {
      results: measured.cpu,
      wall: measured.wall,
      ratios,
      spreads,
      notes: [
        `A consumer joining after 500 of ${TOKENS} tokens receives: ${
          Object.entries(late).map(([k, v]) => `${k}: ${v}`).join("; ")
        }. (Stream.broadcast: fixed N, no late joiner.)`,
        "share.* figures are CPU per token delivered; fallback.* per call (100 calls per runPromise)."
      ]
    }
  }
}

export default suite
