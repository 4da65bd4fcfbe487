/**
 * `npm run bench -- tracing`: what observability costs, on the user's path.
 *
 * A sequence of 10 trivial steps (`n => n + 1`) run as a user runs it,
 * `Effect.runPromise(Primitive.run(sequence, 0))`, 11 primitive runs per
 * operation (10 steps + the sequence), with:
 * - the default (Effect's built-in tracer: primitives open no span under it);
 * - flowtune's recording tracer installed (`Tracing.makeRecorder` +
 *   `Effect.withTracer`, what `Tracing.layerMemory` provides): 11 spans kept;
 * - the OpenTelemetry SDK with its in-memory exporter (`Tracing.layerOtelMemory`,
 *   run through a `ManagedRuntime` as an application would);
 * - metrics through `Metrics.layer` (every span feeds the metrics).
 *
 * One OpenTelemetry span against the raw SDK: 100 runs of a one-step
 * primitive inside one run, against 100 `startSpan`/`end` of a tracer
 * provider of the same SDK with the same processor and exporter (simple
 * processor, in-memory exporter) in one function, per span.
 */
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Metrics from "../src/Metrics.js"
import * as Primitive from "../src/Primitive.js"
import * as Tracing from "../src/Tracing.js"
import { measureAll, pairedRatios, settings, type Suite } from "./harness.js"

const N = 10
const INNER = 100
const indices = Array.from({ length: N }, (_, i) => i)
const step = (n: number) => Effect.succeed(n + 1)

const plain = indices.map((i) => Primitive.make(`step${i}`, step))
const sequence = Primitive.sequence(...(plain as unknown as [Primitive.Primitive<number, number>]))
const one = Primitive.make("one", step)

const suite: Suite = {
  name: "tracing",
  description: "Observability on the user's path: a sequence of 10 through Primitive.run, recording/OTel/metrics",
  run: async (options) => {
    const otel = ManagedRuntime.make(Tracing.layerOtelMemory())
    const exporter = await otel.runPromise(Tracing.OtelMemoryExporter)
    // The raw SDK side: the same SDK, span processor and exporter as `layerOtelMemory`.
    const rawExporter = new InMemorySpanExporter()
    const rawTracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(rawExporter)] })
      .getTracer("raw")
    const metricsRuntime = ManagedRuntime.make(Metrics.layer)
    await metricsRuntime.runtime()
    const recorder = Effect.runSync(Effect.map(Effect.tracer, (t) => Tracing.makeRecorder(t, { maxSpans: 10_000 })))
    let exported = 0
    // The SDK's in-memory exporter keeps every span: empty it now and then (both sides).
    const drain = () => {
      if (++exported % 200 === 0) {
        exporter.reset()
        rawExporter.reset()
      }
    }
    const attributes = { "flowtune.primitive.kind": "step" }
    const measured = await measureAll([
      { name: "seq.default", run: () => Effect.runPromise(Primitive.run(sequence, 0)) },
      {
        name: "seq.recording",
        run: () => Effect.runPromise(Effect.withTracer(Primitive.run(sequence, 0), recorder.tracer))
      },
      {
        name: "seq.otel",
        run: () => {
          drain()
          return otel.runPromise(Primitive.run(sequence, 0))
        }
      },
      { name: "seq.metrics-layer", run: () => metricsRuntime.runPromise(Primitive.run(sequence, 0)) },
      {
        name: "span.otel.in-run",
        ops: INNER,
        run: () => {
          drain()
          return otel.runPromise(Effect.repeatN(one.run(0), INNER - 1))
        }
      },
      {
        name: "span.otel-sdk-raw",
        ops: INNER,
        run: () => {
          drain()
          let x = 0
          for (let i = 0; i < INNER; i++) {
            const span = rawTracer.startSpan("one", { attributes })
            x = x + 1
            span.end()
          }
          return x
        }
      },
      {
        name: "span.none.in-run",
        ops: INNER,
        run: () => otel.runPromise(Effect.withTracerEnabled(Effect.repeatN(one.run(0), INNER - 1), false))
      }
    ], settings(options))
    const recorded = (await Effect.runPromise(recorder.spans)).length
    await otel.dispose()
    await metricsRuntime.dispose()
    const { ratios, spreads } = pairedRatios(measured, [
      ["seq.recording", "seq.default"],
      ["seq.otel", "seq.default"],
      ["seq.metrics-layer", "seq.default"],
      ["span.otel.in-run", "span.otel-sdk-raw"],
      ["span.none.in-run", "span.otel-sdk-raw"]
    ])
    return {
      results: measured.cpu,
      wall: measured.wall,
      ratios,
      spreads,
      notes: [
        "Targets (issue 16): seq.recording/seq.default <= 3; span.otel.in-run/span.otel-sdk-raw <= 1.5.",
        `span.none.in-run is the same loop with tracing disabled: the Effect step without any span. Recorded spans kept: ${recorded}.`
      ]
    }
  }
}

export default suite
