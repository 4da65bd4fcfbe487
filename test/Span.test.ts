import { assert, describe, it } from "@effect/vitest"
import * as OtelApi from "@opentelemetry/api"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as Tracer from "effect/Tracer"
import * as Batch from "../src/Batch.js"
import * as Cache from "../src/Cache.js"
import * as Span from "../src/internal/span.js"
import * as Primitive from "../src/Primitive.js"
import * as Tracing from "../src/Tracing.js"

// What `Span.withSpan` must keep from `Effect.withSpan`, which it replaces for
// flowtune's own spans (primitives, cache operations, `Batch.call`).

const options = { attributes: { "flowtune.primitive.kind": "step" }, captureStackTrace: false } as const
const fast = <A, E, R>(self: Effect.Effect<A, E, R>, name: string) =>
  Effect.withFiberRuntime<A, E, R>((fiber) => Span.withSpan(fiber, self, name, options))
const slow = <A, E, R>(self: Effect.Effect<A, E, R>, name: string) => Effect.withSpan(self, name, options)

/** Every call a tracer receives, as comparable values. */
const capturing = (since = 0n) => {
  const calls: Array<unknown> = []
  // Times relative to the start of the run; 0 stays 0 (timing off).
  const at = (time: bigint) => time === 0n ? "0" : time - since
  let next = 0
  const tracer = Tracer.make({
    span(name, parent, context, links, startTime, kind, spanOptions) {
      const spanId = `${name}#${next++}`
      const log = (entry: unknown) => calls.push([spanId, entry])
      log({
        parent: Option.getOrUndefined(Option.map(parent, (p) => p.spanId)),
        context: Context.isContext(context) ? context.unsafeMap.size : "none",
        links: links.map((l) => [l.span.spanId, l.attributes]),
        startTime: at(startTime),
        kind,
        root: spanOptions?.root
      })
      let status: Tracer.SpanStatus = { _tag: "Started", startTime }
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId,
        traceId: "trace",
        parent,
        context,
        get status() {
          return status
        },
        attributes: new Map(),
        links,
        sampled: true,
        kind,
        end(endTime, exit) {
          log({ end: at(endTime), exit: Exit.isSuccess(exit) ? "success" : exit.cause._tag })
          status = { _tag: "Ended", startTime, endTime, exit }
        },
        attribute(key, value) {
          log({ attribute: [key, value] })
        },
        event() {},
        addLinks() {}
      }
      return span
    },
    context: (f) => f()
  })
  return { tracer, calls }
}

/**
 * A program touching everything a span takes from the fiber: a parent span,
 * `annotateSpans`, `linkSpans`, a span that disables propagation, the
 * clock, a failure and a defect, timing off; run with `wrap` as the span.
 */
const program = (wrap: <A, E, R>(self: Effect.Effect<A, E, R>, name: string) => Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    yield* TestClock.adjust("1 second")
    const external = Tracer.externalSpan({ spanId: "external", traceId: "t" })
    const inner = wrap(Effect.succeed(1), "inner")
    const nested = wrap(Effect.zipRight(TestClock.adjust("5 millis"), Effect.zip(inner, inner)), "nested")
    yield* Effect.withSpan("outer")(nested)
    yield* nested.pipe(Effect.annotateSpans({ a: 1, b: "x" }), Effect.linkSpans(external, { why: "test" }))
    yield* Effect.exit(wrap(Effect.fail("boom"), "fails"))
    yield* Effect.exit(wrap(Effect.die("bug"), "dies"))
    yield* Effect.withTracerTiming(nested, false)
    yield* Effect.withSpan(nested, "hidden", { context: Context.make(Tracer.DisablePropagation, true) })
    yield* Effect.withParentSpan(nested, external)
    // After each span, the fiber's current span is the one from before it.
    return yield* Effect.withSpan("after")(Effect.map(wrap(Effect.void, "x"), () => "done"))
  })

