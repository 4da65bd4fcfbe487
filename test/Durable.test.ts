import { describe, expect, it } from "@effect/vitest"
import * as DurableDeferred from "@effect/workflow/DurableDeferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as Durable from "../src/Durable.js"
import * as Primitive from "../src/Primitive.js"

class Flaky extends Schema.TaggedError<Flaky>()("Flaky", { attempt: Schema.Number }) {}

/** A leaf primitive that counts its real executions, per input. */
const counted = (name: string) => {
  const calls: Array<string> = []
  const primitive = Primitive.make(name, (input: string) =>
    Effect.sync(() => {
      calls.push(input)
      return `${name}(${input})#${calls.length}`
    }))
  return { calls, primitive }
}

const provide = <A, E, R>(layer: Layer.Layer<never, never, R>) => (effect: Effect.Effect<A, E, any>) =>
  effect.pipe(Effect.provide(layer), Effect.provide(Durable.layerMemory)) as Effect.Effect<A, E, never>

describe("Durable", () => {
  it.effect("the same primitive called for three items, three branches and twice in a row is that many activities", () =>
    Effect.gen(function*() {
      const { calls, primitive } = counted("summarize")
      const step = Durable.activity(primitive, { success: Schema.String })
      const body = Primitive.sequence(
        Primitive.parallel([
          Primitive.forEach(step, { concurrency: 3 }),
          Primitive.map(Primitive.forEach(step), (xs) => xs.map((x) => x.toUpperCase()))
        ]),
        Primitive.fromFunction(
          "join",
          ([a, b]: readonly [ReadonlyArray<string>, ReadonlyArray<string>]) => [...a, ...b]
        ),
        Primitive.make(
          "twice",
          (xs: ReadonlyArray<string>) => Effect.zipWith(step.run("same"), step.run("same"), (x, y) => [...xs, x, y])
        )
      )
      const wf = Durable.workflow(body, {
        name: "fanout",
        payload: Schema.Array(Schema.String),
        success: Schema.Array(Schema.String),
        idempotencyKey: (xs) => xs.join(",")
      })
      const out = yield* wf.run(["a", "b", "c"]).pipe(provide(wf.layer))
      // 3 items x 2 branches + 2 sequential calls with one input: 8 executions, 8 distinct answers.
      expect(calls.length).toBe(8)
      expect(new Set(out).size).toBe(8)
      expect(out.slice(0, 3).sort()).toEqual(out.slice(0, 3).slice().sort())
      expect(out.filter((x) => x.startsWith("summarize(same)")).length).toBe(2)
    }))

  it.effect("an idempotency key returns the first execution's result without running it again", () =>
    Effect.gen(function*() {
      const { calls, primitive } = counted("answer")
      const wf = Durable.workflow(Durable.activity(primitive, { success: Schema.String }), {
        name: "idempotent",
        payload: Schema.String,
        success: Schema.String,
        idempotencyKey: (q) => q.trim().toLowerCase()
      })
      const [first, second, other] = yield* Effect.all([wf.run("Hello"), wf.run(" hello "), wf.run("bye")]).pipe(
        provide(wf.layer)
      )
      expect(first).toBe(second)
      expect(other).not.toBe(first)
      expect(calls).toEqual(["Hello", "bye"])
    }))

  it.effect("a replay skips completed activities: the body resumes after a durable wait without calling again", () =>
    Effect.gen(function*() {
      const { calls, primitive } = counted("draft")
      const draft = Durable.activity(primitive, { success: Schema.String })
      const approval = DurableDeferred.make("approval", { success: Schema.Boolean })
      const publish = counted("publish")
      const body = Primitive.sequence(
        draft,
        Primitive.make(
          "await approval",
          (text: string) => Effect.map(DurableDeferred.await(approval), (ok) => ok ? text : "rejected")
        ),
        Durable.activity(publish.primitive, { success: Schema.String })
      )
      const wf = Durable.workflow(body as Primitive.Primitive<string, string, never, never>, {
        name: "approval",
        payload: Schema.String,
        success: Schema.String,
        idempotencyKey: (s) => s
      })
      yield* Effect.gen(function*() {
        const executionId = yield* wf.start("report")
        yield* TestClock.adjust("1 second")
        expect(calls).toEqual(["report"])
        expect((yield* wf.poll(executionId))._tag).toBe("Suspended")
        const token = DurableDeferred.tokenFromExecutionId(approval, { workflow: wf.definition, executionId })
        yield* DurableDeferred.succeed(approval, { token, value: true })
        yield* TestClock.adjust("1 second")
        const status = yield* wf.poll(executionId)
        expect(status._tag).toBe("Complete")
        if (status._tag === "Complete") expect(Exit.isSuccess(status.exit)).toBe(true)
        // The draft ran once, although the body ran twice.
        expect(calls).toEqual(["report"])
        expect(publish.calls.length).toBe(1)
      }).pipe(provide(wf.layer))
    }))

  it.effect("a retried activity runs again (a new occurrence), and a typed failure is persisted and returned", () =>
    Effect.gen(function*() {
      let attempts = 0
      const flaky = Primitive.make("flaky", (_: string) =>
        Effect.suspend(() => {
          attempts++
          return attempts < 3 ? Effect.fail(new Flaky({ attempt: attempts })) : Effect.succeed(`ok after ${attempts}`)
        }))
      const step = Durable.activity(flaky, { success: Schema.String, error: Flaky })
      const retried = Durable.workflow(Primitive.retry(step, { schedule: Schedule.recurs(5) }), {
        name: "retried",
        payload: Schema.String,
        success: Schema.String,
        error: Schema.Union(Flaky, Schema.instanceOf(Durable.UnkeyableInput)),
        idempotencyKey: (s) => s
      })
      const out = yield* retried.run("x").pipe(provide(retried.layer))
      expect(out).toBe("ok after 3")

      attempts = -100
      const failing = Durable.workflow(step, {
        name: "failing",
        payload: Schema.String,
        success: Schema.String,
        error: Schema.Union(Flaky, Schema.instanceOf(Durable.UnkeyableInput)),
        idempotencyKey: (s) => s
      })
      const error = yield* Effect.flip(failing.run("y").pipe(provide(failing.layer)))
      expect(error._tag).toBe("Flaky")
    }))

  it.effect("interrupt ends a waiting execution: its status is complete with an interruption, later steps never run", () =>
    Effect.gen(function*() {
      const approval = DurableDeferred.make("approval", { success: Schema.Boolean })
      const after = counted("after")
      const body = Primitive.sequence(
        Primitive.make("wait", (s: string) => Effect.as(DurableDeferred.await(approval), s)),
        Durable.activity(after.primitive, { success: Schema.String })
      )
      const wf = Durable.workflow(body as Primitive.Primitive<string, string, never, never>, {
        name: "interruptible",
        payload: Schema.String,
        success: Schema.String,
        idempotencyKey: (s) => s
      })
      yield* Effect.gen(function*() {
        const id = yield* wf.start("job")
        yield* TestClock.adjust("1 second")
        expect((yield* wf.poll(id))._tag).toBe("Suspended")
        yield* wf.interrupt(id)
        yield* TestClock.adjust("1 second")
        const status = yield* wf.poll(id)
        expect(status._tag).toBe("Complete")
        if (status._tag === "Complete") expect(Exit.isInterrupted(status.exit)).toBe(true)
        expect(after.calls).toEqual([])
      }).pipe(provide(wf.layer))
    }))

  it.effect("outside a durable workflow an activity is the plain primitive", () =>
    Effect.gen(function*() {
      const { calls, primitive } = counted("plain")
      const step = Durable.activity(primitive, { success: Schema.String })
      expect(yield* Primitive.run(step, "a")).toBe("plain(a)#1")
      expect(yield* Primitive.run(step, "a")).toBe("plain(a)#2")
      expect(calls.length).toBe(2)
    }))

  it("options are checked where they are given", () => {
    const p = Primitive.make("p", (s: string) => Effect.succeed(s))
    expect(() => Durable.activity(p, { success: "string" as never })).toThrow(/success/)
    expect(() => Durable.workflow(p, { payload: Schema.String, success: Schema.String, idempotencyKey: 3 as never }))
      .toThrow(/idempotencyKey/)
    expect(() =>
      Durable.workflow(p, { name: " ", payload: Schema.String, success: Schema.String, idempotencyKey: String })
    ).toThrow(/name/)
  })
})
