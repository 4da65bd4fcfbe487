import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as Model from "flowtune/Model"
import type * as Tracing from "flowtune/Tracing"
import * as Tour from "../src/Tour.js"
import { claim, toTimeline } from "../src/Tour/Common.js"

/** Runs the tour in virtual time: the test clock is moved until the tour is done. */
const runVirtual = (options: Tour.Options) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Tour.run({ scale: 1, report: false, embedded: true, ...options }))
    for (let i = 0; i < 100_000; i++) {
      if (Option.isSome(yield* Fiber.poll(fiber))) break
      yield* TestClock.adjust("100 millis")
    }
    return yield* Fiber.join(fiber)
  }).pipe(Effect.provide(NodeContext.layer))

/** The labels of the counted claims that failed, by step. */
const failed = (result: Tour.TourResult): Array<string> =>
  result.steps.flatMap((s) =>
    s.claims.filter((c) => c.check !== "info" && c.check !== "n/a" && !c.ok).map((c) => `${s.id}: ${c.label}`)
  )

const x5 = (profile: Model.Profile): Model.Profile => ({ ...profile, costPerCall: (profile.costPerCall ?? 0) * 5 })

describe("Tour", () => {
  it.effect(
    "walks the whole guide and every claim holds in the guide's world (virtual time)",
    () =>
      Effect.gen(function*() {
        const started: Array<string> = []
        const finished: Array<string> = []
        const result = yield* runVirtual({
          onStart: (s) => Effect.sync(() => started.push(s.id)),
          onStep: (s) => Effect.sync(() => finished.push(s.id))
        })
        expect(result.steps.map((s) => s.id)).toEqual([...Tour.stepIds])
        expect(started).toEqual([...Tour.stepIds])
        expect(finished).toEqual([...Tour.stepIds])
        expect(result.virtualTime).toBe(true)
        expect(failed(result)).toEqual([])
        expect(result.ok).toBe(true)
        for (const step of result.steps) {
          expect(step.timelines.length, step.id).toBeGreaterThan(0)
          for (const t of step.timelines) expect(t.bars.length, `${step.id}: ${t.label}`).toBeGreaterThan(0)
        }
        const all = result.steps.flatMap((s) => s.claims)
        expect(all.filter((c) => c.check === "approx").length).toBeGreaterThan(40)
        // Real-time rows cannot be measured under the TestClock: shown as n/a, never counted as held.
        const realTime = all.filter((c) => c.realTime)
        expect(realTime.length).toBeGreaterThan(3)
        for (const c of realTime) expect([c.label, c.check]).toEqual([c.label, "n/a"])

        const byId = (id: Tour.StepId) => result.steps.find((s) => s.id === id)!
        // The headline figures, exactly as the guide states them.
        const figure = (id: Tour.StepId, label: string) => byId(id).claims.find((c) => c.label === label)!.measured
        expect(figure("baseline", "total time")).toBeCloseTo(2450, 6)
        expect(figure("parallel", "multi-model, parallel")).toBeCloseTo(2.6, 6)
        expect(figure("parallel", "map-reduce 10 items, parallel")).toBeCloseTo(1.1, 6)
        expect(figure("cache", "cost without cache")).toBeCloseTo(1, 9)
        expect(figure("cache", "cost with cache")).toBeCloseTo(0.5, 9)
        expect(figure("router", "mean latency, routed")).toBeCloseTo(1.11, 6)
        expect(figure("router", "mean cost, routed")).toBeCloseTo(0.00235, 9)
        expect(figure("batch", "100 items, batched (Batch.make)")).toBeCloseTo(5, 6)
        expect(figure("stream", "streaming: first token")).toBeCloseTo(0.3, 6)
        expect(figure("benchmark", "p95 latency")).toBeCloseTo(2500, 6)

        // Every step lists what it was configured with, apart from what it measured.
        for (const step of result.steps) expect(step.assumptions.length, step.id).toBeGreaterThan(0)
        // The advisor speaks guide time and names the step as the breakdown does.
        const advice = byId("breakdown").notes.filter((n) => n.startsWith("advisor"))
        expect(advice.join("\n")).toContain("\"llm_call\"")
        expect(advice.join("\n")).not.toContain("LanguageModel")
        expect(advice.every((n) => n.includes("(guide time)"))).toBe(true)

        // The cached run marks its 50 repeats as hits and its 50 first calls as misses.
        const cached = byId("cache").timelines.find((t) => t.label === "with cache")!
        expect(cached.bars.filter((b) => b.kind === "hit").length).toBe(50)
        expect(cached.bars.filter((b) => b.kind === "miss").length).toBe(50)
        // The parallel fan-out shows its three branches side by side: they start together.
        const parallel = byId("parallel").timelines.find((t) => t.label === "multi-model, parallel")!
        const branches = parallel.bars.filter((b) => /_analysis$/.test(b.name))
        expect(branches.map((b) => b.startMs)).toEqual([0, 0, 0])
        expect(new Set(branches.map((b) => b.row)).size).toBe(3)
      }),
    300_000
  )

  // A wrong world must make exactly the claims about it fail: the figures come from the run.
  it.effect("prices of the GPT-4-class models x5: the cache and router cost claims fail", () =>
    Effect.gen(function*() {
      const result = yield* runVirtual({
        steps: ["cache", "router"],
        world: { models: { quality: x5(Model.profiles.quality), expensive: x5(Model.profiles.expensive) } }
      })
      expect(failed(result)).toEqual([
        "cache: cost without cache",
        "cache: cost with cache",
        "router: mean cost, always quality",
        "router: mean cost, routed",
        "router: cost savings"
      ])
      const cost = result.steps[0]!.claims.find((c) => c.label === "cost without cache")!
      expect(cost.measured).toBeCloseTo(5, 9)
    }), 60_000)

  it.effect("a first token at 1.5 s: the first-token claim fails", () =>
    Effect.gen(function*() {
      const result = yield* runVirtual({
        steps: ["stream"],
        world: { models: { streaming: { ...Model.profiles.streaming, firstToken: "1500 millis" } } }
      })
      expect(failed(result)).toEqual(["stream: streaming: first token", "stream: perceived latency reduced"])
      expect(result.steps[0]!.claims[1]!.measured).toBeCloseTo(1.5, 6)
    }), 60_000)

  it.effect("a cache that never hits: the cache claims fail", () =>
    Effect.gen(function*() {
      let n = 0
      const result = yield* runVirtual({ steps: ["cache"], world: { cacheKey: (q) => `${q}#${n++}` } })
      expect(failed(result)).toEqual([
        "cache: 100 calls with cache (sum of latencies)",
        "cache: speedup",
        "cache: cost with cache",
        "cache: cost saved",
        "cache: hit rate",
        "cache: computations for 3 phrasings (normalized key)",
        "cache: cold L1: answered by a shared tier"
      ])
    }), 60_000)

  it.effect("a fan-out that runs one branch at a time: the parallel claims fail", () =>
    Effect.gen(function*() {
      const result = yield* runVirtual({ steps: ["parallel"], world: { fanOutConcurrency: 1 } })
      expect(failed(result)).toEqual([
        "parallel: 3 x 2 s steps, parallel",
        "parallel: 3 steps speedup",
        "parallel: multi-model, parallel",
        "parallel: multi-model speedup",
        "parallel: map-reduce 10 items, parallel",
        "parallel: map-reduce speedup"
      ])
    }), 60_000)

  it.effect("batches of 1: the batch claims fail", () =>
    Effect.gen(function*() {
      const result = yield* runVirtual({ steps: ["batch"], world: { batchSize: 1 } })
      expect(failed(result)).toEqual([
        "batch: 100 items, batched (Batch.make)",
        "batch: speedup",
        "batch: API calls with batching",
        "batch: list form (Batch.chunked)",
        "batch: API calls, list form"
      ])
    }), 60_000)

  it.effect(
    "the tail step: hedging, adaptive concurrency and a budget hold their targets (virtual time)",
    () =>
      Effect.gen(function*() {
        const result = yield* runVirtual({ steps: ["tail"] })
        const tail = result.steps[0]!
        expect(failed(result)).toEqual([])
        const figure = (prefix: string) => tail.claims.find((c) => c.label.startsWith(prefix))!.measured
        expect(figure("p99 lower with hedging")).toBeGreaterThanOrEqual(3)
        expect(figure("budget: spent")).toBeCloseTo(0.05, 9)
      }),
    120_000
  )

  it.effect(
    "a light tail, a fixed limit too high and a budget estimate below the price: the tail claims fail",
    () =>
      Effect.gen(function*() {
        const result = yield* runVirtual({
          steps: ["tail"],
          world: {
            // No stalls: the p95 hedge has nothing to cut.
            models: {
              tail: {
                ...Tour.defaultWorld.models.tail,
                latency: { _tag: "LogNormal", median: "1 second", p99OverP50: 2 }
              }
            },
            // Four times the hidden capacity: every caller reaches the backend and most get 429.
            tail: { limit: 40, budgetEstimateUsd: 0.004 }
          }
        })
        expect(failed(result)).toEqual([
          "tail: p99 lower with hedging (Tail at Scale; target >= 3x)",
          "tail: Concurrency limiter: 429 rate (target < 1%)",
          "tail: budget: calls sent (the rest refused before sending)",
          "tail: budget: calls refused",
          "tail: budget: spent, from the completions (<= budget)"
        ])
        const spent = result.steps[0]!.claims.find((c) => c.label.startsWith("budget: spent"))!
        expect(spent.measured).toBeCloseTo(0.1, 9)
      }),
    120_000
  )

  it.effect("runs only the steps asked for", () =>
    Effect.gen(function*() {
      const result = yield* runVirtual({ steps: ["stream", "baseline"] })
      expect(result.steps.map((s) => s.id)).toEqual(["baseline", "stream"])
      expect(result.reportPath).toBeUndefined()
    }))

  it("holds a claim to 5% or a fixed 20 guide ms, never more", () => {
    expect(claim("t", 1000, 1049, "ms").ok).toBe(true)
    expect(claim("t", 1000, 1051, "ms").ok).toBe(false)
    expect(claim("t", 1000, 949, "ms").ok).toBe(false)
    // A short step: 20 guide ms, not 5%, and not one ms more.
    expect(claim("t", 50, 70, "ms").ok).toBe(true)
    expect(claim("t", 50, 70.5, "ms").ok).toBe(false)
    expect(claim("t", 0.3, 0.32, "s").ok).toBe(true)
    expect(claim("t", 0.3, 0.321, "s").ok).toBe(false)
    // Other units: 5% only.
    expect(claim("t", 100, 105.1, "%").ok).toBe(false)
    expect(claim("t", 100, 1000, "x", { check: "at-least" }).ok).toBe(true)
    expect(claim("t", 100, 90, "x", { check: "at-least" }).ok).toBe(false)
    expect(claim("t", 1, 2, "ms", { check: "at-most", slack: 0 }).ok).toBe(false)
    expect(claim("t", 1, 50, "ms", { check: "info" }).ok).toBe(true)
  })

  it("prints a step as an aligned claims table, with its inputs apart", () => {
    const text = Tour.formatStep({
      id: "router",
      title: "5. Route",
      section: "Step 5",
      headline: "faster",
      claims: [
        claim("mean latency, routed", 1.11, 1.111, "s"),
        claim("cost savings", 4.26, 3, "x"),
        { ...claim("pooled query (real ms)", 1, 0, "ms", { realTime: true }), check: "n/a", measured: NaN, ratio: NaN }
      ],
      assumptions: [{ label: "fast model", value: "0.8 s, $0.0005 a call" }],
      timelines: [],
      distributions: [],
      notes: [],
      realMs: 1
    })
    const lines = text.split("\n").filter((l) => /^\s+(claim|mean|cost|pooled)/.test(l))
    expect(lines[0]).toMatch(/claim\s+guide\s+measured\s+ratio\s+within\?/)
    expect(text).toContain("yes (±5% or ±0.02 s)")
    expect(text).toContain("NO (±5%)")
    expect(text).toContain("n/a (real time)")
    expect(text).toMatch(/inputs \(configured, not measured\):\n\s+fast model: 0.8 s/)
    // Columns line up: the verdict column starts at the same offset on every row.
    expect(lines.length).toBe(4)
    expect(new Set(lines.map((l) => l.search(/(within\?|yes|NO|n\/a)/))).size).toBe(1)
  })

  it("gives each span name its own rows: concurrent spans of a name on separate rows, sequential ones on one", () => {
    const span = (name: string, id: string, parent: string | undefined, start: number, end: number) =>
      ({
        name,
        spanId: id,
        traceId: "t",
        parentSpanId: parent,
        kind: "internal",
        startTime: BigInt(start * 1e6),
        endTime: BigInt(end * 1e6),
        durationMillis: end - start,
        attributes: parent === undefined ? {} : { "flowtune.primitive.kind": "step" },
        events: [],
        status: "ok",
        errorTag: undefined
      }) satisfies Tracing.SpanRecord
    const timeline = toTimeline("t", [
      span("root", "r", undefined, 0, 30),
      span("call", "a", "r", 0, 10),
      span("call", "b", "r", 10, 20),
      span("call", "c", "r", 5, 15),
      span("other", "d", "r", 20, 30)
    ], 0.1)
    expect(timeline.rows).toBe(4)
    expect(timeline.bars.map((b) => [b.name, b.row])).toEqual([
      ["root", 0],
      ["call", 1],
      ["call", 2],
      ["call", 1],
      ["other", 3]
    ])
    // Real milliseconds divided by the scale: guide milliseconds.
    expect(timeline.durationMs).toBe(300)
  })
})
