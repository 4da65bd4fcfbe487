import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { createServer, type IncomingMessage, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import * as Metrics from "../src/Metrics.js"
import * as Primitive from "../src/Primitive.js"
import * as Tracing from "../src/Tracing.js"
import * as WorkflowContext from "../src/WorkflowContext.js"

// The sample workflow: sequence -> parallel -> a cached step (one hit, one
// miss) -> a model-like call. The Cache and Model modules are written in
// parallel; these stand-ins carry the span names and attributes they will.
const modelCall = Primitive.make("model.generate", (prompt: string) =>
  Effect.gen(function*() {
    yield* Effect.annotateCurrentSpan({
      "gen_ai.system": "simulated",
      "gen_ai.operation.name": "chat",
      "gen_ai.request.model": "sim-large",
      "gen_ai.usage.input_tokens": 12,
      "gen_ai.usage.output_tokens": 40,
      "flowtune.cost_usd": 0.003
    })
    yield* Effect.sleep("200 millis")
    yield* WorkflowContext.checkpoint("model.done", { prompt })
    return `answer(${prompt})`
  }))
const cached = (tier: "hit" | "miss") =>
  Primitive.make(`cache(model.generate)`, (prompt: string) =>
    tier === "hit"
      ? Effect.as(
        Effect.annotateCurrentSpan({ "flowtune.cache.hit": true, "flowtune.cache.tier": "l1" }),
        `cached(${prompt})`
      )
      : Effect.zipRight(Effect.annotateCurrentSpan({ "flowtune.cache.hit": false }), modelCall.run(prompt)))
const sample = Primitive.sequence(
  Primitive.fromFunction("prepare", (q: string) => q.trim()),
  Primitive.parallel({ hit: cached("hit"), miss: cached("miss") }, { name: "answer" }),
  Primitive.fromFunction("combine", (r: { hit: string; miss: string }) => `${r.hit}+${r.miss}`)
)

const runSample = Effect.gen(function*() {
  const fiber = yield* Effect.fork(Primitive.run(sample, " q "))
  yield* TestClock.adjust("200 millis")
  return yield* Fiber.join(fiber)
})

describe("Tracing.layerMemory", () => {
  it.effect("records the sample workflow's span tree with times from the Clock", () =>
    Effect.gen(function*() {
      const value = yield* runSample
      assert.strictEqual(value, "cached(q)+answer(q)")
      const spans = yield* Tracing.spans
      assert.strictEqual(
        Tracing.formatTree(spans),
        [
          "sequence(prepare >> answer >> combine) (sequence) 200ms",
          "  prepare (step) 0.00ms",
          "  answer (parallel) 200ms",
          "    cache(model.generate) (step) 0.00ms",
          "    cache(model.generate) (step) 200ms",
          "      model.generate (step) 200ms",
          "  combine (step) 0.00ms"
        ].join("\n")
      )
      const [root] = Tracing.tree(spans)
      const answer = root!.children[1]!
      const [hit, miss] = answer.children
      assert.strictEqual(hit!.span.attributes["flowtune.cache.hit"], true)
      assert.strictEqual(miss!.span.attributes["flowtune.cache.hit"], false)
      const model = miss!.children[0]!.span
      assert.strictEqual(model.attributes["gen_ai.request.model"], "sim-large")
      assert.strictEqual(model.parentSpanId, miss!.span.spanId)
      assert.strictEqual(model.traceId, root!.span.traceId)
      assert.deepStrictEqual(model.events.map((e) => [e.name, e.time, e.attributes["flowtune.branch"]]), [[
        "model.done",
        200_000_000n,
        "miss"
      ]])
      assert.strictEqual(root!.span.status, "ok")
      yield* Tracing.clear
      assert.deepStrictEqual(yield* Tracing.spans, [])
    }).pipe(Effect.provide(Tracing.layerMemory())))

  it.effect("records failures and interruptions with their status", () =>
    Effect.gen(function*() {
      const failing = Primitive.make("failing", (_: number) => Effect.fail({ _tag: "Boom" as const }))
      const slow = Primitive.make("slow", (_: number) => Effect.sleep("1 second"))
      const timed = Primitive.timeout(slow, "10 millis")
      const [, spans] = yield* Tracing.record(Effect.gen(function*() {
        yield* Effect.exit(Primitive.run(failing, 1))
        const fiber = yield* Effect.fork(Effect.exit(Primitive.run(timed, 1)))
        yield* TestClock.adjust("10 millis")
        yield* Fiber.join(fiber)
      }))
      const byName = Object.fromEntries(spans.map((s) => [s.name, s]))
      assert.deepStrictEqual([byName["failing"]?.status, byName["failing"]?.errorTag], ["error", "Boom"])
      assert.strictEqual(byName["slow"]?.status, "interrupted")
      assert.deepStrictEqual([byName["timeout(slow)"]?.status, byName["timeout(slow)"]?.errorTag], [
        "error",
        "PrimitiveTimeout"
      ])
    }))

  it.effect("keeps at most maxSpans, dropping the oldest", () =>
    Effect.gen(function*() {
      const step = Primitive.fromFunction("s", (n: number) => n)
      for (let i = 0; i < 5; i++) yield* Primitive.run(Primitive.withName(step, `s${i}`), i)
      const recorder = yield* Tracing.SpanRecorder
      assert.deepStrictEqual((yield* recorder.spans).map((s) => s.name), ["s2", "s3", "s4"])
      assert.strictEqual(yield* recorder.dropped, 2)
    }).pipe(Effect.provide(Tracing.layerMemory({ maxSpans: 3 }))))

  it.effect("layerMemory keeps 10,000 spans by default (it records for the life of its runtime)", () =>
    Effect.gen(function*() {
      const step = Primitive.fromFunction("s", (n: number) => n)
      for (let i = 0; i < 10_050; i++) yield* Primitive.run(step, i)
      const recorder = yield* Tracing.SpanRecorder
      assert.strictEqual((yield* recorder.spans).length, 10_000)
      assert.strictEqual(yield* recorder.dropped, 50)
    }).pipe(Effect.provide(Tracing.layerMemory())))
})

describe("Tracing.record over Effect's built-in tracer", () => {
  it.effect("makes its own ids: one trace per run, a fresh span id per span, parents linked", () =>
    Effect.gen(function*() {
      const step = (name: string) => Primitive.make(name, (n: number) => Effect.succeed(n + 1))
      const workflow = Primitive.sequence(step("a"), step("b"))
      const [, first] = yield* Tracing.record(Primitive.run(workflow, 0))
      const [, second] = yield* Tracing.record(Primitive.run(workflow, 0))
      assert.strictEqual(first.length, 3)
      const root = first.find((s) => s.parentSpanId === undefined)!
      assert.strictEqual(root.name, workflow.name)
      assert.match(root.traceId, /^[0-9a-f]{32}$/)
      assert.match(root.spanId, /^[0-9a-f]{16}$/)
      for (const span of first) assert.strictEqual(span.traceId, root.traceId)
      assert.deepStrictEqual(first.filter((s) => s.parentSpanId === root.spanId).map((s) => s.name).sort(), ["a", "b"])
      assert.strictEqual(new Set([...first, ...second].map((s) => s.spanId)).size, 6)
      assert.notStrictEqual(second[0]!.traceId, root.traceId)
    }))
})

describe("Tracing options", () => {
  it("bad options are rejected where the layer is built, naming the option and the range", () => {
    const expectInvalid = (f: () => unknown, fragment: string) => {
      try {
        f()
      } catch (error) {
        assert.instanceOf(error, Primitive.InvalidPrimitive)
        assert.include((error as Error).message, fragment)
        return
      }
      assert.fail(`expected InvalidPrimitive mentioning "${fragment}"`)
    }
    expectInvalid(() => Tracing.layerMemory({ maxSpans: 0 }), `"maxSpans" must be an integer >= 1, got 0`)
    expectInvalid(() => Tracing.layerOtlp({ endpoint: "localhost:4318" }), `"endpoint" must be an http(s) URL`)
    expectInvalid(() => Tracing.layerOtlp({ endpoint: "http://c:4318", exportInterval: -1 }), `"exportInterval"`)
    expectInvalid(() => Tracing.layerOtlp({ endpoint: "http://c:4318", maxBatchSize: 1.5 }), `"maxBatchSize"`)
    expectInvalid(() => Tracing.layerConsole({ metricsInterval: "0 millis" }), `"metricsInterval"`)
  })
})

describe("Tracing.layerOtelMemory", () => {
  it.effect("exports the sample tree through the OpenTelemetry SDK with GenAI attributes", () =>
    Effect.gen(function*() {
      yield* runSample
      const spans = yield* Tracing.exportedSpans
      const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]))
      const path = (name: string) => {
        const span = spans.find((s) => s.name === name)!
        const names: Array<string> = []
        for (let at: typeof span | undefined = span; at; at = byId.get(at.parentSpanContext?.spanId ?? "")) {
          names.unshift(at.name)
        }
        return names
      }
      assert.deepStrictEqual(path("model.generate"), [
        "sequence(prepare >> answer >> combine)",
        "answer",
        "cache(model.generate)",
        "model.generate"
      ])
      const model = spans.find((s) => s.name === "model.generate")!
      assert.strictEqual(model.attributes["gen_ai.request.model"], "sim-large")
      assert.strictEqual(model.attributes["gen_ai.usage.output_tokens"], 40)
      assert.strictEqual(model.attributes["flowtune.primitive.kind"], "step")
      assert.deepStrictEqual(model.duration, [0, 200_000_000])
      assert.strictEqual(model.events[0]?.name, "model.done")
      assert.strictEqual(spans.length, 7)
    }).pipe(Effect.provide(Tracing.layerOtelMemory())))

  it.effect("Tracing.record keeps forwarding spans to the installed exporter", () =>
    Effect.gen(function*() {
      const [, recorded] = yield* Tracing.record(runSample)
      const exported = yield* Tracing.exportedSpans
      assert.strictEqual(recorded.length, 7)
      assert.deepStrictEqual(
        exported.map((s) => s.spanContext().spanId).sort(),
        recorded.map((s) => s.spanId).sort()
      )
      const child = exported.find((s) => s.name === "model.generate")!
      const parent = recorded.find((s) => s.spanId === child.parentSpanContext?.spanId)
      assert.strictEqual(parent?.name, "cache(model.generate)")
    }).pipe(Effect.provide(Tracing.layerOtelMemory())))
})

