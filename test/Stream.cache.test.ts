import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as EffectStream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Cache from "../src/Cache.js"
import * as FlowStream from "../src/Stream.js"

class Overloaded extends Data.TaggedError("Overloaded")<{}> {}

const guideTokens = Array.from({ length: 12 }, (_, i) => `t${i} `)
const answer = guideTokens.join("")

/** First token at 0.3 s, then one every 0.2 s: the last at 2.5 s. */
const guideStream = (tokens: ReadonlyArray<string> = guideTokens) =>
  EffectStream.fromIterable(tokens.map((token, i) => [token, i === 0 ? 300 : 200] as const)).pipe(
    EffectStream.mapEffect(([token, delay]) => Effect.as(Effect.sleep(delay), token))
  )

/** A streaming model whose upstream runs are counted. */
const countedModel = (
  name: string,
  stream: (q: string) => EffectStream.Stream<string, Overloaded> = () => guideStream()
) => {
  const probe = { started: 0, stopped: 0, completed: 0 }
  const llm = FlowStream.make(name, (q: string) =>
    EffectStream.suspend(() => {
      probe.started++
      let done = false
      return stream(q).pipe(
        EffectStream.onEnd(Effect.sync(() => {
          done = true
          probe.completed++
        })),
        EffectStream.ensuring(Effect.sync(() => {
          if (!done) probe.stopped++
        }))
      )
    }))
  return { llm, probe }
}

const cacheCount = (name: string, result: "hit" | "miss" | "shared") =>
  Effect.map(
    Metric.value(Metric.tagged(Metric.tagged(FlowStream.metrics.cache, "primitive", name), "result", result)),
    (state) => state.count
  )

/** Runs `effect` in the background, moves the clock, and joins it. */
const after = <A, E>(effect: Effect.Effect<A, E>, duration: Duration.DurationInput) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(duration)
    return yield* Fiber.join(fiber)
  })

