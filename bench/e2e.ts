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
 *   `Router.make`, `Cache.wrap` over `Cache.layerMemory`, `Primitive.parallel`;
 *   tracing off (Effect's default tracer, no span opened) and on
 *   (`Tracing.layerMemory`, every span kept, buffer cleared each round);
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
 * The in-flight case runs in child processes (`--expose-gc`): 20,000
 * requests (`--quick`: 5,000) parked at the model call, reporting the heap
 * held per parked request and the time to start them all; beside them the
 * floor (one bare Effect fiber parked on a Deferred) and flowtune without the
 * cache.
 */
import { InMemoryCache } from "@langchain/core/caches"
import { RunnableLambda, RunnableParallel, RunnableSequence } from "@langchain/core/runnables"
import { RunCollectorCallbackHandler } from "@langchain/core/tracers/run_collector"
import { FakeListChatModel } from "@langchain/core/utils/testing"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { spawnSync } from "node:child_process"
import { PerformanceObserver } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import * as Cache from "../src/Cache.js"
import * as Model from "../src/Model.js"
import * as Primitive from "../src/Primitive.js"
import * as Router from "../src/Router.js"
import * as Tracing from "../src/Tracing.js"
import { measureAll, pairedRatios, quantile, type Spread, spreadOf, type Suite } from "./harness.js"

// -----------------------------------------------------------------------------
// the workload

/** A fixed pseudo-random sequence (mulberry32), so every variant sees the same queries. */
const seeded = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** `count` queries, about 51% of them repeats of an earlier one; `round` keeps rounds apart. */
const workload = (count: number, round: number): Array<string> => {
  const random = seeded(42)
  const queries: Array<string> = []
  for (let i = 0; i < count; i++) {
    queries.push(
      i > 0 && random() < 0.51
        ? queries[Math.floor(random() * i)]!
        : `r${round}: what does document ${i} say about topic ${Math.floor(random() * 1000)}?`
    )
  }
  return queries
}

const answer = (q: string) => `answer to ${q}`
const summary = (a: string) => a.length
const tone = (a: string) => a.slice(0, 6)
const tags = (a: string) => a.split(" ").length
const aggregate = (r: { summary: number; tone: string; tags: number }) => `${r.summary}:${r.tone}:${r.tags}`
const pick = (q: string) => (q.length % 2 === 0 ? "small" : "large")

// -----------------------------------------------------------------------------
// the three implementations

const flowtuneWorkflow = (model: (name: string) => Primitive.Primitive<string, string>) => {
  const routed = Router.make({
    name: "route",
    routes: { small: model("small").pipe(Cache.wrap({})), large: model("large").pipe(Cache.wrap({})) },
    select: pick
  })
  const branches = Primitive.parallel({
    summary: Primitive.fromFunction("summary", summary),
    tone: Primitive.fromFunction("tone", tone),
    tags: Primitive.fromFunction("tags", tags)
  })
  return Primitive.sequence(routed, branches, Primitive.fromFunction("aggregate", aggregate))
}

const flowtune = flowtuneWorkflow((name) => Primitive.make(name, (q: string) => Effect.succeed(answer(q))))

const plain = () => {
  const cache = new Map<string, Promise<string>>()
  const model = async (q: string) => answer(q)
  const cached = (route: string, q: string) => {
    const key = `${route}\u0000${q}`
    let hit = cache.get(key)
    if (hit === undefined) {
      hit = model(q)
      cache.set(key, hit)
    }
    return hit
  }
  const branch = async <A>(f: (a: string) => A, a: string) => f(a)
  return async (q: string) => {
    const a = await cached(pick(q), q)
    const [s, t, g] = await Promise.all([branch(summary, a), branch(tone, a), branch(tags, a)])
    return aggregate({ summary: s, tone: t, tags: g })
  }
}

const langchain = () => {
  const cache = new InMemoryCache()
  const model = (route: string) =>
    RunnableLambda.from(async (q: string) => {
      const hit = await cache.lookup(q, route)
      if (hit !== null) return hit[0]!.text
      const text = answer(q)
      await cache.update(q, route, [{ text }])
      return text
    }).withConfig({ runName: route })
  const small = model("small")
  const large = model("large")
  // LangChain's routing idiom: a lambda that returns the runnable to invoke.
  const route = RunnableLambda.from((q: string) => (pick(q) === "small" ? small : large)).withConfig({
    runName: "route"
  })
  const branches = RunnableParallel.from({
    summary: RunnableLambda.from(summary),
    tone: RunnableLambda.from(tone),
    tags: RunnableLambda.from(tags)
  })
  return RunnableSequence.from([route, branches, RunnableLambda.from(aggregate)])
}

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

const flowtuneVariant = (name: string, tracing: boolean): Variant => ({
  name,
  setup: async () => {
    const layer = tracing
      ? Layer.merge(Cache.layerMemory({ capacity: 100_000 }), Tracing.layerMemory({ maxSpans: 200_000 }))
      : Cache.layerMemory({ capacity: 100_000 })
    const runtime = ManagedRuntime.make(layer as Layer.Layer<Cache.CacheTiers>)
    await runtime.runtime()
    return {
      handle: (q) => runtime.runPromise(Primitive.run(flowtune, q)),
      release: () => runtime.dispose()
    }
  }
})

const variants: ReadonlyArray<Variant> = [
  flowtuneVariant("flowtune", false),
  flowtuneVariant("flowtune.recording", true),
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

// -----------------------------------------------------------------------------
// the in-flight memory case (child process)

const PARKED_CHILD = "FLOWTUNE_E2E_PARKED"

const parkedChild = async (which: string, count: number) => {
  const gc = (globalThis as { gc?: () => void }).gc!
  const settle = () => {
    for (let i = 0; i < 4; i++) gc()
    return process.memoryUsage().heapUsed
  }
  const queries = Array.from({ length: count }, (_, i) => `parked question ${i}`)
  let keep: unknown
  let release: () => void = () => {}
  const before = settle()
  const start = performance.now()
  if (which === "effect-fiber") {
    // The floor: one Effect fiber parked on a Deferred, nothing else.
    const gate = Effect.runSync(Deferred.make<void>())
    keep = queries.map(() => Effect.runFork(Deferred.await(gate)))
    release = () => Effect.runSync(Deferred.succeed(gate, undefined))
  } else if (which === "flowtune" || which === "flowtune.uncached") {
    const gate = Effect.runSync(Deferred.make<void>())
    const model = (name: string) => Primitive.make(name, (q: string) => Effect.as(Deferred.await(gate), answer(q)))
    const workflow = which === "flowtune"
      ? flowtuneWorkflow(model)
      : Primitive.sequence(
        Router.make({ name: "route", routes: { small: model("small"), large: model("large") }, select: pick }),
        Primitive.parallel({
          summary: Primitive.fromFunction("summary", summary),
          tone: Primitive.fromFunction("tone", tone),
          tags: Primitive.fromFunction("tags", tags)
        }),
        Primitive.fromFunction("aggregate", aggregate)
      )
    const runtime = ManagedRuntime.make(Cache.layerMemory({ capacity: count * 2 }))
    await runtime.runtime()
    keep = queries.map((q) => runtime.runFork(Primitive.run(workflow, q)))
    release = () => Effect.runSync(Deferred.succeed(gate, undefined))
  } else if (which === "plain") {
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    const cache = new Map<string, Promise<string>>()
    const handle = async (q: string) => {
      const key = `${pick(q)}\u0000${q}`
      let hit = cache.get(key)
      if (hit === undefined) {
        hit = gate.then(() => answer(q))
        cache.set(key, hit)
      }
      const a = await hit
      const [s, t, g] = await Promise.all([summary(a), tone(a), tags(a)].map((x) => Promise.resolve(x)))
      return aggregate({ summary: s as number, tone: t as string, tags: g as number })
    }
    keep = queries.map(handle)
    release = () => open()
  } else {
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    const model = RunnableLambda.from(async (q: string) => {
      await gate
      return answer(q)
    })
    const chain = RunnableSequence.from([
      RunnableLambda.from((q: string) => model.invoke(q)),
      RunnableParallel.from({
        summary: RunnableLambda.from(summary),
        tone: RunnableLambda.from(tone),
        tags: RunnableLambda.from(tags)
      }),
      RunnableLambda.from(aggregate)
    ])
    keep = queries.map((q) => chain.invoke(q))
    release = () => open()
  }
  // Started: every request has reached the model and is waiting on the gate.
  await new Promise((resolve) => setImmediate(resolve))
  await new Promise((resolve) => setTimeout(resolve, 50))
  const startMs = performance.now() - start - 50
  const after = settle()
  process.stdout.write(JSON.stringify({
    bytesPerRequest: (after - before) / count,
    startMs,
    kept: keep !== undefined
  }))
  release()
  process.exit(0)
}

if (process.env[PARKED_CHILD]) {
  const [which, count] = process.env[PARKED_CHILD]!.split(":")
  await parkedChild(which!, Number(count))
}

const parked = (which: string, count: number): { bytesPerRequest: number; startMs: number } | string => {
  const child = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", fileURLToPath(import.meta.url)], {
    env: { ...process.env, [PARKED_CHILD]: `${which}:${count}` },
    encoding: "utf8",
    timeout: 180_000,
    maxBuffer: 1 << 20
  })
  try {
    return JSON.parse(child.stdout)
  } catch {
    return `failed (${child.status ?? child.signal}): ${child.stderr.slice(0, 200)}`
  }
}

