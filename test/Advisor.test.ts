import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import * as Advisor from "../src/Advisor.js"
import * as Metrics from "../src/Metrics.js"
import * as Primitive from "../src/Primitive.js"

const step = (name: string, millis: number, attributes: Record<string, unknown> = {}) =>
  Primitive.make(
    name,
    (input: string) =>
      Effect.zipRight(Effect.annotateCurrentSpan(attributes), Effect.as(Effect.sleep(`${millis} millis`), input))
  )

const model = (name: string, millis: number, ttft?: number) =>
  step(name, millis, {
    "gen_ai.system": "simulated",
    "gen_ai.request.model": "sim-large",
    ...(ttft === undefined ? {} : { "flowtune.stream.ttft_ms": ttft })
  })

const advise = <A, E>(effect: Effect.Effect<A, E>, millis: number, options?: Advisor.AnalyzeOptions) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Advisor.adviseRun(effect, options))
    yield* TestClock.adjust(`${millis} millis`)
    return yield* Fiber.join(fiber)
  })

const tags = (findings: ReadonlyArray<Advisor.Finding>) => findings.map((f) => f._tag).sort()

describe("Advisor", () => {
  it.effect("on the guide's baseline: the model call dominates and should stream", () =>
    Effect.gen(function*() {
      const workflow = Primitive.sequence(step("input_processing", 50), model("llm_call", 2300), step("output", 100))
      const { findings } = yield* advise(Primitive.run(workflow, "q"), 2450)
      assert.deepStrictEqual(tags(findings), ["DominantStep", "Stream"])
      const dominant = findings.find((f): f is Advisor.DominantStep => f._tag === "DominantStep")!
      assert.deepStrictEqual(dominant.evidence, {
        step: "llm_call",
        durationMillis: 2300,
        totalMillis: 2450,
        share: 0.94,
        modelCall: true
      })
      const stream = findings.find((f): f is Advisor.Stream => f._tag === "Stream")!
      assert.strictEqual(stream.evidence.timeToFirstOutputMillis, 2300)
    }))

  it.effect("flags sequential model calls with the time parallel would take", () =>
    Effect.gen(function*() {
      const workflow = Primitive.sequence(model("a", 2000, 100), model("b", 2000, 100), model("c", 2000, 100))
      const { findings } = yield* advise(Primitive.run(workflow, "q"), 6000)
      assert.deepStrictEqual(tags(findings), ["Parallelize"])
      const finding = findings[0] as Advisor.Parallelize
      assert.strictEqual(finding.evidence.sequentialMillis, 6000)
      assert.strictEqual(finding.evidence.parallelMillis, 2000)
      assert.strictEqual(finding.estimatedSavingMillis, 4000)
      assert.deepStrictEqual(finding.evidence.calls.map((c) => c.name), ["a", "b", "c"])
      assert.strictEqual(finding.evidence.parent, "sequence(a >> b >> c)")
    }))

  it.effect("flags model calls in a sequential forEach, through wrappers such as retry", () =>
    Effect.gen(function*() {
      const call = Primitive.retry(model("ask", 1000, 50), { schedule: Schedule.recurs(2) })
      const workflow = Primitive.forEach(call, { concurrency: 1 })
      const { findings } = yield* advise(Primitive.run(workflow, ["x", "y", "z"]), 3000)
      const finding = findings.find((f) => f._tag === "Parallelize") as Advisor.Parallelize
      assert.deepStrictEqual(finding.evidence.calls.map((c) => c.name), ["retry(ask)", "retry(ask)", "retry(ask)"])
      assert.strictEqual(finding.estimatedSavingMillis, 2000)
    }))

  it.effect("flags repeated inputs with the hit rate a cache would get", () =>
    Effect.gen(function*() {
      const lookup = Metrics.instrument(step("lookup", 100, { "flowtune.cost_usd": 0.01 }), { fingerprint: true })
      const workflow = Primitive.forEach(lookup, { concurrency: 1 })
      const { findings } = yield* advise(Primitive.run(workflow, ["a", "b", "a", "a"]), 400)
      assert.deepStrictEqual(tags(findings), ["Cache"])
      const finding = findings[0] as Advisor.Cache
      assert.deepStrictEqual(finding.evidence, {
        primitive: "lookup",
        calls: 4,
        distinctInputs: 2,
        hitRate: 0.5,
        repeatedMillis: 200,
        repeatedCostUsd: 0.02
      })
      assert.include(finding.suggestion, "50%")
    }))

  it.effect("flags many small calls to one backend", () =>
    Effect.gen(function*() {
      const fetchRow = step("fetch_row", 50, { "flowtune.backend": "postgres" })
      const workflow = Primitive.forEach(fetchRow, { concurrency: 1 })
      const items = Array.from({ length: 20 }, (_, i) => `id${i}`)
      const { findings } = yield* advise(Primitive.run(workflow, items), 1000)
      assert.deepStrictEqual(tags(findings), ["Batch"])
      const finding = findings[0] as Advisor.Batch
      assert.deepStrictEqual(finding.evidence, {
        backend: "postgres",
        calls: 20,
        meanMillis: 50,
        callMillis: 1000,
        maxConcurrent: 1
      })
      assert.strictEqual(finding.estimatedSavingMillis, 900)
      const batched = Primitive.forEach(step("fetch_rows", 50, { "flowtune.backend": "pg", "flowtune.batch.size": 10 }))
      const again = yield* advise(Primitive.run(batched, items), 50)
      assert.deepStrictEqual(again.findings, [])
    }))

  it.effect("flags a late first output, and not a well-streamed one", () =>
    Effect.gen(function*() {
      const late = yield* advise(Primitive.run(model("answer", 2500, 2000), "q"), 2500)
      assert.deepStrictEqual(tags(late.findings), ["Stream"])
      assert.strictEqual((late.findings[0] as Advisor.Stream).evidence.timeToFirstOutputMillis, 2000)
      const streamed = yield* advise(Primitive.run(model("answer", 2500, 300), "q"), 2500)
      assert.deepStrictEqual(streamed.findings, [])
    }))

  it.effect("reads the time to first output from a streaming primitive around the call, or the model's own", () =>
    Effect.gen(function*() {
      const inner = model("generate", 2500)
      const streamed = Primitive.make(
        "stream(generate)",
        (q: string) => Effect.zipRight(Effect.annotateCurrentSpan("flowtune.stream.ttft_ms", 250), inner.run(q))
      )
      const wrapped = yield* advise(Primitive.run(streamed, "q"), 2500)
      assert.deepStrictEqual(wrapped.findings, [])
      const own = step("generate", 2500, {
        "gen_ai.system": "simulated",
        "gen_ai.response.time_to_first_token_ms": 300
      })
      const direct = yield* advise(Primitive.run(own, "q"), 2500)
      assert.deepStrictEqual(direct.findings, [])
      const unstreamed = yield* advise(Primitive.run(inner, "q"), 2500)
      assert.deepStrictEqual(tags(unstreamed.findings), ["Stream"])
    }))

  it.effect("flags a slow non-model step running alone", () =>
    Effect.gen(function*() {
      const workflow = Primitive.sequence(step("parse", 10), step("rank", 1000), step("render", 10))
      const { findings } = yield* advise(Primitive.run(workflow, "q"), 1020)
      assert.deepStrictEqual(tags(findings), ["DominantStep"])
      assert.strictEqual((findings[0] as Advisor.DominantStep).evidence.modelCall, false)
      assert.include(findings[0]!.suggestion, "Optimise")
    }))

  it.effect("has nothing to say about an already optimal workflow", () =>
    Effect.gen(function*() {
      const fan = Primitive.parallel({
        summary: Metrics.instrument(model("summary", 1500, 200), { fingerprint: true }),
        keywords: Metrics.instrument(model("keywords", 1500, 200), { fingerprint: true }),
        sentiment: Metrics.instrument(model("sentiment", 1500, 200), { fingerprint: true })
      })
      const workflow = Primitive.sequence(
        step("prepare", 10),
        fan,
        Primitive.fromFunction("combine", (r: Record<string, string>) => Object.values(r).join())
      )
      const { findings, value } = yield* advise(Primitive.run(workflow, "doc"), 1510)
      assert.strictEqual(value, "doc,doc,doc")
      assert.deepStrictEqual(findings, [])
      assert.strictEqual(Advisor.formatFindings(findings), "No findings: nothing obvious to optimise.")
    }))

  it("formats findings with their evidence", () => {
    const text = Advisor.formatFindings([{
      _tag: "Batch",
      title: "5 separate calls to \"x\"",
      suggestion: "Batch them",
      estimatedSavingMillis: 1,
      evidence: { backend: "x", calls: 5, meanMillis: 1, callMillis: 5, maxConcurrent: 1 }
    }])
    assert.include(text, "1. [Batch] 5 separate calls")
    assert.include(text, "\"calls\":5")
  })
})
