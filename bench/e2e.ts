/**
 * `npm run bench -- e2e [--quick]`: one workflow end to end, under load, as
 * an application runs it, against plain async/await and LangChain.js.
 *
 * Each request is routed (two routes by query length), calls a cached model
 * (about 51% of queries repeat an earlier one), fans out to 3 steps and
 * aggregates them. The model answers at once (0 ms), so what is measured is
 * the runtime, not the model. 10,000 requests with 1,000 in flight per round
 * (`--quick`: 2,000 with 200), every variant once per round, order rotated.
 * - flowtune: `runtime.runPromise(Primitive.run(workflow, query))` with
 *   `Router.make`, `Cache.wrap` over `Cache.layerMemory`, `Primitive.parallel`
 *   of three `fromFunction` steps; tracing off (Effect's default tracer, no
 *   span opened) and on (`Tracing.layerMemory`, every span kept, buffer
 *   cleared each round) and through OpenTelemetry (`Tracing.layerOtelMemory`:
 *   the SDK, simple processor, in-memory exporter), both against LangChain with
 *   its run collector; `flowtune.effect-branches` makes the three branches
 *   Effect steps (`Primitive.make`), which get a fiber each where plain
 *   functions are called in place;
 * - plain: async functions, a `Map` of promises as the cache, `Promise.all`;
 * - LangChain.js: `RunnableSequence` of a routing `RunnableLambda`, a lambda
 *   over LangChain's `InMemoryCache`, a `RunnableParallel` and a lambda;
 *   tracing on is a `RunCollectorCallbackHandler` per request.
 * Reported per variant (median over rounds): CPU per request, p50/p99 latency
 * of a request (all of it is added latency: the model takes 0 ms), peak heap
 * and RSS (sampled every 250 requests), and the time spent in garbage
 * collection pauses (`PerformanceObserver` "gc" entries, which are wall-clock
 * durations) as a share of the round's wall time.
 *
 * The in-flight case (support/e2eParked.ts) runs in child processes: 100,000
 * requests (`--quick`: 5,000) parked at the model call. The simulated model
 * alone is support/e2eModel.ts.
 */
import { RunCollectorCallbackHandler } from "@langchain/core/tracers/run_collector"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { PerformanceObserver } from "node:perf_hooks"
import * as Cache from "../src/Cache.js"
import * as Primitive from "../src/Primitive.js"
import * as Tracing from "../src/Tracing.js"
import { quantile, type Spread, spreadOf, type Suite } from "./harness.js"
import { modelCalls } from "./support/e2eModel.js"
import { parked } from "./support/e2eParked.js"
import { flowtuneWorkflow, instantModel, langchain, plain, workload } from "./support/e2eWorkload.js"

// -----------------------------------------------------------------------------
// the workflows

const flowtune = flowtuneWorkflow(instantModel)
const flowtuneEffectBranches = flowtuneWorkflow(instantModel, { effectBranches: true })

// -----------------------------------------------------------------------------
// one round of one variant

interface RoundFigures {
  readonly cpuPerRequestUs: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly heapPeakMb: number
  readonly rssPeakMb: number
  readonly gcShare: number
}

const drive = async (
  handle: (q: string) => Promise<unknown>,
  queries: ReadonlyArray<string>,
  inFlight: number
): Promise<RoundFigures> => {
  const latencies = new Float64Array(queries.length)
  let gcMs = 0
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration
  })
  observer.observe({ entryTypes: ["gc"] })
  let heapPeak = 0
  let rssPeak = 0
  const sample = () => {
    const m = process.memoryUsage()
    if (m.heapUsed > heapPeak) heapPeak = m.heapUsed
    if (m.rss > rssPeak) rssPeak = m.rss
  }
  let next = 0
  let done = 0
  const worker = async () => {
    while (next < queries.length) {
      const i = next++
      const start = performance.now()
      await handle(queries[i]!)
      latencies[i] = performance.now() - start
      if (++done % 250 === 0) sample()
    }
  }
  const cpuStart = process.cpuUsage()
  const wallStart = performance.now()
  await Promise.all(Array.from({ length: inFlight }, worker))
  const wallMs = performance.now() - wallStart
  const cpu = process.cpuUsage(cpuStart)
  sample()
  // Let the last GC entries arrive before reading the total.
  await new Promise((resolve) => setTimeout(resolve, 20))
  observer.disconnect()
  const cpuMs = (cpu.user + cpu.system) / 1000
  const sorted = Array.from(latencies)
  return {
    cpuPerRequestUs: (cpuMs * 1000) / queries.length,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    heapPeakMb: heapPeak / 2 ** 20,
    rssPeakMb: rssPeak / 2 ** 20,
    gcShare: gcMs / wallMs
  }
}

interface Variant {
  readonly name: string
  /** Builds a fresh handler for one round (fresh cache), and what to release after it. */
  readonly setup: () => Promise<{ handle: (q: string) => Promise<unknown>; release: () => Promise<void> }>
}

const flowtuneVariant = (
  name: string,
  tracing: "off" | "recording" | "otel",
  workflow = flowtune
): Variant => ({
  name,
  setup: async () => {
    const cache = Cache.layerMemory({ capacity: 100_000 })
    const layer = tracing === "recording"
      ? Layer.merge(cache, Tracing.layerMemory({ maxSpans: 200_000 }))
      : tracing === "otel"
      ? Layer.merge(cache, Layer.orDie(Tracing.layerOtelMemory()))
      : cache
    const runtime = ManagedRuntime.make(layer as Layer.Layer<Cache.CacheTiers>)
    await runtime.runtime()
    return {
      handle: (q) => runtime.runPromise(Primitive.run(workflow, q)),
      release: () => runtime.dispose()
    }
  }
})

