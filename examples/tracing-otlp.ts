/**
 * OTLP/HTTP export of spans and metrics. With `OTEL_EXPORTER_OTLP_ENDPOINT`
 * set (e.g. a local Jaeger or OpenTelemetry Collector on
 * http://localhost:4318), spans and metrics go there. Without it, this
 * example starts a tiny receiver on 127.0.0.1 and prints what arrives.
 *
 *   npx tsx examples/tracing-otlp.ts
 *   OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 npx tsx examples/tracing-otlp.ts
 */
import * as Effect from "effect/Effect"
import * as FlowMetrics from "flowtune/Metrics"
import * as Primitive from "flowtune/Primitive"
import * as Tracing from "flowtune/Tracing"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"

const retrieve = FlowMetrics.instrument(
  Primitive.make("retrieve", (q: string) => Effect.as(Effect.sleep("30 millis"), [`doc about ${q}`]))
)
const generate = FlowMetrics.instrument(
  Primitive.make("generate", (docs: Array<string>) =>
    Effect.gen(function*() {
      yield* Effect.annotateCurrentSpan({
        "gen_ai.system": "simulated",
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "sim-large",
        "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 80,
        "flowtune.cost_usd": 0.0021
      })
      yield* Effect.sleep("200 millis")
      return `answer from ${docs.length} document(s)`
    }))
)
const workflow = Primitive.sequence(retrieve, generate)

const localReceiver = () =>
  new Promise<string>((resolve) => {
    const server = createServer((req, res) => {
      let body = ""
      req.on("data", (chunk) => body += chunk)
      req.on("end", () => {
        const json = JSON.parse(body)
        if (req.url === "/v1/traces") {
          for (const rs of json.resourceSpans) {
            for (const ss of rs.scopeSpans) for (const span of ss.spans) console.log(`[collector] span ${span.name}`)
          }
        } else {
          const names = json.resourceMetrics.flatMap((rm: any) => rm.scopeMetrics.flatMap((sm: any) => sm.metrics))
            .map((m: any) => m.name).filter((n: string) => n.startsWith("flowtune_"))
          console.log(`[collector] metrics ${[...new Set(names)].join(", ")}`)
        }
        res.end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () => {
      server.unref()
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    })
  })

const main = async () => {
  const endpoint = process.env["OTEL_EXPORTER_OTLP_ENDPOINT"] ?? await localReceiver()
  const program = Effect.gen(function*() {
    for (const q of ["caching", "routing"]) console.log(yield* Primitive.run(workflow, q))
  })
  // Closing the layer flushes the last spans and metrics (waiting at most shutdownTimeout).
  await Effect.runPromise(
    program.pipe(
      Effect.provide(Tracing.layerOtlp({ endpoint, serviceName: "flowtune-example", shutdownTimeout: "2 seconds" }))
    )
  )
  console.log(`exported to ${endpoint}`)
}

main()
