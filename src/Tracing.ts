/**
 * Seeing what a workflow did: every primitive run is a span named after the
 * primitive (attribute `flowtune.primitive.kind`), nested under the primitive
 * that ran it; checkpoints are span events.
 *
 * This module gives those spans somewhere to go:
 *
 * - `layerMemory` / `spans` / `record`: a recording tracer that keeps finished
 *   spans as plain values (times from Effect's `Clock`, so the `TestClock`
 *   drives them). The run breakdown (`Metrics.breakdown`) and the advisor read
 *   these.
 * - `layerOtlp` / `layerConfig`: OTLP/HTTP export of spans and metrics to a
 *   collector (`OTEL_EXPORTER_OTLP_ENDPOINT`). Export runs in the background:
 *   a collector that is down never fails a workflow, and closing the layer
 *   waits at most `shutdownTimeout`.
 * - `layerConsole`: spans (and optionally metrics) printed by the
 *   OpenTelemetry SDK's console exporters.
 * - `layerOtelMemory`: the OpenTelemetry SDK's in-memory exporter, to assert
 *   on exactly what an OpenTelemetry backend would receive.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Primitive, Tracing } from "flowtune"
 *
 * const step = Primitive.make("step", (n: number) => Effect.succeed(n + 1))
 *
 * const program = Effect.gen(function*() {
 *   yield* Primitive.run(step, 1)
 *   const spans = yield* Tracing.spans
 *   console.log(Tracing.formatTree(spans))
 * }).pipe(Effect.provide(Tracing.layerMemory()))
 * ```
 *
 * @since 0.1.0
 */
import type * as Resource from "@effect/opentelemetry/Resource"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type { InMemorySpanExporter, ReadableSpan } from "@opentelemetry/sdk-trace-base"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Tracer from "effect/Tracer"
import * as Options from "./internal/options.js"
import { otelSdk, sdkLayer } from "./internal/otelContext.js"
import { importPeer, type MissingPeerDependency } from "./internal/peer.js"
import * as internal from "./internal/tracing.js"

// @effect/opentelemetry and the OpenTelemetry SDK are optional peers: loaded by the layers that export, so that
// importing flowtune (or only the memory tracer) neither needs them installed nor loads them.
const otel = <M>(packageName: string, neededBy: string, load: () => Promise<M>) =>
  importPeer(packageName, `Tracing.${neededBy}`, load)

/**
 * The attribute names flowtune writes on spans, so every module (and every
 * dashboard) spells them the same way.
 *
 * @since 0.1.0
 * @category attributes
 */
export const Attributes = {
  /** The primitive's kind: step, sequence, parallel, forEach, retry, timeout, fallback, ... */
  primitiveKind: "flowtune.primitive.kind",
  /** A fingerprint of the primitive's input, written by `Metrics.instrument`; the advisor's cache finding reads it. */
  inputHash: "flowtune.input.hash",
  /** US dollars spent by this call. */
  costUsd: "flowtune.cost_usd",
  /** The backend a call went to (a host, a model, a table), for the advisor's batch finding. */
  backend: "flowtune.backend",
  /** Items in the batch this call was part of; above 1 means the call is already batched. */
  batchSize: "flowtune.batch.size",
  /** Milliseconds from the call's start to its first streamed output (written by the Stream module). */
  timeToFirstTokenMs: "flowtune.stream.ttft_ms",
  /** The same, as the Model module writes it on a streamed model call. */
  genAiTimeToFirstTokenMs: "gen_ai.response.time_to_first_token_ms",
  /** GenAI semantic conventions (OpenTelemetry): the model asked for. */
  genAiRequestModel: "gen_ai.request.model",
  /** GenAI semantic conventions: the provider (openai, vllm, simulated, ...). */
  genAiSystem: "gen_ai.system",
  /** GenAI semantic conventions: the operation (chat, embeddings, ...). */
  genAiOperationName: "gen_ai.operation.name",
  /** GenAI semantic conventions: prompt tokens. */
  genAiInputTokens: "gen_ai.usage.input_tokens",
  /** GenAI semantic conventions: completion tokens. */
  genAiOutputTokens: "gen_ai.usage.output_tokens"
} as const

/**
 * A span event (a checkpoint, for instance).
 *
 * @since 0.1.0
 * @category models
 */
export interface SpanEvent {
  readonly name: string
  /** Nanoseconds since the epoch, from Effect's `Clock`. */
  readonly time: bigint
  readonly attributes: Readonly<Record<string, unknown>>
}

/**
 * A finished span, as a value.
 *
 * @since 0.1.0
 * @category models
 */