describe("Stream cache", () => {
  it.scoped("replays a cached answer as a stream, in its original chunks", () =>
    Effect.gen(function*() {
      const store = yield* FlowStream.memoryStore<string>()
      const { llm, probe } = countedModel("replay.llm", (q) =>
        q === "chunky"
          ? EffectStream.fromChunks(Chunk.make("a", "b"), Chunk.make("c"), Chunk.make("d", "e", "f"))
          : guideStream())
      const cached = yield* FlowStream.cached(llm, { store, key: (q: string) => q, name: "replay" })

      const first = yield* after(FlowStream.timed(cached).run("q"), "3 seconds")
      assert.strictEqual(first.items.join(""), answer)
      assert.deepStrictEqual([first.ttftMs, first.totalMs], [300, 2500])

      const second = yield* FlowStream.timed(cached).run("q")
      assert.strictEqual(second.items.join(""), answer)
      assert.deepStrictEqual([second.ttftMs, second.totalMs, second.chunks], [0, 0, 12])
      assert.strictEqual(probe.started, 1)

      const chunks = (q: string) =>
        Effect.map(EffectStream.runCollect(EffectStream.chunks(cached.stream(q))), (cs) =>
          Chunk.toArray(cs).map(Chunk.toArray))
      assert.deepStrictEqual(yield* chunks("chunky"), [["a", "b"], ["c"], ["d", "e", "f"]])
      assert.deepStrictEqual(yield* chunks("chunky"), [["a", "b"], ["c"], ["d", "e", "f"]])
      assert.strictEqual(probe.started, 2)
      assert.deepStrictEqual(
        [yield* cacheCount("replay", "hit"), yield* cacheCount("replay", "miss")],
        [2, 2]
      )
    }))

  it.scoped("paces a replay like the original, or at a fixed rate", () =>
    Effect.gen(function*() {
      const store = yield* FlowStream.memoryStore<string>()
      const { llm, probe } = countedModel("paced.llm")
      const original = yield* FlowStream.cached(llm, { store, key: (q: string) => q, pace: "original" })
      const fixed = yield* FlowStream.cached(llm, { store, key: (q: string) => q, pace: "50 millis" })
      yield* after(FlowStream.collectText(original).run("q"), "3 seconds")

      const replayed = yield* after(FlowStream.timed(original).run("q"), "3 seconds")
      assert.deepStrictEqual([replayed.ttftMs, replayed.totalMs], [300, 2500])
      const quick = yield* after(FlowStream.timed(fixed).run("q"), "3 seconds")
      assert.deepStrictEqual([quick.ttftMs, quick.totalMs], [0, 11 * 50])
      assert.strictEqual(quick.items.join(""), answer)
      assert.strictEqual(probe.started, 1)
    }))

  it.scoped("concurrent identical requests share one upstream; a late joiner sees every token", () =>
    Effect.gen(function*() {
      const store = yield* FlowStream.memoryStore<string>()
      const { llm, probe } = countedModel("shared.llm")
      const cached = yield* FlowStream.cached(llm, { store, key: (q: string) => q, name: "shared" })

      const early = yield* Effect.fork(FlowStream.timed(cached).run("q"))
      yield* TestClock.adjust("1 second")
      const late = yield* Effect.fork(FlowStream.timed(cached).run("q"))
      const other = yield* Effect.fork(FlowStream.timed(cached).run("another question"))
      yield* TestClock.adjust("3 seconds")
      const [a, b, c] = [yield* Fiber.join(early), yield* Fiber.join(late), yield* Fiber.join(other)]
      assert.strictEqual(a.items.join(""), answer)
      assert.strictEqual(b.items.join(""), answer)
      assert.strictEqual(c.items.join(""), answer)
      // The late joiner got the 4 tokens delivered so far at once, then the live ones.
      assert.deepStrictEqual([b.ttftMs, b.totalMs], [0, 1500])
      assert.strictEqual(probe.started, 2)
      assert.deepStrictEqual(
        [yield* cacheCount("shared", "miss"), yield* cacheCount("shared", "shared")],
        [2, 1]
      )
      assert.isTrue(Option.isSome(yield* store.get("q")))
    }))

  it.scoped("share alone: one upstream for concurrent requests, a new one afterwards", () =>
    Effect.gen(function*() {
      const { llm, probe } = countedModel("share.only")
      const shared = yield* FlowStream.share(llm, { key: (q: string) => q })
      assert.strictEqual(shared.name, "share(share.only)")
      const both = yield* after(
        Effect.all([FlowStream.collectText(shared).run("q"), FlowStream.collectText(shared).run("q")], {
          concurrency: "unbounded"
        }),
        "3 seconds"
      )
      assert.deepStrictEqual(both, [answer, answer])
      assert.strictEqual(probe.started, 1)
      yield* after(FlowStream.collectText(shared).run("q"), "3 seconds")
      assert.strictEqual(probe.started, 2)
    }))

  it.scoped("a stream stopped early is never stored, and its upstream is stopped", () =>
    Effect.gen(function*() {
      const store = yield* FlowStream.memoryStore<string>()
      const { llm, probe } = countedModel("partial.llm")
      const cached = yield* FlowStream.cached(llm, { store, key: (q: string) => q })

      const firstThree = yield* after(EffectStream.runCollect(EffectStream.take(cached.stream("q"), 3)), "3 seconds")
      assert.deepStrictEqual(Chunk.toArray(firstThree), guideTokens.slice(0, 3))
      assert.deepStrictEqual(probe, { started: 1, stopped: 1, completed: 0 })
      assert.isTrue(Option.isNone(yield* store.get("q")))

      const interrupted = yield* Effect.fork(FlowStream.collectText(cached).run("q"))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(interrupted)
      assert.deepStrictEqual(probe, { started: 2, stopped: 2, completed: 0 })
      assert.isTrue(Option.isNone(yield* store.get("q")))

      // The next request runs the upstream again, and this one is stored.
      assert.strictEqual(yield* after(FlowStream.collectText(cached).run("q"), "3 seconds"), answer)
      assert.deepStrictEqual(probe, { started: 3, stopped: 2, completed: 1 })
      assert.isTrue(Option.isSome(yield* store.get("q")))
    }))

  it.scoped("a failed stream delivers its tokens and its error, and is never stored", () =>
    Effect.gen(function*() {
      const store = yield* FlowStream.memoryStore<string>()
      let fail = true
      const { llm, probe } = countedModel("failing.llm", () =>
        fail
          ? EffectStream.concat(guideStream(["a", "b"]), EffectStream.fail(new Overloaded()))
          : guideStream(["a", "b", "c"]))
      const cached = yield* FlowStream.cached(llm, { store, key: (q: string) => q })

      const [one, two] = yield* after(
        Effect.all([
          EffectStream.runCollect(EffectStream.either(cached.stream("q"))),
          EffectStream.runCollect(EffectStream.either(cached.stream("q")))
        ], { concurrency: "unbounded" }),
        "1 second"
      )
      for (const out of [one, two]) {
        const items = Chunk.toArray(out)
        assert.deepStrictEqual(items.slice(0, 2).map((e) => e._tag === "Right" && e.right), ["a", "b"])
        assert.strictEqual(items[2]!._tag === "Left" && items[2]!.left._tag, "Overloaded")
      }
      assert.strictEqual(probe.started, 1)
      assert.isTrue(Option.isNone(yield* store.get("q")))

      fail = false
      assert.strictEqual(yield* after(FlowStream.collectText(cached).run("q"), "1 second"), "abc")
      assert.strictEqual(probe.started, 2)
      assert.isTrue(Option.isSome(yield* store.get("q")))
    }))

  it.scoped("with shared consumers, the upstream stops only when the last one leaves", () =>
    Effect.gen(function*() {
      const store = yield* FlowStream.memoryStore<string>()
      const { llm, probe } = countedModel("leaving.llm")
      const cached = yield* FlowStream.cached(llm, { store, key: (q: string) => q })

      const quitter = yield* Effect.fork(EffectStream.runCollect(EffectStream.take(cached.stream("q"), 2)))
      const stayer = yield* Effect.fork(FlowStream.collectText(cached).run("q"))
      yield* TestClock.adjust("3 seconds")
      assert.strictEqual(Chunk.size(yield* Fiber.join(quitter)), 2)
      assert.strictEqual(yield* Fiber.join(stayer), answer)
      assert.deepStrictEqual(probe, { started: 1, stopped: 0, completed: 1 })

      const a = yield* Effect.fork(FlowStream.collectText(cached).run("other"))
      const b = yield* Effect.fork(FlowStream.collectText(cached).run("other"))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(a)
      assert.deepStrictEqual(probe, { started: 2, stopped: 0, completed: 1 })
      yield* Fiber.interrupt(b)
      assert.deepStrictEqual(probe, { started: 2, stopped: 1, completed: 1 })
      assert.isTrue(Option.isNone(yield* store.get("other")))
    }))

  it.scoped("a failing store is a miss on read and a log line on write, never a failed request", () =>
    Effect.gen(function*() {
      const broken: FlowStream.RecordingStore<string, Overloaded> = {
        get: () => Effect.fail(new Overloaded()),
        set: () => Effect.fail(new Overloaded())
      }
      const { llm, probe } = countedModel("broken.store")
      const cached = yield* FlowStream.cached(llm, { store: broken, key: (q: string) => q })
      assert.strictEqual(yield* after(FlowStream.collectText(cached).run("q"), "3 seconds"), answer)
      assert.strictEqual(yield* after(FlowStream.collectText(cached).run("q"), "3 seconds"), answer)
      assert.strictEqual(probe.started, 2)
    }))

  it.scoped("closing the scope interrupts the runs in flight", () =>
    Effect.gen(function*() {
      const store = yield* FlowStream.memoryStore<string>()
      const { llm, probe } = countedModel("scoped.llm")
      const scope = yield* Effect.scope
      const inner = yield* Effect.scoped(Effect.gen(function*() {
        const cached = yield* FlowStream.cached(llm, { store, key: (q: string) => q })
        const fiber = yield* Effect.forkIn(FlowStream.collectText(cached).run("q"), scope)
        yield* TestClock.adjust("1 second")
        return fiber
      }))
      const exit = yield* Fiber.await(inner)
      assert.isTrue(Exit.isInterrupted(exit))
      assert.deepStrictEqual(probe, { started: 1, stopped: 1, completed: 0 })
    }))

  it.scoped("a request after a run ended starts a new run, even while a slow reader still reads the old one", () =>
    Effect.gen(function*() {
      let released = 0
      const { llm, probe } = countedModel(
        "slow.reader",
        () =>
          guideStream().pipe(EffectStream.ensuring(Effect.sync(() => {
            released++
          })))
      )
      const shared = yield* FlowStream.share(llm, { key: (q: string) => q, name: "slow.share" })

      const fast = yield* Effect.fork(FlowStream.collectText(shared).run("q"))
      // One token a second: still reading long after the upstream ended (at 2.5 s).
      const slowReader = yield* Effect.fork(
        EffectStream.runForEach(shared.stream("q"), () => Effect.sleep("1 second"))
      )
      yield* TestClock.adjust("3 seconds")
      assert.strictEqual(yield* Fiber.join(fast), answer)
      assert.deepStrictEqual(probe, { started: 1, stopped: 0, completed: 1 })
      // The upstream's own finalizers ran when it ended, not when its last reader leaves.
      assert.strictEqual(released, 1)

      const next = yield* after(FlowStream.collectText(shared).run("q"), "3 seconds")
      assert.strictEqual(next, answer)
      assert.strictEqual(probe.started, 2)
      assert.deepStrictEqual(
        [yield* cacheCount("slow.share", "miss"), yield* cacheCount("slow.share", "shared")],
        [2, 1]
      )
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(slowReader)
      assert.strictEqual(released, 2)
    }))

  it.scoped("an upstream error reaches a consumer that joined late", () =>
    Effect.gen(function*() {
      const { llm } = countedModel(
        "late.error",
        () => EffectStream.concat(guideStream(["a", "b", "c"]), EffectStream.fail(new Overloaded()))
      )
      const shared = yield* FlowStream.share(llm, { key: (q: string) => q })
      const early = yield* Effect.fork(Effect.either(FlowStream.collectText(shared).run("q")))
      yield* TestClock.adjust("400 millis")
      const late = yield* Effect.fork(
        EffectStream.runCollect(EffectStream.either(shared.stream("q")))
      )
      yield* TestClock.adjust("1 second")
      const first = yield* Fiber.join(early)
      assert.isTrue(first._tag === "Left" && first.left._tag === "Overloaded")
      const items = Chunk.toArray(yield* Fiber.join(late))
      assert.deepStrictEqual(items.slice(0, 3).map((e) => e._tag === "Right" && e.right), ["a", "b", "c"])
      assert.strictEqual(items[3]!._tag === "Left" && items[3]!.left._tag, "Overloaded")
    }))

  it.scoped("works on a Cache.makeStore over the configured tiers", () =>
    Effect.gen(function*() {
      const store = yield* Cache.makeStore({
        namespace: "stream-test",
        schema: FlowStream.Recording(Schema.String),
        ttl: "1 hour"
      })
      const { llm, probe } = countedModel("tiers.llm")
      const cached = yield* FlowStream.cached(llm, { store, key: (q: string) => q })
      yield* after(FlowStream.collectText(cached).run("q"), "3 seconds")
      const replay = yield* FlowStream.timed(cached).run("q")
      assert.strictEqual(replay.items.join(""), answer)
      assert.deepStrictEqual([replay.ttftMs, replay.chunks], [0, 12])
      assert.strictEqual(probe.started, 1)
    }).pipe(Effect.provide(Cache.layerMemory())))
})
