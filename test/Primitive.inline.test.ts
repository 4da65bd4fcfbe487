/**
 * Plain-function steps (`Primitive.fromFunction`) as branches of `parallel`
 * and as the primitive of `forEach` are called in place, without a fiber each,
 * when no span is opened: same answers, same failures, same order.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Supervisor from "effect/Supervisor"
import * as Primitive from "../src/Primitive.js"
import * as Tracing from "../src/Tracing.js"

/** Counts the fibers started under it. */
class FiberCounter extends Supervisor.AbstractSupervisor<void> {
  started = 0
  get value() {
    return Effect.void
  }
  override onStart<A, E, R>(
    _context: unknown,
    _effect: Effect.Effect<A, E, R>,
    _parent: Option.Option<Fiber.RuntimeFiber<unknown, unknown>>,
    _fiber: Fiber.RuntimeFiber<A, E>
  ) {
    this.started++
  }
}

const counted = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const counter = new FiberCounter()
    return Effect.map(Effect.supervised(effect, counter), (a) => [a, counter.started] as const)
  })

describe("plain-function steps run in place", () => {
  it.effect("parallel of functions: the record, in branch order, with no fiber", () =>
    Effect.gen(function*() {
      const order: Array<string> = []
      const step = <A>(name: string, f: (s: string) => A) =>
        Primitive.fromFunction(name, (s: string) => {
          order.push(name)
          return f(s)
        })
      const fan = Primitive.parallel({
        length: step("length", (s) => s.length),
        upper: step("upper", (s) => s.toUpperCase()),
        words: step("words", (s) => s.split(" ").length)
      })
      const [result, fibers] = yield* counted(Primitive.run(fan, "a b c"))
      assert.deepStrictEqual(result, { length: 5, upper: "A B C", words: 3 })
      assert.deepStrictEqual(order, ["length", "upper", "words"])
      assert.strictEqual(fibers, 0)
    }))

  it.effect("a branch that throws: a defect, and the later branches are not called (as their fibers would not be)", () =>
    Effect.gen(function*() {
      const calls: Array<number> = []
      const boom = new Error("boom")
      const fan = Primitive.parallel([
        Primitive.fromFunction("one", (n: number) => (calls.push(1), n + 1)),
        Primitive.fromFunction("two", (_: number): number => {
          calls.push(2)
          throw boom
        }),
        Primitive.fromFunction("three", (n: number) => (calls.push(3), n + 3))
      ])
      const exit = yield* Effect.exit(Primitive.run(fan, 0))
      assert.isTrue(Exit.isFailure(exit) && Option.getOrUndefined(Cause.dieOption(exit.cause)) === boom)
      assert.deepStrictEqual(calls, [1, 2])
    }))

  it.effect("collect mode: every branch's exit, a throw as a defect", () =>
    Effect.gen(function*() {
      const boom = new Error("boom")
      const fan = Primitive.parallel({
        ok: Primitive.fromFunction("ok", (n: number) => n * 2),
        bad: Primitive.fromFunction("bad", (_: number): number => {
          throw boom
        })
      }, { mode: "collect" })
      const result = yield* Primitive.run(fan, 21)
      assert.deepStrictEqual(result.ok, Exit.succeed(42))
      assert.isTrue(Exit.isFailure(result.bad) && Option.getOrUndefined(Cause.dieOption(result.bad.cause)) === boom)
    }))

  it.effect("a branch that is an Effect keeps its fiber (it may suspend)", () =>
    Effect.gen(function*() {
      const fan = Primitive.parallel([
        Primitive.fromFunction("f", (n: number) => n + 1),
        Primitive.make("e", (n: number) => Effect.as(Effect.yieldNow(), n + 2))
      ])
      const [result, fibers] = yield* counted(Primitive.run(fan, 0))
      assert.deepStrictEqual(result, [1, 2])
      assert.strictEqual(fibers, 2)
    }))

  it.effect("forEach over a function: every item in order, no fiber; a throw fails the whole call", () =>
    Effect.gen(function*() {
      const double = Primitive.forEach(Primitive.fromFunction("double", (n: number) => n * 2), { concurrency: 2 })
      const [result, fibers] = yield* counted(Primitive.run(double, [1, 2, 3]))
      assert.deepStrictEqual(result, [2, 4, 6])
      assert.strictEqual(fibers, 0)
      const boom = new Error("boom")
      const failing = Primitive.forEach(Primitive.fromFunction("f", (n: number) => {
        if (n === 2) throw boom
        return n
      }))
      const exit = yield* Effect.exit(Primitive.run(failing, [1, 2, 3]))
      assert.isTrue(Exit.isFailure(exit) && Option.getOrUndefined(Cause.dieOption(exit.cause)) === boom)
    }))

  it.effect("under a recording tracer every branch still gets its span", () =>
    Effect.gen(function*() {
      const fan = Primitive.parallel({
        a: Primitive.fromFunction("a", (n: number) => n + 1),
        b: Primitive.fromFunction("b", (n: number) => n + 2)
      }, { name: "fan" })
      const [result, spans] = yield* Tracing.record(Primitive.run(fan, 0))
      assert.deepStrictEqual(result, { a: 1, b: 2 })
      assert.deepStrictEqual(spans.map((s) => s.name).sort(), ["a", "b", "fan"])
    }))

  it.effect("under a recording tracer, function branches run in turn on the caller's fiber, a leaf span each", () =>
    Effect.gen(function*() {
      const fan = Primitive.parallel({
        a: Primitive.fromFunction("a", (n: number) => n + 1),
        b: Primitive.fromFunction("b", (n: number) => n + 2)
      }, { name: "fan" })
      const [[result, spans], fibers] = yield* counted(Tracing.record(Primitive.run(fan, 0)))
      assert.deepStrictEqual(result, { a: 1, b: 2 })
      assert.strictEqual(fibers, 0)
      const byName = new Map(spans.map((s) => [s.name, s]))
      assert.strictEqual(byName.get("a")!.parentSpanId, byName.get("fan")!.spanId)
      assert.strictEqual(byName.get("b")!.parentSpanId, byName.get("fan")!.spanId)
      const items = Primitive.forEach(Primitive.fromFunction("item", (n: number) => n * 2))
      const [[doubled, itemSpans], itemFibers] = yield* counted(Tracing.record(Primitive.run(items, [1, 2, 3])))
      assert.deepStrictEqual(doubled, [2, 4, 6])
      assert.strictEqual(itemFibers, 0)
      assert.strictEqual(itemSpans.filter((s) => s.name === "item").length, 3)
    }))

  it.effect("a function's leaf span is recorded as an Effect step's span is: parent, attributes, status", () =>
    Effect.gen(function*() {
      const boom = new Error("boom")
      const steps = (make: (name: string, f: (n: number) => number) => Primitive.Primitive<number, number>) =>
        Primitive.withName(
          Primitive.sequence(
            make("inc", (n) => n + 1),
            make("fail", (): number => {
              throw boom
            })
          ),
          "pipeline"
        )
      const shape = (spans: ReadonlyArray<Tracing.SpanRecord>) => {
        const ids = new Map(spans.map((s) => [s.spanId, s.name]))
        return spans.map((s) => ({
          name: s.name,
          parent: s.parentSpanId === undefined ? undefined : ids.get(s.parentSpanId),
          kind: s.kind,
          attributes: s.attributes,
          status: s.status,
          errorTag: s.errorTag,
          ordered: s.startTime <= s.endTime
        }))
      }
      const run = (p: Primitive.Primitive<number, number>) =>
        Effect.map(Tracing.record(Effect.exit(Primitive.run(p, 0))), ([exit, spans]) => {
          // (Effect's `sync` hands on a copy of what it caught: compared by message.)
          assert.isTrue(
            Exit.isFailure(exit) && (Option.getOrUndefined(Cause.dieOption(exit.cause)) as Error).message === "boom"
          )
          return shape(spans)
        })
      const asFunctions = yield* run(steps((name, f) => Primitive.fromFunction(name, f)))
      const asEffects = yield* run(steps((name, f) => Primitive.make(name, (n: number) => Effect.sync(() => f(n)))))
      assert.deepStrictEqual(asFunctions, asEffects)
      assert.deepStrictEqual(asFunctions.map((s) => [s.name, s.parent, s.status]), [
        ["inc", "pipeline", "ok"],
        ["fail", "pipeline", "error"],
        ["pipeline", undefined, "error"]
      ])
    }))
})