export interface SpanRecord {
  readonly name: string
  readonly spanId: string
  readonly traceId: string
  /** Absent for a root span. */
  readonly parentSpanId: string | undefined
  readonly kind: Tracer.SpanKind
  /** Nanoseconds since the epoch, from Effect's `Clock`. */
  readonly startTime: bigint
  /** Nanoseconds since the epoch, from Effect's `Clock`. */
  readonly endTime: bigint
  readonly durationMillis: number
  readonly attributes: Readonly<Record<string, unknown>>
  readonly events: ReadonlyArray<SpanEvent>
  readonly status: "ok" | "error" | "interrupted"
  /** The failure's `_tag` (or message) when `status` is `"error"`. */
  readonly errorTag: string | undefined
}

/**
 * A span with its children, ordered by start time.
 *
 * @since 0.1.0
 * @category models
 */
export interface SpanTree {
  readonly span: SpanRecord
  readonly children: ReadonlyArray<SpanTree>
}

/**
 * What the recording tracer offers.
 *
 * @since 0.1.0
 * @category models
 */
export interface SpanRecorderShape {
  /** The tracer to install (it also forwards every span to the tracer it wraps). */
  readonly tracer: Tracer.Tracer
  /** The finished spans, oldest first. */
  readonly spans: Effect.Effect<ReadonlyArray<SpanRecord>>
  /** How many old spans were dropped to stay under `maxSpans`. */
  readonly dropped: Effect.Effect<number>
  readonly clear: Effect.Effect<void>
}

/**
 * The recording tracer installed by `layerMemory`.
 *
 * @since 0.1.0
 * @category services
 */
export class SpanRecorder extends Context.Tag("flowtune/Tracing/SpanRecorder")<SpanRecorder, SpanRecorderShape>() {}

/**
 * Options of the recording tracer.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryOptions {
  /**
   * The most finished spans kept; older ones are dropped first. Default
   * 10,000 for `layerMemory` (about 3.6 MB of records), 100,000 for `record`
   * and `makeRecorder`.
   */
  readonly maxSpans?: number | undefined
}

/**
 * A recording tracer that wraps `delegate`: each span is forwarded to it (so
 * an exporter installed below keeps working) and kept as a `SpanRecord` when
 * it ends.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeRecorder: (delegate: Tracer.Tracer, options?: MemoryOptions) => SpanRecorderShape =
  internal.makeRecorder

/**
 * Installs a recording tracer (on top of the current one) and provides
 * `SpanRecorder` to read what it recorded.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (options?: MemoryOptions): Layer.Layer<SpanRecorder> => {
  // Checked here, where the layer is built, not when it is first provided.
  if (options?.maxSpans !== undefined) {
    Options.number("Tracing.layerMemory", "maxSpans", options.maxSpans, { integer: true, min: 1 })
  }
  return Layer.unwrapEffect(
    Effect.map(Effect.tracer, (current) => {
      const recorder = internal.makeRecorder(current, {
        maxSpans: options?.maxSpans ?? internal.layerDefaultMaxSpans
      })
      return Layer.merge(Layer.succeed(SpanRecorder, recorder), Layer.setTracer(recorder.tracer))
    })
  )
}

/**
 * The spans finished so far under `layerMemory`, oldest first.
 *
 * @since 0.1.0
 * @category accessors
 */
export const spans: Effect.Effect<ReadonlyArray<SpanRecord>, never, SpanRecorder> = Effect.flatMap(
  SpanRecorder,
  (recorder) => recorder.spans
)

/**
 * Forgets the spans recorded so far under `layerMemory`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const clear: Effect.Effect<void, never, SpanRecorder> = Effect.flatMap(
  SpanRecorder,
  (recorder) => recorder.clear
)

/**
 * Runs an effect with tracing on and a recording tracer of its own, and
 * returns its value with the spans it produced. Spans still reach the tracer
 * that was installed before (an OTLP exporter, for instance).
 *
 * @since 0.1.0
 * @category combinators
 */
export const record: <A, E, R>(
  self: Effect.Effect<A, E, R>,
  options?: MemoryOptions
) => Effect.Effect<[A, ReadonlyArray<SpanRecord>], E, R> = internal.record

/**
 * The spans arranged as trees (one per root), children ordered by start time.
 *
 * @since 0.1.0
 * @category utils
 */
export const tree: (spans: ReadonlyArray<SpanRecord>) => Array<SpanTree> = internal.tree

/**
 * The direct children of a span, ordered by start time.
 *
 * @since 0.1.0
 * @category utils
 */
export const children: (spans: ReadonlyArray<SpanRecord>, parent: SpanRecord) => ReadonlyArray<SpanRecord> =
  internal.children