const variants: ReadonlyArray<Variant> = [
  flowtuneVariant("flowtune", "off"),
  flowtuneVariant("flowtune.recording", "recording"),
  flowtuneVariant("flowtune.otel", "otel"),
  flowtuneVariant("flowtune.effect-branches", "off", flowtuneEffectBranches),
  { name: "plain", setup: async () => ({ handle: plain(), release: async () => {} }) },
  {
    name: "langchain",
    setup: async () => {
      const chain = langchain()
      return { handle: (q) => chain.invoke(q), release: async () => {} }
    }
  },
  {
    name: "langchain.run-collector",
    setup: async () => {
      const chain = langchain()
      return {
        handle: (q) => chain.invoke(q, { callbacks: [new RunCollectorCallbackHandler()] }),
        release: async () => {}
      }
    }
  }
]

const suite: Suite = {
  name: "e2e",
  description:
    "End to end: routed, cached (51% repeats), fan-out of 3, aggregate; 0 ms model; vs async/await, LangChain.js",
  run: async (options) => {
    const requests = options.quick ? 2_000 : 10_000
    const inFlight = options.quick ? 200 : 1_000
    const rounds = options.quick ? 3 : 5
    const figures = new Map<string, Array<RoundFigures>>(variants.map((v) => [v.name, []]))
    // Warm-up: one small round of every variant, not recorded.
    for (const variant of variants) {
      const { handle, release } = await variant.setup()
      await drive(handle, workload(500, -1), 50)
      await release()
    }
    for (let round = 0; round < rounds; round++) {
      const queries = workload(requests, round)
      for (let k = 0; k < variants.length; k++) {
        const variant = variants[(k + round) % variants.length]!
        const { handle, release } = await variant.setup()
        figures.get(variant.name)!.push(await drive(handle, queries, inFlight))
        await release()
      }
    }
    const median = (name: string, field: keyof RoundFigures) => spreadOf(figures.get(name)!.map((f) => f[field])).median
    const results: Record<string, number> = {}
    const notes: Array<string> = []
    const table = [
      "| variant | CPU/request | p50 | p99 | heap peak | RSS peak | GC pauses / wall time |",
      "|---|---|---|---|---|---|---|"
    ]
    for (const { name } of variants) {
      results[name] = median(name, "cpuPerRequestUs") * 1000
      table.push(
        `| ${name} | ${median(name, "cpuPerRequestUs").toFixed(1)} us | ${median(name, "p50Ms").toFixed(1)} ms | ${
          median(name, "p99Ms").toFixed(1)
        } ms | ${median(name, "heapPeakMb").toFixed(0)} MB | ${median(name, "rssPeakMb").toFixed(0)} MB | ${
          (median(name, "gcShare") * 100).toFixed(0)
        }% |`
      )
    }
    const pairs: ReadonlyArray<readonly [string, string]> = [
      ["flowtune", "langchain"],
      ["flowtune", "plain"],
      ["flowtune.effect-branches", "langchain"],
      ["flowtune.recording", "langchain.run-collector"],
      ["flowtune.otel", "langchain.run-collector"],
      ["flowtune.recording", "flowtune"],
      ["langchain", "plain"]
    ]
    const spreads: Record<string, Spread> = {}
    for (const [a, b] of pairs) {
      const fa = figures.get(a)!
      const fb = figures.get(b)!
      spreads[`${a}/${b}`] = spreadOf(fa.map((f, i) => f.cpuPerRequestUs / fb[i]!.cpuPerRequestUs))
    }
    notes.push(
      `${requests.toLocaleString("en-US")} requests per round, ${inFlight} in flight, ${rounds} rounds, ` +
        `${Math.round(new Set(workload(requests, 0)).size / requests * 100)}% distinct queries.`,
      table.join("\n")
    )
    const parkedCount = options.quick ? 5_000 : 100_000
    const parkedTable = [
      `In flight: ${
        parkedCount.toLocaleString("en-US")
      } requests parked at the model call (child process, --expose-gc)`,
      "",
      "| variant | heap per parked request | time to start all |",
      "|---|---|---|"
    ]
    for (const which of ["effect-fiber", "flowtune", "flowtune.uncached", "plain", "langchain"]) {
      const r = parked(which, parkedCount)
      if (typeof r === "string") parkedTable.push(`| ${which} | ${r} | |`)
      else {
        results[`_parked.${which}.bytes`] = Math.round(r.bytesPerRequest)
        parkedTable.push(
          `| ${which} | ${(r.bytesPerRequest / 1024).toFixed(2)} KB | ${(r.startMs / 1000).toFixed(2)} s |`
        )
      }
    }
    notes.push(parkedTable.join("\n"))
    const model = await modelCalls(options.quick)
    for (const [name, cpu] of Object.entries(model.measured.cpu)) results[name] = cpu
    Object.assign(spreads, model.spreads)
    notes.push(
      "The simulated model alone (0 ms, 200 calls at a time, CPU per call): " +
        Object.entries(model.measured.cpu).map(([name, cpu]) => `${name} ${(cpu / 1000).toFixed(1)} us`).join(", ")
    )
    notes.push(
      "Targets (issue 16): flowtune/langchain <= 0.5, flowtune/plain <= 5; parked <= 3 KB, start 100,000 < 3 s."
    )
    return {
      results,
      ratios: Object.fromEntries(Object.entries(spreads).map(([k, s]) => [k, s.median])),
      spreads,
      notes
    }
  }
}

export default suite