describe("Span.withSpan", () => {
  it.effect("makes the same tracer calls as Effect.withSpan, in the same order", () =>
    Effect.gen(function*() {
      const withSlow = capturing(yield* Clock.currentTimeNanos)
      yield* Effect.withTracer(program(slow), withSlow.tracer)
      const withFast = capturing(yield* Clock.currentTimeNanos)
      yield* Effect.withTracer(program(fast), withFast.tracer)
      assert.isAbove(withSlow.calls.length, 60)
      assert.deepStrictEqual(withFast.calls, withSlow.calls)
    }))

  it.effect("nests primitives under the current span and restores it after each", () =>
    Effect.gen(function*() {
      const step = Primitive.make("step", (n: number) => Effect.succeed(n + 1))
      const inner = Primitive.sequence(step, step)
      const [, spans] = yield* Tracing.record(
        Effect.withSpan("outer")(Effect.zipRight(Primitive.run(inner, 0), Effect.withSpan("sibling")(Effect.void)))
      )
      const byName = (name: string) => spans.filter((s) => s.name === name)
      const outer = byName("outer")[0]!
      const sequence = byName("sequence(step >> step)")[0]!
      assert.strictEqual(sequence.parentSpanId, outer.spanId)
      assert.strictEqual(sequence.traceId, outer.traceId)
      assert.deepStrictEqual(byName("step").map((s) => s.parentSpanId), [sequence.spanId, sequence.spanId])
      assert.strictEqual(byName("sibling")[0]!.parentSpanId, outer.spanId)
      assert.strictEqual(sequence.attributes["flowtune.primitive.kind"], "sequence")
    }))

  it.effect("takes annotateSpans attributes, then its own", () =>
    Effect.gen(function*() {
      const step = Primitive.make("step", (n: number) => Effect.succeed(n + 1))
      const [, spans] = yield* Tracing.record(
        Primitive.run(step, 0).pipe(Effect.annotateSpans({ tenant: "acme", "flowtune.primitive.kind": "overridden" }))
      )
      assert.deepStrictEqual(spans[0]!.attributes, { tenant: "acme", "flowtune.primitive.kind": "step" })
    }))

  it.effect("ends with the failure, the defect or the interruption, and restores the current span", () =>
    Effect.gen(function*() {
      const fails = Primitive.make("fails", (_: number) => Effect.fail({ _tag: "Boom" as const }))
      const dies = Primitive.make("dies", (_: number) => Effect.die("bug"))
      const sleeps = Primitive.make("sleeps", (_: number) => Effect.sleep("1 minute"))
      const [, spans] = yield* Tracing.record(
        Effect.withSpan("outer")(Effect.gen(function*() {
          yield* Effect.exit(Primitive.run(fails, 0))
          yield* Effect.exit(Primitive.run(dies, 0))
          const fiber = yield* Effect.fork(Primitive.run(sleeps, 0))
          yield* TestClock.adjust("1 second")
          yield* Fiber.interrupt(fiber)
          const current = yield* Effect.currentSpan
          assert.strictEqual(current.name, "outer")
        }))
      )
      const byName = (name: string) => spans.find((s) => s.name === name)!
      assert.deepStrictEqual([byName("fails").status, byName("fails").errorTag], ["error", "Boom"])
      assert.deepStrictEqual([byName("dies").status, byName("dies").errorTag], ["error", "Defect: bug"])
      assert.strictEqual(byName("sleeps").status, "interrupted")
      assert.strictEqual(byName("sleeps").durationMillis, 1000)
    }))

  it.effect("keeps the body interruptible only where the caller was", () =>
    Effect.gen(function*() {
      const { tracer } = capturing()
      const probe = fast(Effect.checkInterruptible(Effect.succeed), "probe")
      const [open, masked] = yield* Effect.withTracer(
        Effect.zip(probe, Effect.uninterruptible(probe)),
        tracer
      )
      assert.deepStrictEqual([open, masked], [true, false])
    }))

  it.effect("times spans with the fiber's Clock, or not at all under withTracerTiming(false)", () =>
    Effect.gen(function*() {
      const step = Primitive.make("step", (_: number) => Effect.sleep("250 millis"))
      yield* TestClock.adjust("2 seconds")
      const [, spans] = yield* Tracing.record(Effect.gen(function*() {
        const timed = yield* Effect.fork(Primitive.run(step, 0))
        yield* TestClock.adjust("250 millis")
        yield* Fiber.join(timed)
        const untimed = yield* Effect.fork(Effect.withTracerTiming(Primitive.run(step, 0), false))
        yield* TestClock.adjust("250 millis")
        yield* Fiber.join(untimed)
      }))
      assert.deepStrictEqual(spans.map((s) => [s.startTime, s.endTime]), [
        [2_000_000_000n, 2_250_000_000n],
        [0n, 0n]
      ])
    }))

  it.effect("passes the links from linkSpans to the tracer", () =>
    Effect.gen(function*() {
      const { calls, tracer } = capturing()
      const external = Tracer.externalSpan({ spanId: "external", traceId: "t" })
      const step = Primitive.make("step", (n: number) => Effect.succeed(n + 1))
      yield* Effect.withTracer(Effect.linkSpans(Primitive.run(step, 0), external, { why: "retry" }), tracer)
      assert.deepStrictEqual((calls[0] as [string, { links: unknown }])[1].links, [["external", { why: "retry" }]])
    }))

  it.effect("makes the span current for the tracer's context hook on every step of the body", () =>
    Effect.gen(function*() {
      let seen: string | undefined
      const base = capturing().tracer
      const tracer = Tracer.make({
        span: base.span,
        context: (f, fiber) => {
          seen = fiber.currentSpan?.spanId
          return f()
        }
      })
      const probe = Effect.sync(() => seen)
      const [inside, after] = yield* Effect.withTracer(
        Effect.withSpan("outer")(Effect.zip(fast(probe, "inner"), probe)),
        tracer
      )
      assert.deepStrictEqual([inside, after], ["inner#1", "outer#0"])
    }))

  it.effect("an OpenTelemetry span across a primitive: parent, child, and the active span inside", () =>
    Effect.gen(function*() {
      // The SDK layer installs no context manager; a synchronous one is enough
      // for the tracer's hook, which wraps each step in `context.with`.
      yield* Effect.acquireRelease(
        Effect.sync(() => OtelApi.context.setGlobalContextManager(stackContextManager())),
        () => Effect.sync(() => OtelApi.context.disable())
      )
      let active: string | undefined
      const child = Primitive.make("child", (n: number) =>
        Effect.sync(() => {
          active = OtelApi.trace.getActiveSpan()?.spanContext().spanId
          return n + 1
        }))
      const parent = Primitive.sequence(child, Primitive.make("after", (n: number) => Effect.succeed(n)))
      yield* Effect.withSpan("outer")(Primitive.run(parent, 0))
      const spans = yield* Tracing.exportedSpans
      const byName = (name: string) => spans.find((s) => s.name === name)!
      const outer = byName("outer")
      const sequence = byName("sequence(child >> after)")
      assert.strictEqual(sequence.parentSpanContext?.spanId, outer.spanContext().spanId)
      assert.strictEqual(byName("child").parentSpanContext?.spanId, sequence.spanContext().spanId)
      assert.strictEqual(byName("after").parentSpanContext?.spanId, sequence.spanContext().spanId)
      assert.strictEqual(active, byName("child").spanContext().spanId)
      assert.strictEqual(sequence.status.code, OtelApi.SpanStatusCode.OK)
      assert.strictEqual(spans.length, 4)
    }).pipe(Effect.provide(Tracing.layerOtelMemory()), Effect.scoped))
})