// ---------------------------------------------------------------------------
// OTLP/HTTP against a local receiver (real time, bounded)
// ---------------------------------------------------------------------------

interface Received {
  readonly path: string
  readonly body: any
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let data = ""
    req.on("data", (chunk) => data += chunk)
    req.on("end", () => resolve(data))
  })

const receiver = (options?: { readonly hang?: boolean }) =>
  Effect.acquireRelease(
    Effect.async<{ server: Server; url: string; received: Array<Received> }>((resume) => {
      const received: Array<Received> = []
      const server = createServer(async (req, res) => {
        if (options?.hang) return // accepts the request, never answers
        const text = await readBody(req)
        received.push({ path: req.url ?? "", body: JSON.parse(text) })
        res.writeHead(200, { "content-type": "application/json" })
        res.end("{}")
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port
        resume(Effect.succeed({ server, url: `http://127.0.0.1:${port}`, received }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

const closedPort = Effect.async<string>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as AddressInfo).port
    server.close(() => resume(Effect.succeed(`http://127.0.0.1:${port}`)))
  })
})

const otlpStep = Metrics.instrument(
  Primitive.make("otlp.step", (n: number) => Effect.as(Effect.sleep("5 millis"), n + 1))
)
const otlpModel = Primitive.make(
  "otlp.model",
  (n: number) =>
    Effect.as(Effect.annotateCurrentSpan({ "gen_ai.request.model": "sim", "gen_ai.usage.input_tokens": 3 }), n * 2)
)
const quick = Primitive.sequence(otlpStep, otlpModel)

const spanNames = (received: ReadonlyArray<Received>) =>
  received
    .filter((r) => r.path === "/v1/traces")
    .flatMap((r) => r.body.resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans)))

