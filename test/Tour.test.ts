import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as Tour from "../src/Tour.js"
import { claim, toTimeline } from "../src/Tour/Common.js"
import type * as Tracing from "../src/Tracing.js"

/** Runs the tour in virtual time: the test clock is moved until the tour is done. */
const runVirtual = (options: Tour.Options) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Tour.run({ scale: 1, report: false, embedded: true, ...options }))
    for (let i = 0; i < 100_000; i++) {
      if (Option.isSome(yield* Fiber.poll(fiber))) break
      yield* TestClock.adjust("100 millis")
    }
    return yield* Fiber.join(fiber)
  })

describe("Tour", () => {
  it.effect("walks the whole guide and reproduces every claim within 5% (virtual time)", () =>
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
      const off: Array<string> = []
      for (const step of result.steps) {
        for (const c of step.claims) {
          const line = `${step.id}: ${c.label}: guide ${c.guide}, measured ${c.measured}`
          if (c.check === "approx" && !(Math.abs(c.measured / c.guide - 1) <= 0.05)) off.push(line)
          if (c.check === "at-least" && !(c.measured >= c.guide)) off.push(line)
          if (c.check === "at-most" && !(c.measured <= c.guide)) off.push(line)
        }
        expect(step.timelines.length, step.id).toBeGreaterThan(0)
        for (const t of step.timelines) expect(t.bars.length, `${step.id}: ${t.label}`).toBeGreaterThan(0)
      }
      expect(off).toEqual([])
      expect(result.ok).toBe(true)
      expect(result.steps.flatMap((s) => s.claims).filter((c) => c.check === "approx").length).toBeGreaterThan(45)

      const byId = (id: Tour.StepId) => result.steps.find((s) => s.id === id)!
      // The headline figures, exactly as the guide states them.
      const figure = (id: Tour.StepId, label: string) => byId(id).claims.find((c) => c.label === label)!.measured
      expect(figure("baseline", "total time")).toBeCloseTo(2450, 6)
      expect(figure("parallel", "multi-model, parallel")).toBeCloseTo(2.6, 6)
      expect(figure("parallel", "map-reduce 10 items, parallel")).toBeCloseTo(1.1, 6)
      expect(figure("cache", "cost with cache")).toBeCloseTo(0.5, 9)
      expect(figure("router", "mean latency, routed")).toBeCloseTo(1.11, 6)
      expect(figure("router", "mean cost, routed")).toBeCloseTo(0.00235, 9)
      expect(figure("batch", "100 items, batches of 10")).toBeCloseTo(5, 6)
      expect(figure("stream", "streaming: first token")).toBeCloseTo(0.3, 6)
      expect(figure("benchmark", "p95 latency")).toBeCloseTo(2500, 6)

      // The cached run marks its 50 repeats as hits and its 50 first calls as misses.
      const cached = byId("cache").timelines.find((t) => t.label === "with cache")!
      expect(cached.bars.filter((b) => b.kind === "hit").length).toBe(50)
      expect(cached.bars.filter((b) => b.kind === "miss").length).toBe(50)
      // The parallel fan-out shows its three branches side by side: they start together.
      const parallel = byId("parallel").timelines.find((t) => t.label === "multi-model, parallel")!
      const branches = parallel.bars.filter((b) => /_analysis$/.test(b.name))
      expect(branches.map((b) => b.startMs)).toEqual([0, 0, 0])
      expect(new Set(branches.map((b) => b.row)).size).toBe(3)
    }).pipe(Effect.provide(NodeContext.layer)), 180_000)

  it.effect("runs only the steps asked for", () =>
    Effect.gen(function*() {
      const result = yield* runVirtual({ steps: ["stream", "baseline"] })
      expect(result.steps.map((s) => s.id)).toEqual(["baseline", "stream"])
      expect(result.reportPath).toBeUndefined()
    }).pipe(Effect.provide(NodeContext.layer)))

  it("holds a claim to 5%, or to its bound", () => {
    expect(claim("t", 100, 104.9, "ms").ok).toBe(true)
    expect(claim("t", 100, 105.1, "ms").ok).toBe(false)
    expect(claim("t", 100, 94.9, "ms").ok).toBe(false)
    expect(claim("t", 100, 1000, "x", { check: "at-least" }).ok).toBe(true)
    expect(claim("t", 100, 90, "x", { check: "at-least" }).ok).toBe(false)
    expect(claim("t", 1, 2, "ms", { check: "at-most" }).ok).toBe(false)
    expect(claim("t", 1, 50, "ms", { check: "info" }).ok).toBe(true)
    // A short real-time duration may be off by the timer allowance, and no more.
    expect(claim("t", 50, 63, "ms", { slack: 20 }).ok).toBe(true)
    expect(claim("t", 50, 71, "ms", { slack: 20 }).ok).toBe(false)
  })

  it("prints a step as an aligned claims table", () => {
    const text = Tour.formatStep({
      id: "router",
      title: "5. Route",
      section: "Step 5",
      headline: "faster",
      claims: [claim("mean latency, routed", 1.11, 1.111, "s"), claim("cost savings", 4.26, 3, "x")],
      timelines: [],
      distributions: [],
      notes: [],
      realMs: 1
    })
    const lines = text.split("\n").filter((l) => /^\s+(claim|mean|cost)/.test(l))
    expect(lines[0]).toMatch(/claim\s+guide\s+measured\s+ratio\s+within\?/)
    expect(text).toContain("yes (±5%)")
    expect(text).toContain("NO (±5%)")
    // Columns line up: the verdict column starts at the same offset on every row.
    expect(lines.length).toBe(3)
    expect(new Set(lines.map((l) => l.search(/(within\?|yes|NO)/))).size).toBe(1)
  })

  it("lays concurrent spans out on separate rows and sequential ones on one", () => {
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
      span("a", "a", "r", 0, 10),
      span("b", "b", "r", 10, 20),
      span("c", "c", "r", 5, 15)
    ], 0.1)
    expect(timeline.rows).toBe(3)
    expect(timeline.bars.map((b) => [b.name, b.row])).toEqual([["root", 0], ["a", 1], ["c", 2], ["b", 1]])
    // Real milliseconds divided by the scale: guide milliseconds.
    expect(timeline.durationMs).toBe(300)
  })
})
