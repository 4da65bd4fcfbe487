import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as Metrics from "../src/Metrics.js"
import * as Primitive from "../src/Primitive.js"
import * as Tracing from "../src/Tracing.js"
import * as WorkflowContext from "../src/WorkflowContext.js"

const sleepStep = (name: string, millis: number) =>
  Primitive.make(name, (input: string) => Effect.as(Effect.sleep(`${millis} millis`), input))

const runInVirtualTime = <A, E>(effect: Effect.Effect<A, E>, millis: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(`${millis} millis`)
    return yield* Fiber.join(fiber)
  })

describe("Metrics.breakdown", () => {
  it.effect("reproduces the guide's baseline: 2%, 94%, 4%, model flagged", () =>
    Effect.gen(function*() {
      const workflow = Primitive.sequence(
        sleepStep("input_processing", 50),
        sleepStep("llm_call", 2300),
        sleepStep("output_formatting", 100)
      )
      const { breakdown, value } = yield* runInVirtualTime(Metrics.profileRun(Primitive.run(workflow, "q")), 2450)
      assert.strictEqual(value, "q")
      assert.strictEqual(breakdown.totalMillis, 2450)
      assert.deepStrictEqual(
        breakdown.steps.map((s) => [s.name, s.durationMillis, Math.round(s.share * 100), s.bottleneck]),
        [
          ["llm_call", 2300, 94, true],
          ["output_formatting", 100, 4, false],
          ["input_processing", 50, 2, false]
        ]
      )
      assert.strictEqual(breakdown.bottleneck?.name, "llm_call")
      assert.strictEqual(breakdown.untrackedMillis, 0)
      const text = Metrics.formatBreakdown(breakdown)
      assert.include(text, "llm_call")
      assert.match(text, /llm_call\s+2,300ms \(94%\)\s+<- bottleneck/)
    }))

  it.effect("flags no bottleneck when no step reaches the threshold", () =>
    Effect.gen(function*() {
      const workflow = Primitive.sequence(sleepStep("a", 100), sleepStep("b", 100), sleepStep("c", 100))
      const { breakdown } = yield* runInVirtualTime(Metrics.profileRun(Primitive.run(workflow, "q")), 300)
      assert.strictEqual(breakdown.bottleneck, undefined)
      assert.isTrue(breakdown.steps.every((s) => !s.bottleneck))
      assert.deepStrictEqual(breakdown.steps.map((s) => Math.round(s.share * 1000)), [333, 333, 333])
    }))

  it.effect("adds up repeated steps, and parallel shares may exceed the total", () =>
    Effect.gen(function*() {
      const item = sleepStep("item", 100)
      const workflow = Primitive.sequence(
        Primitive.make("split", (s: string) => Effect.succeed([s, s, s])),
        Primitive.forEach(item, { concurrency: 1 }),
        Primitive.fromFunction("join", (xs: Array<string>) => xs.join(""))
      )
      const { breakdown, spans } = yield* runInVirtualTime(Metrics.profileRun(Primitive.run(workflow, "x")), 300)
      assert.strictEqual(breakdown.totalMillis, 300)
      const forEach = breakdown.steps.find((s) => s.kind === "forEach")
      assert.strictEqual(forEach?.durationMillis, 300)
      assert.strictEqual(forEach?.bottleneck, true)
      assert.strictEqual(spans.filter((s) => s.name === "item").length, 3)
      const parallel = Primitive.parallel([sleepStep("p1", 200), sleepStep("p2", 200)])
      const run2 = yield* runInVirtualTime(Metrics.profileRun(Primitive.run(parallel, "x")), 200)
      assert.strictEqual(run2.breakdown.totalMillis, 200)
      assert.deepStrictEqual(run2.breakdown.steps.map((s) => s.share), [1, 1])
    }))

  it.effect("puts checkpoints on the timeline relative to the run start", () =>
    Effect.gen(function*() {
      const step = Primitive.make("work", (n: number) =>
        Effect.gen(function*() {
          yield* Effect.sleep("40 millis")
          yield* WorkflowContext.checkpoint("halfway", { n })
          yield* Effect.sleep("60 millis")
          return n
        }))
      const { breakdown } = yield* runInVirtualTime(
        Metrics.profileRun(Primitive.run(
          Primitive.sequence(Primitive.make("pre", (n: number) => Effect.as(Effect.sleep("10 millis"), n)), step),
          1
        )),
        110
      )
      assert.deepStrictEqual(breakdown.checkpoints.map((c) => [c.name, c.atMillis, c.span]), [["halfway", 50, "work"]])
    }))

  it.effect("breaks down several top-level runs together", () =>
    Effect.gen(function*() {
      const { breakdown } = yield* runInVirtualTime(
        Metrics.profileRun(Effect.gen(function*() {
          yield* Primitive.run(sleepStep("first", 30), "a")
          yield* Primitive.run(sleepStep("second", 70), "a")
        })),
        100
      )
      assert.strictEqual(breakdown.totalMillis, 100)
      assert.deepStrictEqual(breakdown.steps.map((s) => [s.name, s.share]), [["second", 0.7], ["first", 0.3]])
    }))
})