describe("Tracing.layerOtlp", () => {
  it.live("exports spans and metrics over OTLP/HTTP to a collector", () =>
    Effect.gen(function*() {
      const collector = yield* receiver()
      const value = yield* Primitive.run(quick, 1).pipe(
        Effect.provide(Tracing.layerOtlp({
          endpoint: `${collector.url}/`,
          serviceName: "flowtune-test",
          headers: { "x-api-key": "secret" },
          shutdownTimeout: "5 seconds"
        }))
      )
      assert.strictEqual(value, 4)
      const spans = spanNames(collector.received)
      assert.deepStrictEqual(spans.map((s: any) => s.name).sort(), [
        "otlp.model",
        "otlp.step",
        "sequence(otlp.step >> otlp.model)"
      ])
      const model = spans.find((s: any) => s.name === "otlp.model")
      const attribute = (key: string) => model.attributes.find((a: any) => a.key === key)?.value
      assert.deepStrictEqual(attribute("gen_ai.request.model"), { stringValue: "sim" })
      assert.deepStrictEqual(attribute("flowtune.primitive.kind"), { stringValue: "step" })
      const traces = collector.received.find((r) => r.path === "/v1/traces")!
      const service = traces.body.resourceSpans[0].resource.attributes.find((a: any) => a.key === "service.name")
      assert.deepStrictEqual(service.value, { stringValue: "flowtune-test" })
      const metrics = collector.received.filter((r) => r.path === "/v1/metrics")
      const metricNames = metrics.flatMap((r) =>
        r.body.resourceMetrics.flatMap((rm: any) =>
          rm.scopeMetrics.flatMap((sm: any) => sm.metrics.map((m: any) => m.name))
        )
      )
      assert.include(metricNames, "flowtune_primitive_calls_total")
    }).pipe(Effect.scoped), 20_000)

  it.live("reads the endpoint from OTEL_EXPORTER_OTLP_ENDPOINT, and fails without it", () =>
    Effect.gen(function*() {
      const collector = yield* receiver()
      yield* Primitive.run(quick, 1).pipe(
        Effect.provide(Tracing.layerConfig({ metrics: false, shutdownTimeout: "5 seconds" })),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["OTEL_EXPORTER_OTLP_ENDPOINT", collector.url]])))
      )
      assert.strictEqual(spanNames(collector.received).length, 3)
      assert.isFalse(collector.received.some((r) => r.path === "/v1/metrics"))
      const missing = yield* Effect.flip(
        Primitive.run(quick, 1).pipe(
          Effect.provide(Tracing.layerConfig()),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
        )
      )
      assert.strictEqual("_op" in missing ? missing._op : missing._tag, "MissingData")
    }).pipe(Effect.scoped), 20_000)

  const harmless = (endpoint: Effect.Effect<string, never, Scope.Scope>, label: string) =>
    it.live(
      `a ${label} collector neither fails nor slows the workflow, and shutdown is bounded`,
      () =>
        Effect.gen(function*() {
          const url = yield* endpoint
          const layer = Tracing.layerOtlp({
            endpoint: url,
            exportInterval: "50 millis",
            metricsExportInterval: "50 millis",
            maxBatchSize: 2,
            shutdownTimeout: "300 millis"
          })
          const started = performance.now()
          const workflowMillis = yield* Effect.gen(function*() {
            const before = performance.now()
            for (let i = 0; i < 20; i++) assert.strictEqual(yield* Primitive.run(quick, i), (i + 1) * 2)
            // Let the background exporter try (and fail) a few times mid-run.
            yield* Effect.sleep("150 millis")
            for (let i = 0; i < 20; i++) yield* Primitive.run(quick, i)
            return performance.now() - before - 150
          }).pipe(Effect.provide(layer))
          const totalMillis = performance.now() - started
          // 40 runs of a 5 ms step: about 200 ms of work. An exporter that waited on the
          // collector would add seconds (the hanging one never answers); the slack is for
          // a loaded CI machine, not for the exporter.
          assert.isBelow(workflowMillis, 3_000)
          // The layer's release waits at most shutdownTimeout for each exporter (spans, metrics).
          assert.isBelow(totalMillis, workflowMillis + 150 + 2 * 300 + 2_000)
        }).pipe(Effect.scoped),
      20_000
    )

  harmless(closedPort, "down")
  harmless(Effect.map(receiver({ hang: true }), (r) => r.url), "hanging")
})

describe("Tracing.layerConsole", () => {
  it.effect("prints finished spans", () =>
    Effect.gen(function*() {
      const printed: Array<unknown> = []
      const original = console.dir
      console.dir = (item: unknown) => void printed.push(item)
      yield* Primitive.run(Primitive.fromFunction("printed.step", (n: number) => n), 1).pipe(
        Effect.provide(Tracing.layerConsole()),
        Effect.ensuring(Effect.sync(() => console.dir = original))
      )
      assert.isTrue(printed.some((p: any) => p?.name === "printed.step"))
    }))
})

describe("Tracing layers compose", () => {
  it.effect("layerMemory over the OpenTelemetry exporter records and exports", () =>
    Effect.gen(function*() {
      yield* runSample
      assert.strictEqual((yield* Tracing.spans).length, 7)
      assert.strictEqual((yield* Tracing.exportedSpans).length, 7)
    }).pipe(Effect.provide(Tracing.layerMemory().pipe(Layer.provideMerge(Tracing.layerOtelMemory())))))
})
