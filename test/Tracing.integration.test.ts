/**
 * The sample workflow of the tracing tests, on the real Cache and Model
 * modules: sequence -> parallel -> cache hit and miss -> simulated model
 * call, exported through the OpenTelemetry SDK and read by the breakdown.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as Cache from "../src/Cache.js"
import * as Metrics from "../src/Metrics.js"
import * as Model from "../src/Model.js"
import * as Primitive from "../src/Primitive.js"
import * as Tracing from "../src/Tracing.js"

const model = Model.simulated(Model.profiles.expensive, { name: "llm" })
const cached = Cache.wrap(Primitive.map(model, (completion) => completion.text))
const workflow = Primitive.sequence(
  Primitive.fromFunction("prepare", (q: string) => q.trim()),
  Primitive.parallel({
    again: cached,
    fresh: Primitive.sequence(Primitive.fromFunction("rephrase", (q: string) => `${q}?`), cached)
  }, { name: "answer" })
)

describe("Tracing with the Cache and Model modules", () => {
  it.effect("exports sequence -> parallel -> cache hit and miss -> model call", () =>
    Effect.gen(function*() {
      // Warm the cache for the first branch's input.
      const warm = yield* Effect.fork(Primitive.run(cached, "what is flowtune"))
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(warm)
      const otel = yield* Tracing.OtelMemoryExporter
      otel.reset()

      const fiber = yield* Effect.fork(Metrics.profileRun(Primitive.run(workflow, " what is flowtune ")))
      yield* TestClock.adjust("2 seconds")
      const { breakdown, spans } = yield* Fiber.join(fiber)

      const [root] = Tracing.tree(spans)
      assert.strictEqual(root!.span.attributes["flowtune.primitive.kind"], "sequence")
      const answer = root!.children.find((c) => c.span.name === "answer")!
      assert.strictEqual(answer.span.attributes["flowtune.primitive.kind"], "parallel")
      const modelSpans = spans.filter((s) => s.attributes["gen_ai.request.model"] !== undefined)
      // Only the miss reached the model: the hit branch has no model span under it.
      assert.strictEqual(modelSpans.length, 1)
      const chain: Array<string> = []
      const byId = new Map(spans.map((s) => [s.spanId, s]))
      for (let at = modelSpans[0]; at; at = at.parentSpanId ? byId.get(at.parentSpanId) : undefined) {
        chain.unshift(at.name)
      }
      assert.includeMembers(chain, ["answer", "cache(llm)"])
      assert.strictEqual(chain[0], root!.span.name)
      assert.isAbove(Number(modelSpans[0]!.attributes["gen_ai.usage.output_tokens"] ?? 0), 0)
      assert.strictEqual(breakdown.bottleneck?.name, "answer")
      assert.strictEqual(breakdown.totalMillis, 2000)
      // The exporter saw the same spans.
      const exported = yield* Tracing.exportedSpans
      assert.deepStrictEqual(
        exported.map((s) => s.spanContext().spanId).sort(),
        spans.map((s) => s.spanId).sort()
      )
    }).pipe(Effect.provide(Layer.merge(Cache.layerMemory(), Tracing.layerOtelMemory()))))
})
