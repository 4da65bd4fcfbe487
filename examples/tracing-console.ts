/**
 * Every finished span printed to the console by the OpenTelemetry SDK's
 * console exporter: the quickest way to see a workflow's trace.
 *
 *   npx tsx examples/tracing-console.ts
 */
import * as Effect from "effect/Effect"
import * as Primitive from "flowtune/Primitive"
import * as Tracing from "flowtune/Tracing"

const workflow = Primitive.sequence(
  Primitive.fromFunction("parse", (q: string) => q.trim()),
  Primitive.parallel({
    a: Primitive.make("branch_a", (q: string) => Effect.as(Effect.sleep("20 millis"), q)),
    b: Primitive.make("branch_b", (q: string) => Effect.as(Effect.sleep("40 millis"), q))
  })
)

Effect.runPromise(Primitive.run(workflow, " hello ").pipe(Effect.provide(Tracing.layerConsole())))
