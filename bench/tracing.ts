/**
 * `npm run bench -- tracing`: what observability costs per primitive call.
 *
 * A sequence of 10 trivial steps (`n => n + 1`), i.e. 11 primitive runs per
 * operation (10 steps + the sequence), run with:
 * - tracing off (`Effect.withTracerEnabled(false)`): no span at all;
 * - Effect's built-in tracer (spans created, sent nowhere);
 * - flowtune's recording tracer (`Tracing.layerMemory`: spans kept as values);
 * - the OpenTelemetry SDK with its in-memory exporter (`Tracing.layerOtelMemory`);
 * - metrics through `Metrics.instrument` with tracing off, and through
 *   `Metrics.layer` (every span feeds the metrics);
 * - everything at once (recording + instrument, fingerprints on).
 * Figures are per primitive run; ratios are to tracing off.
 */
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Metrics from "../src/Metrics.js"
import * as Primitive from "../src/Primitive.js"
import * as Tracing from "../src/Tracing.js"
import { measure, ratios, settings, type Suite } from "./harness.js"

const N = 10
const OPS = N + 1
const indices = Array.from({ length: N }, (_, i) => i)
const step = (n: number) => Effect.succeed(n + 1)

const plain = indices.map((i) => Primitive.make(`step${i}`, step))
const sequence = Primitive.sequence(...(plain as unknown as [Primitive.Primitive<number, number>]))
const instrumented = Primitive.sequence(
  ...(plain.map((p) => Metrics.instrument(p)) as unknown as [Primitive.Primitive<number, number>])
)
const fingerprinted = Primitive.sequence(
  ...(plain.map((p) => Metrics.instrument(p, { fingerprint: true })) as unknown as [
    Primitive.Primitive<number, number>
  ])
)

const suite: Suite = {
  name: "tracing",
  description:
    "Cost per primitive run (sequence of 10 trivial steps): tracing off/on, recording, OpenTelemetry, metrics",
  run: async (options) => {
    const otel = ManagedRuntime.make(Tracing.layerOtelMemory())
    const exporter = await otel.runPromise(Tracing.OtelMemoryExporter)
    const metricsRuntime = ManagedRuntime.make(Metrics.layer)
    await metricsRuntime.runtime()
    const recorder = Effect.runSync(Effect.map(Effect.tracer, (t) => Tracing.makeRecorder(t, { maxSpans: 10_000 })))
    let exported = 0
    const results = await measure([
      { name: "off", ops: OPS, run: () => Effect.runSync(Effect.withTracerEnabled(sequence.run(0), false)) },
      { name: "on.effect-tracer", ops: OPS, run: () => Effect.runSync(sequence.run(0)) },
      { name: "on.memory", ops: OPS, run: () => Effect.runSync(Effect.withTracer(sequence.run(0), recorder.tracer)) },
      {
        name: "on.otel-memory",
        ops: OPS,
        run: () => {
          // The SDK's in-memory exporter keeps every span: empty it now and then.
          if (++exported % 1000 === 0) exporter.reset()
          return otel.runSync(sequence.run(0))
        }
      },
      {
        name: "metrics.instrument",
        ops: OPS,
        run: () => Effect.runSync(Effect.withTracerEnabled(instrumented.run(0), false))
      },
      { name: "metrics.layer", ops: OPS, run: () => metricsRuntime.runSync(sequence.run(0)) },
      {
        name: "all.memory+instrument+fingerprint",
        ops: OPS,
        run: () => Effect.runSync(Effect.withTracer(fingerprinted.run(0), recorder.tracer))
      }
    ], settings(options))
    await otel.dispose()
    await metricsRuntime.dispose()
    const off = results["off"]!
    return {
      results,
      ratios: ratios(results, [
        ["on.effect-tracer", "off"],
        ["on.memory", "off"],
        ["on.otel-memory", "off"],
        ["metrics.instrument", "off"],
        ["metrics.layer", "off"],
        ["all.memory+instrument+fingerprint", "off"],
        ["on.memory", "on.effect-tracer"]
      ]),
      notes: [
        `Added cost per primitive run: effect tracer ${(results["on.effect-tracer"]! - off).toFixed(0)} ns, ` +
        `recording ${(results["on.memory"]! - off).toFixed(0)} ns, OpenTelemetry ${
          (results["on.otel-memory"]! - off).toFixed(0)
        } ns, ` +
        `metrics (instrument) ${(results["metrics.instrument"]! - off).toFixed(0)} ns.`
      ]
    }
  }
}

export default suite
