import type { Configuration as NodeSdkConfiguration } from "@effect/opentelemetry/NodeSdk"
import type * as Resource from "@effect/opentelemetry/Resource"
import type * as OtelApi from "@opentelemetry/api"
import type { SpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Tracer from "effect/Tracer"
import { importPeer } from "./peer.js"

/**
 * @effect/opentelemetry's span class marks its instances with this symbol and
 * keeps the OpenTelemetry span in `span` (0.64: `internal/tracer.js`,
 * `OtelSpan`). A span without it (an external parent, another tracer's span)
 * goes to the wrapped tracer's own hook.
 */
const OtelSpanTypeId = Symbol.for("@effect/opentelemetry/Tracer/OtelSpan")

interface OtelSpan extends Tracer.Span {
  readonly span: OtelApi.Span
}

/** Our fast path takes a span of @effect/opentelemetry's own that does not disable propagation. */
const isOwnSpan = (span: Tracer.AnySpan): span is OtelSpan =>
  OtelSpanTypeId in span && !Context.get(span.context, Tracer.DisablePropagation)

/**
 * @effect/opentelemetry's tracer with a cheaper `context` hook.
 *
 * The fiber calls the hook around every run-loop step. @effect/opentelemetry's
 * hook (0.64) resolves the fiber's span through `DisablePropagation` (two
 * `Option`s), builds a new OpenTelemetry context from the active one with the
 * span set (`trace.setSpan`: a copy of the context's map) and runs the step in
 * `context.with`: 116-135 ns per step in a tight loop (no context manager;
 * 157-179 ns with AsyncLocalStorage), against 19-21 ns (41-45 ns) here, and
 * more in a real run through the garbage it leaves; a flowtune span runs 5
 * steps inside it. One span through `layerOtelMemory`: 2.02-2.13x a raw SDK
 * span before, 1.66x after, 1.65-1.76x with a hook that does nothing.
 *
 * Consecutive steps mostly run under the same span on the same active context
 * (a fiber runs up to 2048 steps before it yields), so the context built for
 * the last (span, active context) pair is kept and reused while both are the
 * same objects: the context handed to `context.with` holds exactly what a
 * fresh `setSpan(active, span)` would (OpenTelemetry contexts are immutable),
 * so code reading `context.active()` / `trace.getActiveSpan()` in a step sees
 * what it saw before. Anything else (another span, a fiber resumed under
 * another context, a span of another kind) rebuilds the entry. When the active
 * context is already the one kept (a step run from inside a step of the same
 * span, e.g. `Effect.runSync` in a `sync`), `context.with` is skipped.
 *
 * One entry, not a map per span: a map lookup per step would cost about what
 * it saves on a hit, and the entry holds one span and two contexts at most,
 * until the next step of any fiber under a span replaces them.
 *
 * @internal
 */
export const withCachedContext = (tracer: Tracer.Tracer, api: typeof OtelApi): Tracer.Tracer => {
  const contextApi = api.context
  const traceApi = api.trace
  let lastSpan: OtelSpan | undefined
  let lastBase: OtelApi.Context | undefined
  let lastContext: OtelApi.Context = api.ROOT_CONTEXT
  return Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) =>
      tracer.span(name, parent, context, links, startTime, kind, options),
    context: (execution, fiber) => {
      const span = fiber.currentSpan
      if (span === undefined) return execution()
      const active = contextApi.active()
      let own: OtelSpan
      if (span === lastSpan) {
        if (active === lastBase) return contextApi.with(lastContext, execution)
        if (active === lastContext) return execution()
        own = lastSpan
      } else if (isOwnSpan(span)) {
        own = span
      } else {
        return tracer.context(execution, fiber)
      }
      const built = traceApi.setSpan(active, own.span)
      lastSpan = own
      lastBase = active
      lastContext = built
      return contextApi.with(built, execution)
    }
  })
}

/**
 * What `sdkLayer` needs, loaded on first use (optional peers).
 *
 * @internal
 */
export const otelSdk = (neededBy: string) =>
  Effect.all({
    NodeSdk: importPeer("@effect/opentelemetry", `Tracing.${neededBy}`, () => import("@effect/opentelemetry/NodeSdk")),
    OtelTracer: importPeer(
      "@effect/opentelemetry",
      `Tracing.${neededBy}`,
      () => import("@effect/opentelemetry/Tracer")
    ),
    api: importPeer("@opentelemetry/api", `Tracing.${neededBy}`, () => import("@opentelemetry/api"))
  })

/**
 * `NodeSdk.layer` with the span processor given, its tracer wrapped by
 * `withCachedContext` (the OpenTelemetry context built once per span, not on
 * every run-loop step). The rest (the resource, a metric reader) is
 * `NodeSdk.layer`'s own, and the tracer layer is the one `NodeSdk.layer`
 * builds: `Tracer.layer` on `layerTracerProvider`.
 *
 * @internal
 */
export const sdkLayer = (
  sdk: Effect.Effect.Success<ReturnType<typeof otelSdk>>,
  spanProcessor: SpanProcessor,
  config: Omit<NodeSdkConfiguration, "spanProcessor">
): Layer.Layer<Resource.Resource> => {
  const { NodeSdk, OtelTracer, api } = sdk
  const tracer = Layer.unwrapEffect(
    Effect.map(OtelTracer.make, (tracer) => Layer.setTracer(withCachedContext(tracer, api)))
  ).pipe(
    Layer.provideMerge(OtelTracer.layerTracer),
    Layer.provide(NodeSdk.layerTracerProvider(spanProcessor))
  )
  return Layer.provideMerge(tracer, NodeSdk.layer(() => config))
}