describe("Metrics.instrument", () => {
  it.effect("counts calls, errors, latency and cost per primitive, keeping one span", () =>
    Effect.gen(function*() {
      const name = `inst_${Math.random().toString(36).slice(2)}`
      const step = Primitive.make(name, (n: number) =>
        n < 0 ? Effect.fail("negative" as const) : Effect.as(Effect.sleep(`${n} millis`), n), {
        annotations: { costPerCall: 0.01 }
      }).pipe(Metrics.instrument({ fingerprint: true }))
      const program = Effect.gen(function*() {
        for (const n of [10, 20, 30, 10]) {
          yield* Primitive.run(step, n)
        }
        yield* Effect.flip(Primitive.run(step, -1))
      })
      const { spans } = yield* runInVirtualTime(Metrics.profileRun(program), 70)
      assert.strictEqual(
        spans.filter((s) =>
          s.name === name
        ).length,
        5
      )
      const hashes = spans.map((s) => s.attributes[Tracing.Attributes.inputHash])
      assert.strictEqual(hashes[0], hashes[3])
      assert.notStrictEqual(hashes[0], hashes[1])
      const rows = (yield* Metrics.snapshot).filter((r) => r.tags["primitive"] === name)
      const byName = Object.fromEntries(rows.map((r) => [r.name, r]))
      assert.strictEqual(byName["flowtune_primitive_calls_total"]?.value, 5)
      assert.strictEqual(byName["flowtune_primitive_errors_total"]?.value, 1)
      assert.closeTo(byName["flowtune_primitive_cost_usd_total"]?.value ?? 0, 0.04, 1e-9)
      const latency = byName["flowtune_primitive_latency_ms"]
      assert.strictEqual(latency?.count, 5)
      assert.strictEqual(latency?.max, 30)
      assert.strictEqual(latency?.min, 0)
      assert.include(Metrics.formatSnapshot(rows), "flowtune_primitive_calls_total")
    }))

  it.effect("works with tracing off and leaves the caller's span alone", () =>
    Effect.gen(function*() {
      const name = `off_${Math.random().toString(36).slice(2)}`
      const step = Metrics.instrument(Primitive.fromFunction(name, (n: number) => n + 1), { fingerprint: true })
      const [value, spans] = yield* Tracing.record(
        Effect.withSpan(Primitive.run(step, 1).pipe(Effect.withTracerEnabled(false)), "caller")
      )
      assert.strictEqual(value, 2)
      assert.deepStrictEqual(spans.map((s) => [s.name, s.attributes[Tracing.Attributes.inputHash]]), [[
        "caller",
        undefined
      ]])
      const rows = (yield* Metrics.snapshot).filter((r) => r.tags["primitive"] === name)
      assert.strictEqual(rows.find((r) => r.name === "flowtune_primitive_calls_total")?.value, 1)
    }))

  it.effect("under Effect's built-in tracer (no span opened) the caller's span gets none of the step's attributes", () =>
    Effect.gen(function*() {
      const name = `native_${Math.random().toString(36).slice(2)}`
      const step = Metrics.instrument(Primitive.fromFunction(name, (n: number) => n + 1), { fingerprint: true })
      const attributes = yield* Effect.withSpan(
        Effect.zipRight(Primitive.run(step, 1), Effect.map(Effect.currentSpan, (span) => span.attributes)),
        "caller"
      )
      assert.isFalse(attributes.has(Tracing.Attributes.inputHash))
      const rows = (yield* Metrics.snapshot).filter((r) => r.tags["primitive"] === name)
      assert.strictEqual(rows.find((r) => r.name === "flowtune_primitive_calls_total")?.value, 1)
    }))

  it.effect("Metrics.layer feeds the metrics from every primitive span, tokens and cost included", () =>
    Effect.gen(function*() {
      const name = `layer_${Math.random().toString(36).slice(2)}`
      const model = Primitive.make(name, (q: string) =>
        Effect.gen(function*() {
          yield* Effect.sleep("200 millis")
          yield* Effect.annotateCurrentSpan({
            "gen_ai.usage.input_tokens": 12,
            "gen_ai.usage.output_tokens": 30,
            "flowtune.cost_usd": 0.002
          })
          return q
        }))
      yield* runInVirtualTime(
        Effect.zipRight(Primitive.run(model, "a"), Primitive.run(model, "b")).pipe(Effect.provide(Metrics.layer)),
        400
      )
      const rows = (yield* Metrics.snapshot).filter((r) => r.tags["primitive"] === name)
      const find = (metric: string, direction?: string) =>
        rows.find((r) => r.name === metric && r.tags["direction"] === direction)?.value
      assert.strictEqual(find("flowtune_primitive_calls_total"), 2)
      assert.strictEqual(find("flowtune_primitive_tokens_total", "input"), 24)
      assert.strictEqual(find("flowtune_primitive_tokens_total", "output"), 60)
      assert.closeTo(find("flowtune_primitive_cost_usd_total") ?? 0, 0.004, 1e-12)
      const latency = rows.find((r) => r.name === "flowtune_primitive_latency_ms")
      assert.strictEqual(latency?.quantiles?.["p50"], 200)
    }))
})
