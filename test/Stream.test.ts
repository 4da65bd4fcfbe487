import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as EffectStream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Tracer from "effect/Tracer"
import * as Primitive from "../src/Primitive.js"
import * as FlowStream from "../src/Stream.js"
import * as WorkflowContext from "../src/WorkflowContext.js"

class Overloaded extends Data.TaggedError("Overloaded")<{ readonly after: number }> {}

/**
 * The guide's streaming answer: the first token at 0.3 s, then one token
 * every 0.2 s, the last one at 2.5 s (12 tokens).
 */
const guideTokens = Array.from({ length: 12 }, (_, i) => `t${i} `)
const guideStream = (tokens: ReadonlyArray<string> = guideTokens) =>
  EffectStream.fromIterable(tokens.map((token, i) => [token, i === 0 ? 300 : 200] as const)).pipe(
    EffectStream.mapEffect(([token, delay]) => Effect.as(Effect.sleep(delay), token))
  )

/** Counts upstream runs: started, completed, and stopped before their end. */
const upstreamProbe = () => {
  const probe = { started: 0, stopped: 0, completed: 0 }
  const wrap = <A, E, R>(stream: EffectStream.Stream<A, E, R>) =>
    EffectStream.suspend(() => {
      probe.started++
      let done = false
      return stream.pipe(
        EffectStream.onEnd(Effect.sync(() => {
          done = true
          probe.completed++
        })),
        EffectStream.ensuring(Effect.sync(() => {
          if (!done) probe.stopped++
        }))
      )
    })
  return { probe, wrap }
}

const valueOf = <M extends Metric.Metric<any, any, any>>(metric: M, tags: Record<string, string>) => {
  let tagged: Metric.Metric<any, any, any> = metric
  for (const [k, v] of Object.entries(tags)) tagged = Metric.tagged(tagged, k, v)
  return Metric.value(tagged)
}

// A tracer that keeps every span it opens, on top of the current one.
const recordingTracer = Effect.map(Effect.tracer, (base) => {
  const spans: Array<Tracer.Span> = []
  const recording = Tracer.make({
    span(...args) {
      const span = base.span(...args)
      spans.push(span)
      return span
    },
    context: base.context
  })
  return { recording, spans }
})

