/**
 * Cancellation against a real (local) OpenAI-compatible streaming server:
 * when the consumer stops, the HTTP request is aborted and the server sees
 * its connection closed. Real time on loopback, each wait bounded.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as EffectStream from "effect/Stream"
import * as FlowStream from "../src/Stream.js"
import { chatCompletionTokens, type SseServer, startSseServer } from "./support/sseServer.js"

const tokens = Array.from({ length: 200 }, (_, i) => `w${i} `)

const server = (intervalMs: number, count = tokens.length) =>
  Effect.acquireRelease(
    Effect.promise(() => startSseServer({ tokens: tokens.slice(0, count), intervalMs })),
    (s) => Effect.promise(() => s.close())
  )

const model = (s: SseServer) =>
  FlowStream.fromAsyncIterable("sse.llm", (prompt: string, signal) => chatCompletionTokens(s.url, prompt, signal))

/** The server's view of its n-th connection, waited for at most 5 s. */
const closedConnection = (s: SseServer, n: number) =>
  Effect.promise(() => s.connections[n]!.closed).pipe(
    Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error(`connection ${n} never closed`) })
  )

describe("Stream over a real SSE server", () => {
  it.scopedLive("a complete run reads every token; the server ends the response itself", () =>
    Effect.gen(function*() {
      const s = yield* server(1, 20)
      const text = yield* FlowStream.collectText(model(s)).run("hi")
      assert.strictEqual(text, tokens.slice(0, 20).join(""))
      const closed = yield* closedConnection(s, 0)
      assert.deepStrictEqual(closed, { completed: true, sent: 20 })
    }))

  it.scopedLive("take(n): the request is aborted and the server sees the connection close", () =>
    Effect.gen(function*() {
      const s = yield* server(20)
      const firstThree = yield* EffectStream.runCollect(EffectStream.take(model(s).stream("hi"), 3))
      assert.deepStrictEqual(Chunk.toArray(firstThree), tokens.slice(0, 3))
      const closed = yield* closedConnection(s, 0)
      assert.isFalse(closed.completed)
      assert.isBelow(closed.sent, 20)
    }))

  it.scopedLive("interrupting the consumer aborts the request", () =>
    Effect.gen(function*() {
      const s = yield* server(20)
      const first = yield* Deferred.make<string>()
      const fiber = yield* Effect.fork(
        EffectStream.runForEach(model(s).stream("hi"), (token) => Deferred.succeed(first, token))
      )
      assert.strictEqual(yield* Deferred.await(first), tokens[0])
      yield* Fiber.interrupt(fiber)
      const closed = yield* closedConnection(s, 0)
      assert.isFalse(closed.completed)
      assert.isBelow(closed.sent, 20)
    }))

  it.scopedLive("through a cached primitive: the last consumer leaving aborts the shared request", () =>
    Effect.gen(function*() {
      const s = yield* server(20)
      const store = yield* FlowStream.memoryStore<string>()
      const cached = yield* FlowStream.cached(model(s), { store, key: (q: string) => q })
      const [a, b] = yield* Effect.all([
        EffectStream.runCollect(EffectStream.take(cached.stream("hi"), 2)),
        EffectStream.runCollect(EffectStream.take(cached.stream("hi"), 4))
      ], { concurrency: "unbounded" })
      assert.deepStrictEqual(Chunk.toArray(a), tokens.slice(0, 2))
      assert.deepStrictEqual(Chunk.toArray(b), tokens.slice(0, 4))
      assert.strictEqual(s.connections.length, 1)
      const closed = yield* closedConnection(s, 0)
      assert.isFalse(closed.completed)
      assert.isTrue(Option.isNone(yield* store.get("hi")))
    }))
})
