import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import * as Primitive from "../src/Primitive.js"
import * as Tracing from "../src/Tracing.js"
import * as WorkflowContext from "../src/WorkflowContext.js"

const marks = (timeline: ReadonlyArray<WorkflowContext.Checkpoint>) =>
  timeline.map((c) => ({ name: c.name, at: c.at, branch: c.branch.join("/") }))

describe("WorkflowContext", () => {
  it.effect("checkpoints land on the timeline in order, timed by the Clock", () =>
    Effect.gen(function*() {
      const program = Effect.gen(function*() {
        yield* WorkflowContext.checkpoint("start", { input: "q" })
        yield* Effect.sleep("50 millis")
        yield* WorkflowContext.checkpoint("llm.start")
        yield* Effect.sleep("2300 millis")
        yield* WorkflowContext.checkpoint("llm.end", { tokens: 42 })
        return yield* WorkflowContext.timeline
      }).pipe(WorkflowContext.withContext({ runId: "run-1", metadata: { user: "ada" } }))
      const fiber = yield* Effect.fork(program)
      yield* TestClock.adjust(Duration.seconds(3))
      const timeline = yield* Fiber.join(fiber)
      assert.deepStrictEqual(marks(timeline), [
        { name: "start", at: 0, branch: "" },
        { name: "llm.start", at: 50, branch: "" },
        { name: "llm.end", at: 2350, branch: "" }
      ])
      assert.deepStrictEqual(timeline[2]!.attributes, { tokens: 42 })
    }))

  it.effect("a run has ids and metadata; the correlation id defaults to the run id", () =>
    Effect.gen(function*() {
      const context = yield* WorkflowContext.WorkflowContext.pipe(
        WorkflowContext.withContext({ runId: "r", metadata: { tenant: "t1" } })
      )
      assert.strictEqual(context.runId, "r")
      assert.strictEqual(context.correlationId, "r")
      assert.deepStrictEqual(context.metadata, { tenant: "t1" })
      const other = yield* WorkflowContext.WorkflowContext.pipe(WorkflowContext.withContext())
      assert.notStrictEqual(other.runId, context.runId)
      assert.match(other.runId, /^[0-9a-f-]{36}$/)
    }))

  it.effect("parallel branches record on the run's timeline, tagged with their branch", () =>
    Effect.gen(function*() {
      const branch = (name: string, ms: number) =>
        Primitive.make(name, (_: void) =>
          Effect.gen(function*() {
            yield* WorkflowContext.checkpoint(`${name}.start`)
            yield* Effect.sleep(Duration.millis(ms))
            yield* WorkflowContext.checkpoint(`${name}.end`)
          }))
      const workflow = Primitive.sequence(
        Primitive.parallel({ fast: branch("fast", 100), slow: branch("slow", 300) }),
        Primitive.make("after", (_: unknown) => WorkflowContext.checkpoint("after"))
      )
      const program = Effect.zipRight(Primitive.run(workflow, undefined), WorkflowContext.timeline).pipe(
        WorkflowContext.withContext()
      )
      const fiber = yield* Effect.fork(program)
      yield* TestClock.adjust(Duration.seconds(1))
      const timeline = yield* Fiber.join(fiber)
      assert.deepStrictEqual(marks(timeline), [
        { name: "fast.start", at: 0, branch: "fast" },
        { name: "slow.start", at: 0, branch: "slow" },
        { name: "fast.end", at: 100, branch: "fast" },
        { name: "slow.end", at: 300, branch: "slow" },
        { name: "after", at: 300, branch: "" }
      ])
    }))

  it.effect("checkpoints are also events on the current span", () =>
    Effect.gen(function*() {
      const events: Array<{ name: string; attributes: Record<string, unknown> | undefined }> = []
      const step = Primitive.make("step", (_: void) =>
        Effect.gen(function*() {
          const span = yield* Effect.currentSpan
          const original = span.event.bind(span)
          span.event = (name, time, attributes) => {
            events.push({ name, attributes })
            original(name, time, attributes)
          }
          yield* WorkflowContext.checkpoint("inside", { k: 1 })
        }))
      yield* Primitive.run(step, undefined)
      assert.deepStrictEqual(events, [{ name: "inside", attributes: { k: 1 } }])
    }).pipe(Effect.provide(Tracing.layerMemory())))

  it.effect("outside a run a checkpoint is harmless and Primitive.run supplies a fresh context", () =>
    Effect.gen(function*() {
      yield* WorkflowContext.checkpoint("nowhere")
      const seen = Primitive.make("seen", (_: void) => Effect.map(WorkflowContext.WorkflowContext, (c) => c.runId))
      const a = yield* Primitive.run(seen, undefined)
      const b = yield* Primitive.run(seen, undefined, { runId: "given" })
      assert.notStrictEqual(a, "given")
      assert.strictEqual(b, "given")
    }))

  it.effect("run ids are drawn from Effect's Random: a seeded Random gives the same ids", () =>
    Effect.gen(function*() {
      const ids = Effect.all([
        Effect.map(WorkflowContext.make(), (c) => c.runId),
        Effect.map(WorkflowContext.make(), (c) => c.runId)
      ])
      const a = yield* Effect.withRandom(ids, Random.make("seed"))
      const b = yield* Effect.withRandom(ids, Random.make("seed"))
      assert.deepStrictEqual(a, b)
      assert.notStrictEqual(a[0], a[1])
      for (const id of a) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    }))

  it.effect("a Random service other than Effect's own is drawn through its `next`", () =>
    Effect.gen(function*() {
      const id = Effect.map(WorkflowContext.make(), (c) => c.runId)
      const half = yield* Effect.withRandom(id, Random.fixed([0.5]))
      const quarter = yield* Effect.withRandom(id, Random.fixed([0.25]))
      assert.notStrictEqual(half, quarter)
      assert.strictEqual(yield* Effect.withRandom(id, Random.fixed([0.5])), half)
    }))

  it.effect("the run id is built on first read: pinned for a seed and a time, the same in branches and JSON", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust(Duration.millis(1234567))
      const ids = Effect.all([
        Effect.map(WorkflowContext.make(), (c) => c.runId),
        WorkflowContext.ensure(Effect.map(WorkflowContext.WorkflowContext, (c) => c.correlationId))
      ])
      // The strings the eager build gave for this seed and clock.
      assert.deepStrictEqual(yield* Effect.withRandom(ids, Random.make("seed")), [
        "00000012-d687-72cf-9cd8-0e33a9200000",
        "00000012-d687-7e54-8966-833127000000"
      ])
      const root = yield* WorkflowContext.make({ metadata: { k: 1 } })
      const branch = WorkflowContext.child(root, "b")
      const runId = branch.runId
      assert.strictEqual(root.runId, runId)
      assert.strictEqual(root.runId, runId)
      assert.strictEqual(branch.correlationId, runId)
      assert.deepStrictEqual(JSON.parse(JSON.stringify(branch)), {
        runId,
        correlationId: runId,
        metadata: { k: 1 },
        branch: ["b"],
        startedAt: 1234567,
        checkpoints: []
      })
      const given = WorkflowContext.child(yield* WorkflowContext.make({ runId: "r", correlationId: "c" }), "x")
      assert.deepStrictEqual([given.runId, given.correlationId], ["r", "c"])
      // The draw and the cached id stay private: keys and spreads show the data fields, JSON shows the ids too.
      const fresh = yield* WorkflowContext.make()
      assert.deepStrictEqual(Object.keys(fresh).sort(), ["branch", "checkpoints", "metadata", "startedAt"])
      assert.deepStrictEqual(Object.keys(JSON.parse(JSON.stringify(fresh))).sort(), [
        "branch",
        "checkpoints",
        "correlationId",
        "metadata",
        "runId",
        "startedAt"
      ])
    }))

  it.effect("the context is restored after the run, on success and on failure", () =>
    Effect.gen(function*() {
      const has = Effect.map(Effect.context<never>(), (c) => c.unsafeMap.has(WorkflowContext.WorkflowContext.key))
      const inside = yield* WorkflowContext.ensure(has)
      assert.isTrue(inside)
      assert.isFalse(yield* has)
      yield* Effect.flip(WorkflowContext.ensure(Effect.fail("boom")))
      assert.isFalse(yield* has)
      yield* Effect.flip(WorkflowContext.withContext({ runId: "r" })(Effect.die("boom")).pipe(Effect.sandbox))
      assert.isFalse(yield* has)
    }))

  it.effect("nested fan-outs give each branch its path; Primitive.run inside a run joins it", () =>
    Effect.gen(function*() {
      const mark = (name: string) => Primitive.make(name, (_: void) => WorkflowContext.checkpoint(name))
      const inner = Primitive.parallel({ x: mark("x"), y: mark("y") })
      const workflow = Primitive.parallel({ left: inner, right: mark("r") })
      const joined = Primitive.make("joined", (_: void) => Primitive.run(mark("j"), undefined))
      const timeline = yield* Effect.zipRight(
        Effect.zipRight(Primitive.run(workflow, undefined), Primitive.run(joined, undefined)),
        WorkflowContext.timeline
      ).pipe(WorkflowContext.withContext())
      assert.deepStrictEqual(timeline.map((c) => `${c.name}@${c.branch.join("/")}`).sort(), [
        "j@",
        "r@right",
        "x@left/x",
        "y@left/y"
      ])
    }))
})