// -----------------------------------------------------------------------------

// -----------------------------------------------------------------------------
// the simulated model alone
//
// One model call at 0 ms, 200 at a time, each through its own entry:
// `Model.simulated` through `Primitive.run`; `Model.generate` over
// `Model.layerSimulated`, the same simulated provider as a stock @effect/ai
// `LanguageModel.make` service (what `Model.simulated` ran before it kept its
// own parts decoder); LangChain's `FakeListChatModel.invoke`. Paired rounds
// (bench/harness.ts).

const modelCalls = async (quick: boolean) => {
  const C = 200
  const queries = Array.from({ length: C }, (_, i) => `what does document ${i} say about topic ${i % 97}?`)
  const profile = { name: "bench-zero", latency: 0, costPerCall: 0.001 }
  const simulated = Model.simulated(profile)
  const generate = Model.generate({ name: "bench-zero" })
  // the stock service, built once: `Model.layerSimulated` is @effect/ai's `LanguageModel.make`
  const stock = await Effect.runPromise(Effect.scoped(Layer.build(Model.layerSimulated(profile))))
  const viaStock = (q: string) => Effect.provide(Primitive.run(generate, q), stock)
  const fake = new FakeListChatModel({ responses: ["bench-zero: an answer"] })
  const measured = await measureAll([
    {
      name: "model.simulated",
      ops: C,
      run: () => Promise.all(queries.map((q) => Effect.runPromise(Primitive.run(simulated, q))))
    },
    {
      name: "model.stock-ai-service",
      ops: C,
      run: () => Promise.all(queries.map((q) => Effect.runPromise(viaStock(q))))
    },
    { name: "model.langchain-fake", ops: C, run: () => Promise.all(queries.map((q) => fake.invoke(q))) }
  ], quick ? { rounds: 3, timePerRoundMs: 150, warmupMs: 100 } : { rounds: 7, timePerRoundMs: 300, warmupMs: 300 })
  return {
    measured,
    ...pairedRatios(measured, [
      ["model.simulated", "model.stock-ai-service"],
      ["model.simulated", "model.langchain-fake"]
    ])
  }
}

const suite: Suite = {
  name: "e2e",
  description:
    "End to end: routed, cached (51% repeats), fan-out of 3, aggregate; 0 ms model; vs async/await, LangChain.js",
  run: async (options) => {
    const requests = options.quick ? 2_000 : 10_000
    const inFlight = options.quick ? 200 : 1_000
    // Two rounds, not more: on the shared 2-core machine a round of all five
    // variants takes minutes (figures are paired per round all the same).
    const rounds = 2
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
      ["flowtune.recording", "langchain.run-collector"],
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
    // 20,000 rather than the 100,000: on the shared 2-core machine the
    // cached flowtune variant needs minutes for 100,000 (see BENCHMARKS.md).
    const parkedCount = options.quick ? 5_000 : 20_000
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