describe("Stream", () => {
  describe("time to first token", () => {
    it.effect("the guide: first token at 0.3 s, complete at 2.5 s, 8.3x perceived", () =>
      Effect.gen(function*() {
        const llm = FlowStream.make("guide.llm", (_: string) => guideStream())
        const fiber = yield* Effect.fork(FlowStream.timed(llm).run("Explain quantum computing"))
        yield* TestClock.adjust("3 seconds")
        const result = yield* Fiber.join(fiber)
        assert.strictEqual(result.items.join(""), guideTokens.join(""))
        assert.strictEqual(result.ttftMs, 300)
        assert.strictEqual(result.totalMs, 2500)
        assert.strictEqual(result.perceivedSpeedup.toFixed(1), "8.3")
        assert.strictEqual(result.gaps.count, 11)
        assert.strictEqual(result.gaps.maxMs, 200)

        // The same stream collected: the caller sees nothing until 2.5 s.
        const start = yield* TestClock.currentTimeMillis
        const collected = yield* Effect.fork(FlowStream.collectText(llm).run("Explain quantum computing"))
        yield* TestClock.adjust("2499 millis")
        assert.isTrue(Option.isNone(yield* Fiber.poll(collected)))
        yield* TestClock.adjust("1 millis")
        assert.strictEqual(yield* Fiber.join(collected), guideTokens.join(""))
        assert.strictEqual((yield* TestClock.currentTimeMillis) - start, 2500)
      }))

    it.effect("records TTFT, total time, gaps and outcome as metrics tagged by name", () =>
      Effect.gen(function*() {
        const name = "metrics.llm"
        const llm = FlowStream.make(name, (_: string) => guideStream())
        const fiber = yield* Effect.fork(EffectStream.runDrain(llm.stream("q")))
        yield* TestClock.adjust("3 seconds")
        yield* Fiber.join(fiber)
        const ttft = yield* valueOf(FlowStream.metrics.ttft, { primitive: name })
        const duration = yield* valueOf(FlowStream.metrics.duration, { primitive: name })
        const gap = yield* valueOf(FlowStream.metrics.gap, { primitive: name })
        const runs = yield* valueOf(FlowStream.metrics.runs, { primitive: name, outcome: "completed" })
        const elements = yield* valueOf(FlowStream.metrics.elements, { primitive: name })
        assert.deepStrictEqual([ttft.count, ttft.sum], [1, 300])
        assert.deepStrictEqual([duration.count, duration.sum], [1, 2500])
        assert.deepStrictEqual([gap.count, gap.sum, gap.max], [11, 2200, 200])
        assert.deepStrictEqual(
          gap.quantiles.map((
            [q, value]: readonly [number, Option.Option<number>]
          ) => [q, Option.getOrUndefined(value)]),
          [[0.5, 200], [0.9, 200], [0.99, 200]]
        )
        assert.strictEqual(runs.count, 1)
        assert.strictEqual(elements.count, 12)
      }))

    it.effect("puts the timings on the span, and checkpoints on the run's timeline", () =>
      Effect.gen(function*() {
        const { recording, spans } = yield* recordingTracer
        const llm = FlowStream.make("traced.llm", (_: string) => guideStream())
        const fiber = yield* Effect.fork(
          Effect.gen(function*() {
            yield* EffectStream.runDrain(FlowStream.run(llm, "q"))
            return yield* WorkflowContext.timeline
          }).pipe(WorkflowContext.withContext(), Effect.withTracer(recording))
        )
        yield* TestClock.adjust("3 seconds")
        const timeline = yield* Fiber.join(fiber)
        const span = spans.find((s) => s.name === "traced.llm")
        assert.isDefined(span)
        const attributes = (span as unknown as { attributes: Map<string, unknown> }).attributes
        assert.strictEqual(attributes.get("flowtune.stream.ttft_ms"), 300)
        assert.strictEqual(attributes.get("flowtune.stream.total_ms"), 2500)
        assert.strictEqual(attributes.get("flowtune.stream.outcome"), "completed")
        assert.strictEqual(attributes.get("flowtune.stream.elements"), 12)
        assert.strictEqual(attributes.get("flowtune.stream.gap_max_ms"), 200)
        assert.deepStrictEqual(
          timeline.map((c) => c.name),
          ["stream.first_token", "stream.complete"]
        )
        assert.strictEqual(timeline[1]!.at - timeline[0]!.at, 2200)
      }))

    it.effect("after: a step then a stream; the first token waits for the step", () =>
      Effect.gen(function*() {
        const retrieve = Primitive.make("retrieve", (q: string) => Effect.as(Effect.sleep("200 millis"), `${q}!`))
        const generate = FlowStream.make("generate", (doc: string) => guideStream([doc, " done"]))
        const rag = FlowStream.after(retrieve, generate)
        assert.strictEqual(rag.name, "sequence(retrieve >> generate)")
        const fiber = yield* Effect.fork(FlowStream.timed(rag).run("doc"))
        yield* TestClock.adjust("1 second")
        const result = yield* Fiber.join(fiber)
        assert.deepStrictEqual(result.items, ["doc!", " done"])
        assert.strictEqual(result.ttftMs, 500)
        assert.strictEqual(result.totalMs, 700)
      }))

    it.effect("collected, a stream is an ordinary step at the end of a sequence", () =>
      Effect.gen(function*() {
        const words = FlowStream.fromIterable("words", (s: string) => s.split(" "))
        const upper = FlowStream.map(words, (w) => w.toUpperCase())
        const workflow = Primitive.sequence(
          Primitive.fromFunction("trim", (s: string) => s.trim()),
          FlowStream.collectText(upper, { separator: "-" }),
          Primitive.fromFunction("length", (s: string) => s.length)
        )
        assert.strictEqual(yield* Primitive.run(workflow, "  a bb ccc "), "A-BB-CCC".length)
        assert.deepStrictEqual(yield* FlowStream.collect(words).run("x y"), ["x", "y"])
        const total = FlowStream.toPrimitive(
          words,
          (stream) => EffectStream.runFold(stream, 0, (n, w) => n + w.length),
          { name: "letters" }
        )
        assert.strictEqual(total.name, "letters")
        assert.strictEqual(yield* total.run("ab cde"), 5)
      }))
  })

  describe("failures and cancellation", () => {
    it.effect("a mid-stream error: the tokens before it, then the typed error", () =>
      Effect.gen(function*() {
        const name = "flaky.llm"
        const flaky = FlowStream.make(name, (_: string) =>
          EffectStream.concat(
            guideStream(["a", "b", "c"]),
            EffectStream.fail(new Overloaded({ after: 3 }))
          ))
        const fiber = yield* Effect.fork(EffectStream.runCollect(EffectStream.either(flaky.stream("q"))))
        yield* TestClock.adjust("1 second")
        const out = Chunk.toArray(yield* Fiber.join(fiber))
        assert.deepStrictEqual(out.slice(0, 3), [Either.right("a"), Either.right("b"), Either.right("c")])
        assert.deepStrictEqual(out[3], Either.left(new Overloaded({ after: 3 })))
        const failed = yield* valueOf(FlowStream.metrics.runs, { primitive: name, outcome: "failed" })
        assert.strictEqual(failed.count, 1)

        const error = yield* Effect.flip(
          FlowStream.collect(flaky).run("q").pipe(
            Effect.fork,
            Effect.tap(() => TestClock.adjust("1 second")),
            Effect.flatMap(Fiber.join)
          )
        )
        assert.strictEqual(error._tag, "Overloaded")
      }))

    it.effect("fromAsyncIterable: a throw mid-stream is AsyncIterableFailed after the tokens", () =>
      Effect.gen(function*() {
        const source = FlowStream.fromAsyncIterable("gen", async function*(n: number) {
          for (let i = 0; i < n; i++) yield i
          throw new Error("connection reset")
        })
        const seen: Array<number> = []
        const error = yield* Effect.flip(
          EffectStream.runForEach(source.stream(3), (i) => Effect.sync(() => seen.push(i)))
        )
        assert.deepStrictEqual(seen, [0, 1, 2])
        assert.strictEqual(error._tag, "AsyncIterableFailed")
        assert.strictEqual(error.primitive, "gen")
        assert.strictEqual((error.cause as Error).message, "connection reset")

        const mapped = FlowStream.fromAsyncIterable("gen2", async function*(_: void) {
          yield 1
          throw new Error("boom")
        }, { catch: () => new Overloaded({ after: 1 }) })
        const mappedError = yield* Effect.flip(EffectStream.runDrain(mapped.stream()))
        assert.strictEqual(mappedError._tag, "Overloaded")
      }))

    it.effect("take(n) stops the upstream stream", () =>
      Effect.gen(function*() {
        const { probe, wrap } = upstreamProbe()
        const llm = FlowStream.make("take.llm", (_: string) => wrap(guideStream()))
        const fiber = yield* Effect.fork(EffectStream.runCollect(EffectStream.take(llm.stream("q"), 2)))
        yield* TestClock.adjust("3 seconds")
        assert.deepStrictEqual(Chunk.toArray(yield* Fiber.join(fiber)), ["t0 ", "t1 "])
        assert.deepStrictEqual(probe, { started: 1, stopped: 1, completed: 0 })
        const cancelled = yield* valueOf(FlowStream.metrics.runs, { primitive: "take.llm", outcome: "cancelled" })
        assert.strictEqual(cancelled.count, 1)
      }))

    it.effect("take(n) and interruption abort the AbortSignal of fromAsyncIterable", () =>
      Effect.gen(function*() {
        const signals: Array<AbortSignal> = []
        let unwound: () => void = () => undefined
        const pending = new Promise<void>((resolve) => {
          unwound = resolve
        })
        const source = FlowStream.fromAsyncIterable("abortable", async function*(n: number, signal: AbortSignal) {
          signals.push(signal)
          for (let i = 0; i < n; i++) yield i
          // Then hang like a slow network until aborted.
          await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()))
          unwound()
        })
        const firstTwo = yield* EffectStream.runCollect(EffectStream.take(source.stream(5), 2))
        assert.deepStrictEqual(Chunk.toArray(firstTwo), [0, 1])
        assert.isTrue(signals[0]!.aborted)

        const started = yield* Deferred.make<void>()
        const fiber = yield* Effect.fork(
          EffectStream.runForEach(source.stream(1), () => Deferred.succeed(started, undefined))
        )
        yield* Deferred.await(started)
        assert.isFalse(signals[1]!.aborted)
        yield* Fiber.interrupt(fiber)
        assert.isTrue(signals[1]!.aborted)
        yield* Effect.promise(() => pending)
      }))
  })

  describe("construction and chunking", () => {
    it("rejects malformed definitions where they are written", () => {
      const gen = async function*(_: void) {
        yield 1
      }
      assert.throws(() => FlowStream.fromAsyncIterable("bad", gen, { bufferSize: 0 }), /bufferSize/)
      assert.throws(
        () => FlowStream.make("ok", () => EffectStream.empty).pipe(FlowStream.buffer({ capacity: 0 })),
        /capacity/
      )
      assert.throws(() => FlowStream.make(" ", () => EffectStream.empty), /name/)
    })

    it.effect("fromAsyncIterable: a source running ahead is delivered in large chunks", () =>
      Effect.gen(function*() {
        const source = FlowStream.fromAsyncIterable("ahead", async function*(n: number) {
          for (let i = 0; i < n; i++) yield i
        }, { bufferSize: 100 })
        const sizes = Chunk.toArray(
          yield* EffectStream.runCollect(EffectStream.map(EffectStream.chunks(source.stream(1000)), Chunk.size))
        )
        assert.strictEqual(sizes.reduce((a, b) => a + b, 0), 1000)
        // The first token alone (no batching delay), then full buffers.
        assert.strictEqual(sizes[0], 1)
        assert.isAtMost(sizes.length, 20)
        assert.isAtMost(Math.max(...sizes), 100)
      }))
  })

  describe("backpressure", () => {
    it.effect("a pulled stream produces only what the consumer asks for", () =>
      Effect.gen(function*() {
        let produced = 0
        let consumed = 0
        let maxAhead = 0
        const source = FlowStream.make("pulled", (_: void) =>
          EffectStream.repeatEffect(Effect.sync(() => ++produced)).pipe(EffectStream.take(50)))
        const fiber = yield* Effect.fork(EffectStream.runForEach(source.stream(), () =>
          Effect.sync(() => {
            consumed++
            maxAhead = Math.max(maxAhead, produced - consumed)
          }).pipe(Effect.zipRight(Effect.sleep("1 second")))))
        yield* TestClock.adjust("10 seconds")
        assert.isAtMost(maxAhead, 1)
        assert.isAtMost(produced, 12)
        yield* Fiber.interrupt(fiber)
      }))

    it.effect("fromAsyncIterable reads at most bufferSize elements ahead of a slow consumer", () =>
      Effect.gen(function*() {
        const bufferSize = 8
        let produced = 0
        let consumed = 0
        let maxAhead = 0
        const source = FlowStream.fromAsyncIterable("fast.source", async function*(_: void) {
          while (true) yield ++produced
        }, { bufferSize })
        const fiber = yield* Effect.fork(EffectStream.runForEach(source.stream(), () =>
          Effect.sync(() => {
            consumed++
          }).pipe(Effect.zipRight(Effect.sleep("1 second")))))
        for (let i = 0; i < 20; i++) {
          // Real turns of the event loop let the producer run as far as it can.
          yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
          maxAhead = Math.max(maxAhead, produced - consumed)
          yield* TestClock.adjust("1 second")
        }
        assert.isAtLeast(consumed, 10)
        // bufferSize queued + one delivered chunk being consumed + one in hand.
        assert.isAtMost(maxAhead, 2 * bufferSize + 1)
        assert.isAtLeast(maxAhead, bufferSize)
        yield* Fiber.interrupt(fiber)
      }))

    it.effect("buffer: the source runs ahead by at most the capacity", () =>
      Effect.gen(function*() {
        let produced = 0
        let consumed = 0
        let maxAhead = 0
        const source = FlowStream.make(
          "buffered",
          (_: void) => EffectStream.repeatEffect(Effect.sync(() => ++produced))
        ).pipe(FlowStream.buffer({ capacity: 4 }))
        const fiber = yield* Effect.fork(EffectStream.runForEach(source.stream(), () =>
          Effect.sync(() => {
            consumed++
            maxAhead = Math.max(maxAhead, produced - consumed)
          }).pipe(Effect.zipRight(Effect.sleep("1 second")))))
        yield* TestClock.adjust("10 seconds")
        assert.isAtLeast(consumed, 10)
        assert.isAtMost(maxAhead, 4 + 2)
        yield* Fiber.interrupt(fiber)
      }))
  })

  describe("collect on a plain source (read without Effect's stream machinery)", () => {
    const tokens = (n: number) => Array.from({ length: n }, (_, i) => `t${i} `)

    it.effect("the text, the run's metrics and its checkpoints, through Primitive.run", () =>
      Effect.gen(function*() {
        const name = "direct.agen"
        const source = FlowStream.fromAsyncIterable(name, async function*(n: number) {
          for (const token of tokens(n)) yield token
        })
        const answer = FlowStream.collectText(FlowStream.map(source, (t) => t.toUpperCase()))
        const [text, timeline] = yield* Primitive.run(
          Primitive.make("answer", (n: number) => Effect.zip(answer.run(n), WorkflowContext.timeline)),
          50
        )
        assert.strictEqual(text, tokens(50).join("").toUpperCase())
        assert.deepStrictEqual(timeline.map((c) => c.name), ["stream.first_token", "stream.complete"])
        assert.deepStrictEqual(timeline[1]!.attributes, { primitive: name, totalMs: 0, chunks: 2 })
        const runs = yield* valueOf(FlowStream.metrics.runs, { primitive: name, outcome: "completed" })
        const elements = yield* valueOf(FlowStream.metrics.elements, { primitive: name })
        const chunks = yield* valueOf(FlowStream.metrics.chunks, { primitive: name })
        const ttft = yield* valueOf(FlowStream.metrics.ttft, { primitive: name })
        assert.strictEqual(runs.count, 1)
        assert.strictEqual(elements.count, 50)
        // The first token alone, then every token of the same (virtual) millisecond in one chunk.
        assert.strictEqual(chunks.count, 2)
        assert.deepStrictEqual([ttft.count, ttft.sum], [1, 0])

        const words = FlowStream.mapChunks(
          FlowStream.fromIterable("direct.words", (s: string) => s.split(" ")),
          (chunk) => Chunk.map(chunk, (w) => w.length)
        )
        assert.deepStrictEqual(yield* Primitive.run(FlowStream.collect(words), "a bb ccc"), [1, 2, 3])
      }))

    it.effect("a failure mid-stream: AsyncIterableFailed, counted as a failed run", () =>
      Effect.gen(function*() {
        const name = "direct.failing"
        const source = FlowStream.fromAsyncIterable(name, async function*(_: void) {
          yield "a"
          yield "b"
          throw new Error("connection reset")
        })
        const error = yield* Effect.flip(Primitive.run(FlowStream.collect(source), undefined))
        assert.strictEqual(error._tag, "AsyncIterableFailed")
        const failed = yield* valueOf(FlowStream.metrics.runs, { primitive: name, outcome: "failed" })
        const elements = yield* valueOf(FlowStream.metrics.elements, { primitive: name })
        assert.strictEqual(failed.count, 1)
        assert.strictEqual(elements.count, 2)

        const broken = FlowStream.fromIterable("direct.throwing", (_: void): Iterable<string> => {
          throw new Error("bug")
        })
        const exit = yield* Effect.exit(Primitive.run(FlowStream.collect(broken), undefined))
        assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
      }))

    it.effect("interrupting a collect aborts the source's signal and counts an interrupted run", () =>
      Effect.gen(function*() {
        const name = "direct.hanging"
        const signals: Array<AbortSignal> = []
        let started: () => void = () => undefined
        const first = new Promise<void>((resolve) => {
          started = resolve
        })
        const source = FlowStream.fromAsyncIterable(name, async function*(_: void, signal: AbortSignal) {
          signals.push(signal)
          yield "a"
          started()
          await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()))
        })
        const fiber = yield* Effect.fork(Primitive.run(FlowStream.collect(source), undefined))
        yield* Effect.promise(() => first)
        assert.isFalse(signals[0]!.aborted)
        yield* Fiber.interrupt(fiber)
        assert.isTrue(signals[0]!.aborted)
        const interrupted = yield* valueOf(FlowStream.metrics.runs, { primitive: name, outcome: "interrupted" })
        assert.strictEqual(interrupted.count, 1)
      }))

    it.effect("tokens of one clock millisecond are one chunk, the first alone; gaps between milliseconds", () =>
      Effect.gen(function*() {
        const name = "direct.paced"
        // The source waits at each gate until the test has moved the TestClock on.
        const gates = Array.from({ length: 2 }, () => {
          let open: () => void = () => undefined
          let reached: () => void = () => undefined
          const opened = new Promise<void>((resolve) => {
            open = resolve
          })
          const arrived = new Promise<void>((resolve) => {
            reached = resolve
          })
          return { open, opened, reached, arrived }
        })
        const source = FlowStream.fromAsyncIterable(name, async function*(_: void) {
          yield "a"
          yield "b"
          yield "c"
          gates[0]!.reached()
          await gates[0]!.opened
          yield "d"
          yield "e"
          gates[1]!.reached()
          await gates[1]!.opened
          yield "f"
        })
        const fiber = yield* Effect.fork(Primitive.run(FlowStream.collectText(source, { separator: "," }), undefined))
        for (const gate of gates) {
          yield* Effect.promise(() => gate.arrived)
          yield* TestClock.adjust("5 millis")
          gate.open()
        }
        assert.strictEqual(yield* Fiber.join(fiber), "a,b,c,d,e,f")
        // [a] at 0 ms, [b, c] at 0 ms, [d, e] at 5 ms, [f] at 10 ms.
        const chunks = yield* valueOf(FlowStream.metrics.chunks, { primitive: name })
        const gap = yield* valueOf(FlowStream.metrics.gap, { primitive: name })
        const duration = yield* valueOf(FlowStream.metrics.duration, { primitive: name })
        assert.strictEqual(chunks.count, 4)
        assert.deepStrictEqual([gap.count, gap.sum, gap.max], [3, 10, 5])
        assert.deepStrictEqual([duration.count, duration.sum], [1, 10])
      }))

    it.effect("collectText joins chunk after chunk with its separator, as the stream path does", () =>
      Effect.gen(function*() {
        const { recording } = yield* recordingTracer
        // Under the TestClock: the first token alone, then the rest in one chunk.
        const source = FlowStream.fromAsyncIterable("direct.separated", async function*(n: number) {
          for (const token of tokens(n)) yield token.trim()
        })
        // The first chunk emptied: it adds no separator (and the next token is then the first).
        const dropFirst = FlowStream.mapChunks(source, (chunk) => Chunk.filter(chunk, (t) => t !== "t0"))
        const cases = [
          [source, 4, "t0 t1 t2 t3"],
          [dropFirst, 4, "t1 t2 t3"],
          [source, 1, "t0"],
          [source, 0, ""]
        ] as const
        for (const [stream, n, expected] of cases) {
          const collected = FlowStream.collectText(stream, { separator: " " })
          assert.strictEqual(yield* Primitive.run(collected, n), expected)
          assert.strictEqual(yield* Primitive.run(collected, n).pipe(Effect.withTracer(recording)), expected)
        }
      }))

    it.effect("collect hands back a fresh array, never the array of a chunk", () =>
      Effect.gen(function*() {
        const held = ["x", "y"]
        const shared = FlowStream.mapChunks(
          FlowStream.fromIterable("direct.shared", (_: void) => ["a"]),
          () => Chunk.unsafeFromArray(held)
        )
        const items = yield* Primitive.run(FlowStream.collect(shared), undefined)
        assert.deepStrictEqual(items, ["x", "y"])
        items.push("z")
        assert.deepStrictEqual(held, ["x", "y"])
      }))

    it("a run's chunks are let go once read (a dead array in the old generation would hold them)", async () => {
      // Imported here: the internal module first would evaluate `Primitive.ts` inside its own import cycle.
      const Direct = await import("../src/internal/streamDirect.js")
      const parts = [["a", "b"], ["c"]]
      assert.strictEqual(Direct.toText(parts, "-"), "a-b-c")
      assert.strictEqual(parts.length, 0)
      const more = [["a"], ["b", "c"]]
      assert.deepStrictEqual(Direct.toArray(more), ["a", "b", "c"])
      assert.strictEqual(more.length, 0)
    })

    it.effect("with a recording tracer, the run goes through the stream and its span", () =>
      Effect.gen(function*() {
        const { recording, spans } = yield* recordingTracer
        const source = FlowStream.fromIterable("direct.traced", (n: number) => tokens(n))
        const text = yield* Primitive.run(FlowStream.collectText(source), 3).pipe(Effect.withTracer(recording))
        assert.strictEqual(text, "t0 t1 t2 ")
        const span = spans.find((s) => s.name === "direct.traced")
        assert.isDefined(span)
        const attributes = (span as unknown as { attributes: Map<string, unknown> }).attributes
        assert.strictEqual(attributes.get("flowtune.stream.outcome"), "completed")
        assert.strictEqual(attributes.get("flowtune.stream.elements"), 3)
      }))
  })
})
