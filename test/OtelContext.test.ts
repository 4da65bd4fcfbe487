/**
 * What the OpenTelemetry layer's context hook must keep while it reuses the
 * OpenTelemetry context it built for a span (src/internal/otelContext.ts):
 * code that reads `trace.getActiveSpan()` inside an Effect span (an
 * instrumented HTTP client, say) sees that span, in nested spans, after a
 * nested span ends, after the outer one ends, in a forked fiber, and in two
 * fibers whose steps interleave; an active OpenTelemetry span outside the run
 * stays the parent of the run's root spans.
 */
import { assert, describe, it } from "@effect/vitest"
import * as OtelApi from "@opentelemetry/api"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Runtime from "effect/Runtime"
import { AsyncLocalStorage } from "node:async_hooks"
import * as Primitive from "../src/Primitive.js"
import * as Tracing from "../src/Tracing.js"

/** The context manager an application installs (what `AsyncLocalStorageContextManager` does). */
const asyncContextManager = (): OtelApi.ContextManager => {
  const storage = new AsyncLocalStorage<OtelApi.Context>()
  const manager: OtelApi.ContextManager = {
    active: () => storage.getStore() ?? OtelApi.ROOT_CONTEXT,
    with: (context, f, thisArg, ...args) => storage.run(context, () => f.call(thisArg, ...args)),
    bind: (_context, target) => target,
    enable: () => manager,
    disable: () => {
      storage.disable()
      return manager
    }
  }
  return manager
}

const key = OtelApi.createContextKey("flowtune test value")
const activeSpanId = () =>
  `${OtelApi.trace.getActiveSpan()?.spanContext().spanId ?? "none"}${
    String(OtelApi.context.active().getValue(key) ?? "")
  }`

describe("OpenTelemetry context inside Effect spans", () => {
  it("the active span is the current Effect span: nested, after a span ends, across fibers", async () => {
    OtelApi.context.setGlobalContextManager(asyncContextManager())
    const runtime = ManagedRuntime.make(Tracing.layerOtelMemory())
    try {
      const seen: Array<[string, string]> = []
      const probe = (label: string) => Effect.sync(() => void seen.push([label, activeSpanId()]))
      // Each branch yields between probes, so the two fibers' steps interleave
      // (and one fiber's step runs with the other's span last built).
      const branch = (name: string) => {
        const inner = Primitive.make(`${name}.inner`, (_: number) =>
          Effect.zipRight(
            probe(`${name}.inner`),
            Effect.zipRight(Effect.yieldNow(), Effect.as(probe(`${name}.inner.after-yield`), 1))
          ))
        const body = Effect.gen(function*() {
          yield* probe(`${name}.outer`)
          yield* Effect.yieldNow()
          yield* Primitive.run(inner, 0)
          yield* probe(`${name}.outer.after-inner`)
          yield* Effect.sleep("1 millis")
          yield* probe(`${name}.outer.after-sleep`)
          const forked = yield* Effect.fork(probe(`${name}.forked`))
          yield* Fiber.join(forked)
          yield* Effect.withSpan(Effect.zipRight(Effect.yieldNow(), probe(`${name}.effect-span`)), `${name}.effect`)
          // Code called in a step enters its own context (a value set on it) and runs an effect under the
          // same span: that run sees both the value and the span.
          const runtime = yield* Effect.runtime<never>()
          const span = yield* Effect.currentSpan
          yield* Effect.sync(() =>
            OtelApi.context.with(
              OtelApi.context.active().setValue(key, name),
              () => Runtime.runSync(runtime)(Effect.withParentSpan(probe(`${name}.nested-run`), span))
            )
          )
          yield* probe(`${name}.outer.end`)
        })
        return Effect.withSpan(body, name)
      }
      // After a span ends, a step outside any span runs in the caller's context. (Only without an async
      // boundary: a fiber resumed by a timer set inside a span runs its span-less steps in that span's context,
      // as @effect/opentelemetry's own hook does.)
      const c = Effect.zipRight(Effect.withSpan(probe("c.outer"), "c"), probe("c.after-outer"))
      // A span of another tracer, active where the run starts (a server's request span).
      const external = OtelApi.trace.wrapSpanContext({
        traceId: "0af7651916cd43dd8448eb211c80319c",
        spanId: "b7ad6b7169203331",
        traceFlags: OtelApi.TraceFlags.SAMPLED
      })
      await OtelApi.context.with(
        OtelApi.trace.setSpan(OtelApi.context.active(), external),
        () => runtime.runPromise(Effect.zipRight(c, Effect.all([branch("a"), branch("b")], { concurrency: 2 })))
      )
      const spans = await runtime.runPromise(Tracing.exportedSpans)
      const idOf = (name: string) => spans.find((s) => s.name === name)!.spanContext().spanId
      const expected = (name: string): string => {
        const [fiber, ...rest] = name.split(".")
        const where = rest.join(".")
        if (where === "after-outer") return external.spanContext().spanId
        if (where.startsWith("inner")) return idOf(`${fiber}.inner`)
        if (where === "effect-span") return idOf(`${fiber}.effect`)
        if (where === "nested-run") return `${idOf(fiber!)}${fiber}`
        return idOf(fiber!)
      }
      assert.strictEqual(seen.length, 20)
      assert.deepStrictEqual(seen, seen.map(([label]) => [label, expected(label)]))
      // The steps did interleave: b probed before a finished.
      assert.isBelow(seen.findIndex(([label]) => label.startsWith("b.")), seen.findIndex(([l]) => l === "a.outer.end"))
      for (const name of ["a", "b", "c"]) {
        const root = spans.find((s) => s.name === name)!
        assert.strictEqual(root.parentSpanContext?.spanId, external.spanContext().spanId)
        if (name === "c") continue
        assert.strictEqual(spans.find((s) => s.name === `${name}.inner`)!.parentSpanContext?.spanId, idOf(name))
        assert.strictEqual(spans.find((s) => s.name === `${name}.effect`)!.parentSpanContext?.spanId, idOf(name))
      }
    } finally {
      await runtime.dispose()
      OtelApi.context.disable()
    }
  })
})