/**
 * The spans whose parent is not among `spans`, ordered by start time.
 *
 * @since 0.1.0
 * @category utils
 */
export const roots: (spans: ReadonlyArray<SpanRecord>) => ReadonlyArray<SpanRecord> = internal.roots

/**
 * An indented text rendering of the span trees, with kinds and durations.
 *
 * @since 0.1.0
 * @category utils
 */
export const formatTree: (spans: ReadonlyArray<SpanRecord>) => string = internal.formatTree

/**
 * Options of the OTLP exporter.
 *
 * @since 0.1.0
 * @category models
 */
export interface OtlpOptions {
  /** The collector's base URL, e.g. `http://localhost:4318`; `/v1/traces` and `/v1/metrics` are appended. */
  readonly endpoint: string
  readonly serviceName?: string | undefined
  readonly serviceVersion?: string | undefined
  readonly attributes?: Record<string, unknown> | undefined
  /** Sent with every export (an API key, for instance). */
  readonly headers?: Record<string, string | Redacted.Redacted> | undefined
  /** Export metrics too. Default true. */
  readonly metrics?: boolean | undefined
  /** How often buffered spans are sent. Default 5 seconds. */
  readonly exportInterval?: Duration.DurationInput | undefined
  /** How often metrics are sent. Default 10 seconds. */
  readonly metricsExportInterval?: Duration.DurationInput | undefined
  /** A batch is sent as soon as this many spans are buffered. Default 1000. */
  readonly maxBatchSize?: number | undefined
  /** The longest closing the layer waits for a last export. Default 3 seconds. */
  readonly shutdownTimeout?: Duration.DurationInput | undefined
}

const unredact = (headers: OtlpOptions["headers"]): Record<string, string> | undefined =>
  headers === undefined
    ? undefined
    : Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Redacted.isRedacted(v) ? Redacted.value(v) : v]))

