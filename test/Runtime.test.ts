// The Promise entry, tested as a Promise app uses it: real promises, real AbortControllers, small real waits
// (each bounded and asserted).
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as EffectStream from "effect/Stream"
import { Cache, Primitive, Runtime, Stream as FlowStream } from "flowtune"
import { describe, expect, it } from "vitest"
import { importPeer, MissingPeerDependency } from "../src/internal/peer.js"

class Boom extends Data.TaggedError("Boom")<{ readonly input: number }> {}

class Counter extends Context.Tag("test/Runtime/Counter")<Counter, { readonly next: () => number }>() {}

const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(() => expect.fail("expected a rejection"), (error: unknown) => error)

describe("Runtime (Promise entry)", () => {
  it("builds the layers once, runs primitives, and closes the layers on dispose", async () => {
    const events: Array<string> = []
    const layer = Layer.scoped(
      Counter,
      Effect.acquireRelease(
        Effect.sync(() => {
          events.push("built")
          let n = 0
          return { next: () => ++n }
        }),
        () => Effect.sync(() => events.push("closed"))
      )
    )
    const count = Primitive.make("count", (n: number) => Effect.map(Counter, (counter) => n * 2 + counter.next()))
    const runtime = Runtime.make(layer)
    expect(await runtime.run(count, 1)).toBe(3)
    expect(await runtime.run(count, 1)).toBe(4)
    expect(await Promise.all([runtime.run(count, 10), runtime.run(count, 10)])).toHaveLength(2)
    expect(events).toEqual(["built"])
    await runtime.dispose()
    expect(events).toEqual(["built", "closed"])
  })

  it("rejects with the tagged error itself: instanceof and _tag work, no FiberFailure", async () => {
    const fails = Primitive.make("fails", (input: number) => Effect.fail(new Boom({ input })))
    const runtime = Runtime.make(Layer.empty)
    const error = await rejection(runtime.run(fails, 7))
    expect(error).toBeInstanceOf(Boom)
    expect(error).toBeInstanceOf(Error)
    expect((error as Boom)._tag).toBe("Boom")
    expect((error as Boom).input).toBe(7)
    expect(String((error as Error).name)).not.toMatch(/FiberFailure/)
    // A defect rejects with what was thrown.
    const dies = Primitive.make("dies", (_: number) => Effect.die(new TypeError("bug")))
    const defect = await rejection(runtime.run(dies, 1))
    expect(defect).toBeInstanceOf(TypeError)
    await runtime.dispose()
  })

  it("an aborted signal interrupts the run (finalizers run) and rejects with the signal's reason", async () => {
    let finalized = false
    const slow = Primitive.make(
      "slow",
      (_: number) => Effect.sleep("10 seconds").pipe(Effect.onInterrupt(() => Effect.sync(() => (finalized = true))))
    )
    const runtime = Runtime.make(Layer.empty)
    const controller = new AbortController()
    const started = performance.now()
    const pending = rejection(runtime.run(slow, 1, { signal: controller.signal }))
    setTimeout(() => controller.abort(), 20)
    const error = await pending
    const elapsed = performance.now() - started
    expect((error as Error).name).toBe("AbortError")
    expect(finalized).toBe(true)
    expect(elapsed).toBeLessThan(2_000)
    // Already aborted: rejects without running.
    let ran = false
    const marks = Primitive.make("marks", (_: number) => Effect.sync(() => (ran = true)))
    const reason = new Error("gone")
    expect(await rejection(runtime.run(marks, 1, { signal: AbortSignal.abort(reason) }))).toBe(reason)
    expect(ran).toBe(false)
    await runtime.dispose()
  })

  it("stream: an async iterable pulled as it is read; break stops the upstream; failures reject with the error", async () => {
    const runtime = Runtime.make(Layer.empty)
    const tokens = FlowStream.fromIterable("tokens", (text: string) => text.split(" "))
    const seen: Array<string> = []
    for await (const token of runtime.stream(tokens, "a b c")) seen.push(token)
    expect(seen).toEqual(["a", "b", "c"])

    let pulled = 0
    let closed = false
    const endless = FlowStream.make(
      "endless",
      (_: number) =>
        EffectStream.repeatEffect(Effect.sync(() => ++pulled)).pipe(
          EffectStream.ensuring(Effect.sync(() => (closed = true)))
        )
    )
    const firstThree: Array<number> = []
    for await (const n of runtime.stream(endless, 0)) {
      firstThree.push(n)
      if (firstThree.length === 3) break
    }
    expect(firstThree).toEqual([1, 2, 3])
    expect(closed).toBe(true)

    const failing = FlowStream.make(
      "failing",
      (input: number) => EffectStream.concat(EffectStream.make(1), EffectStream.fail(new Boom({ input })))
    )
    const got: Array<number> = []
    const error = await rejection((async () => {
      for await (const n of runtime.stream(failing, 5)) got.push(n)
    })())
    expect(got).toEqual([1])
    expect(error).toBeInstanceOf(Boom)
    await runtime.dispose()
  })

  it("stream: aborting the signal stops a stream that is waiting and rejects with the reason", async () => {
    let closed = false
    const stuck = FlowStream.make(
      "stuck",
      (_: number) =>
        EffectStream.concat(EffectStream.make("first"), EffectStream.never).pipe(
          EffectStream.ensuring(Effect.sync(() => (closed = true)))
        )
    )
    const runtime = Runtime.make(Layer.empty)
    const controller = new AbortController()
    const got: Array<string> = []
    const started = performance.now()
    const error = await rejection((async () => {
      for await (const s of runtime.stream(stuck, 0, { signal: controller.signal })) {
        got.push(s)
        setTimeout(() => controller.abort(), 20)
      }
    })())
    expect(got).toEqual(["first"])
    expect((error as Error).name).toBe("AbortError")
    expect(closed).toBe(true)
    expect(performance.now() - started).toBeLessThan(2_000)
    await runtime.dispose()
  })

  it("one cache for the whole process: 100 requests over 10 questions compute 10 answers and hit 90 times", async () => {
    let computed = 0
    const answer = Primitive.make("answer", (q: string) => Effect.sync(() => (computed += 1, q.length)))
    const cached = Cache.wrap(answer, { ttl: "1 hour", schema: Schema.Number })
    const runtime = Runtime.make(Cache.layerMemory({ capacity: 1_000 }))
    const questions = Array.from({ length: 100 }, (_, i) => `question ${i % 10}`)
    // Sequential, like requests arriving one after another (concurrent ones would coalesce, not hit).
    for (const q of questions) expect(await runtime.run(cached, q)).toBe(q.length)
    const stats = await runtime.runEffect(Cache.stats(cached))
    expect(computed).toBe(10)
    expect(stats.misses).toBe(10)
    expect(Object.values(stats.hits).reduce((a, b) => a + b, 0)).toBe(90)
    await runtime.dispose()
  })

  it("a missing optional peer is a MissingPeerDependency naming the package to install", async () => {
    const name = "flowtune-test-package-that-does-not-exist"
    const runtime = Runtime.make(Layer.empty)
    const error = await rejection(runtime.runEffect(importPeer(name, "Test.layer", () => import(name))))
    expect(error).toBeInstanceOf(MissingPeerDependency)
    expect(error).toBeInstanceOf(Runtime.MissingPeerDependency)
    expect((error as Error).message).toContain(`npm install ${name}`)
    await runtime.dispose()
  })
})