const stackContextManager = (): OtelApi.ContextManager => {
  const stack: Array<OtelApi.Context> = [OtelApi.ROOT_CONTEXT]
  const manager: OtelApi.ContextManager = {
    active: () => stack[stack.length - 1]!,
    with: (context, f, thisArg, ...args) => {
      stack.push(context)
      try {
        return f.call(thisArg, ...args)
      } finally {
        stack.pop()
      }
    },
    bind: (_context, target) => target,
    enable: () => manager,
    disable: () => manager
  }
  return manager
}

describe("flowtune's other spans", () => {
  it.effect("Batch.call and Cache.get open their spans under the caller's span", () =>
    Effect.gen(function*() {
      const [, spans] = yield* Tracing.record(
        Effect.withSpan("outer")(Effect.gen(function*() {
          const double = yield* Batch.make({
            name: "double",
            run: (items: ReadonlyArray<number>) => Effect.succeed(items.map((n) => n * 2)),
            maxBatchSize: 10,
            window: 0
          })
          assert.deepStrictEqual(yield* Effect.all([1, 2].map((n) => Primitive.run(double, n)), { concurrency: 2 }), [
            2,
            4
          ])
          const store = yield* Cache.makeStore({ namespace: "span-test", schema: Schema.Number })
          yield* store.set("k", 1)
          assert.deepStrictEqual(yield* store.get("k"), Option.some(1))
        })).pipe(Effect.scoped, Effect.provide(Cache.layerMemory()))
      )
      const outer = spans.find((s) => s.name === "outer")!
      const call = spans.find((s) => s.name === "Batch.call")!
      assert.strictEqual(call.attributes["flowtune.batch.name"], "double")
      assert.strictEqual(call.status, "ok")
      assert.strictEqual(call.traceId, outer.traceId)
      const get = spans.find((s) => s.name === "Cache.get")!
      assert.strictEqual(get.parentSpanId, outer.spanId)
      assert.strictEqual(get.attributes["flowtune.cache.namespace"], "span-test")
    }))
})

describe("the recording tracer", () => {
  it("keeps a record as a value: writes after the end do not reach it", () => {
    const recorder = Tracing.makeRecorder(Effect.runSync(Effect.tracer))
    const span = recorder.tracer.span("s", Option.none(), Context.empty(), [], 1n, "internal")
    span.attribute("a", 1)
    span.event("e1", 2n)
    span.end(3n, Exit.void)
    span.attribute("b", 2)
    span.event("e2", 4n)
    span.addLinks([{ _tag: "SpanLink", span: Tracer.externalSpan({ spanId: "x", traceId: "t" }), attributes: {} }])
    const [record] = Effect.runSync(recorder.spans)
    assert.deepStrictEqual(record!.attributes, { a: 1 })
    assert.deepStrictEqual(record!.events.map((e) => e.name), ["e1"])
    assert.deepStrictEqual([...span.attributes], [["a", 1], ["b", 2]])
    assert.deepStrictEqual(span.links.map((l) => l.span.spanId), ["x"])
    assert.match(record!.spanId, /^[0-9a-f]{16}$/)
    assert.match(record!.traceId, /^[0-9a-f]{32}$/)
  })
})