/**
 * Exports spans (and metrics) over OTLP/HTTP with JSON bodies, using the
 * global `fetch`. Spans are buffered and sent by a background fiber; a failed
 * export pauses exporting for a minute and is otherwise ignored, so a
 * collector that is down costs a workflow nothing.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerOtlp = (options: OtlpOptions): Layer.Layer<never, MissingPeerDependency> => {
  const owner = "Tracing.layerOtlp"
  if (typeof options !== "object" || options === null) Options.invalidShape(owner, "options must be an object")
  const endpoint = Options.nonEmptyString(owner, "endpoint", options.endpoint)
  if (!/^https?:\/\/\S+$/i.test(endpoint)) {
    Options.invalid(owner, "endpoint", "an http(s) URL such as \"http://localhost:4318\"", endpoint)
  }
  const base = endpoint.replace(/\/+$/, "")
  const resource = {
    serviceName: options.serviceName === undefined
      ? "flowtune"
      : Options.nonEmptyString(owner, "serviceName", options.serviceName),
    serviceVersion: options.serviceVersion,
    attributes: options.attributes ?? {}
  }
  const headers = unredact(options.headers)
  const shutdownTimeout = Options.durationOr(owner, "shutdownTimeout", options.shutdownTimeout, Duration.seconds(3))
  const exportInterval = options.exportInterval === undefined
    ? undefined
    : Options.duration(owner, "exportInterval", options.exportInterval)
  const metricsExportInterval = options.metricsExportInterval === undefined
    ? undefined
    : Options.duration(owner, "metricsExportInterval", options.metricsExportInterval)
  const maxBatchSize = options.maxBatchSize === undefined
    ? undefined
    : Options.positiveInt(owner, "maxBatchSize", options.maxBatchSize)
  const withMetrics = Options.booleanOr(owner, "metrics", options.metrics, true)
  return Layer.unwrapEffect(Effect.map(
    Effect.all([
      otel("@effect/opentelemetry", "layerOtlp", () => import("@effect/opentelemetry/OtlpTracer")),
      otel("@effect/opentelemetry", "layerOtlp", () => import("@effect/opentelemetry/OtlpMetrics")),
      otel("@effect/opentelemetry", "layerOtlp", () => import("@effect/opentelemetry/OtlpSerialization"))
    ]),
    ([OtlpTracer, OtlpMetrics, OtlpSerialization]) => {
      const traces = OtlpTracer.layer({
        url: `${base}/v1/traces`,
        resource,
        headers,
        exportInterval,
        maxBatchSize,
        shutdownTimeout
      })
      const metrics = !withMetrics ? Layer.empty : OtlpMetrics.layer({
        url: `${base}/v1/metrics`,
        resource,
        headers,
        exportInterval: metricsExportInterval,
        shutdownTimeout
      })
      return Layer.merge(traces, metrics).pipe(
        Layer.provide(OtlpSerialization.layerJson),
        Layer.provide(FetchHttpClient.layer)
      )
    }
  ))
}

/**
 * `layerOtlp` configured from the environment, with the OpenTelemetry names:
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (required), `OTEL_SERVICE_NAME` (default
 * `flowtune`) and `OTEL_EXPORTER_OTLP_HEADERS` (`key=value,key2=value2`,
 * treated as secret).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options?: Omit<OtlpOptions, "endpoint" | "serviceName" | "headers">
): Layer.Layer<never, ConfigError.ConfigError | MissingPeerDependency> =>
  Layer.unwrapEffect(
    Effect.gen(function*() {
      const endpoint = yield* Config.string("OTEL_EXPORTER_OTLP_ENDPOINT")
      const serviceName = yield* Config.withDefault(Config.string("OTEL_SERVICE_NAME"), "flowtune")
      const rawHeaders = yield* Config.option(Config.redacted("OTEL_EXPORTER_OTLP_HEADERS"))
      const headers: Record<string, Redacted.Redacted> = {}
      if (Option.isSome(rawHeaders)) {
        for (const pair of Redacted.value(rawHeaders.value).split(",")) {
          const at = pair.indexOf("=")
          if (at > 0) headers[pair.slice(0, at).trim()] = Redacted.make(decodeURIComponent(pair.slice(at + 1).trim()))
        }
      }
      return layerOtlp({ ...options, endpoint, serviceName, headers })
    })
  )

/**
 * Prints every finished span (and, with `metrics`, the metrics every
 * `metricsInterval`) through the OpenTelemetry SDK's console exporters.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConsole = (options?: {
  readonly serviceName?: string | undefined
  readonly metrics?: boolean | undefined
  readonly metricsInterval?: Duration.DurationInput | undefined
}): Layer.Layer<Resource.Resource, MissingPeerDependency> => {
  const metricsInterval = Options.durationOr(
    "Tracing.layerConsole",
    "metricsInterval",
    options?.metricsInterval,
    Duration.seconds(10)
  )
  return Layer.unwrapEffect(Effect.map(
    Effect.all([
      otelSdk("layerConsole"),
      otel("@opentelemetry/sdk-trace-base", "layerConsole", () => import("@opentelemetry/sdk-trace-base")),
      otel("@opentelemetry/sdk-metrics", "layerConsole", () => import("@opentelemetry/sdk-metrics"))
    ]),
    ([sdk, TraceBase, SdkMetrics]) =>
      sdkLayer(sdk, new TraceBase.SimpleSpanProcessor(new TraceBase.ConsoleSpanExporter()), {
        resource: { serviceName: options?.serviceName ?? "flowtune" },
        metricReader: options?.metrics === true
          ? new SdkMetrics.PeriodicExportingMetricReader({
            exporter: new SdkMetrics.ConsoleMetricExporter(),
            exportIntervalMillis: Duration.toMillis(metricsInterval)
          })
          : undefined
      })
  ))
}

/**
 * The OpenTelemetry SDK's in-memory span exporter installed by
 * `layerOtelMemory`.
 *
 * @since 0.1.0
 * @category services
 */
export class OtelMemoryExporter extends Context.Tag("flowtune/Tracing/OtelMemoryExporter")<
  OtelMemoryExporter,
  InMemorySpanExporter
>() {}

/**
 * Exports spans through the OpenTelemetry SDK into memory: what a real
 * backend would receive, readable with `exportedSpans`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerOtelMemory = (options?: {
  readonly serviceName?: string | undefined
}): Layer.Layer<OtelMemoryExporter | Resource.Resource, MissingPeerDependency> =>
  Layer.unwrapEffect(Effect.map(
    Effect.all([
      otelSdk("layerOtelMemory"),
      otel("@opentelemetry/sdk-trace-base", "layerOtelMemory", () => import("@opentelemetry/sdk-trace-base"))
    ]),
    ([sdk, TraceBase]) => {
      const exporter = new TraceBase.InMemorySpanExporter()
      return Layer.merge(
        Layer.succeed(OtelMemoryExporter, exporter),
        sdkLayer(sdk, new TraceBase.SimpleSpanProcessor(exporter), {
          resource: { serviceName: options?.serviceName ?? "flowtune" }
        })
      )
    }
  ))

/**
 * The spans exported so far under `layerOtelMemory`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const exportedSpans: Effect.Effect<ReadonlyArray<ReadableSpan>, never, OtelMemoryExporter> = Effect.map(
  OtelMemoryExporter,
  (exporter) => exporter.getFinishedSpans()
)
