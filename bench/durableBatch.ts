/**
 * `npm run bench -- durableBatch`: what hosting a batch key in the cluster costs per item.
 *
 * 1. CPU, one process: 100 concurrent callers through an in-process `Batch.make` against the same
 *    callers through `DurableBatch` on the cluster's in-memory runner (`TestRunner`): the cluster's
 *    per-item machinery (envelope, entity mailbox, reply) without a network.
 * 2. With DATABASE_URL, across processes: one runner process (test/support/durableBatchRunner.ts)
 *    hosts the batch; this process is a cluster client. One caller at a time gives the hop (the
 *    round trip to the runner holding the batch, window 0); 100 concurrent callers give the caller's
 *    CPU and wall per item, and the runner's CPU per item (from /proc). Against an in-process batch.
 */
import * as TestRunner from "@effect/cluster/TestRunner"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import * as Batch from "../src/Batch.js"
import * as Primitive from "../src/Primitive.js"
import { freePort } from "../test/support/cacheRedisServer.js"
import { shardingPg, tagBatch } from "../test/support/durableBatchRunner.js"
import { dropPrefixedTables } from "../test/support/services.js"
import { measureAll, pairedRatios, repoFile, type Suite } from "./harness.js"

const callers = 100
const items = Array.from({ length: callers }, (_, i) => `1:${i}`)
const wave = <R>(primitive: Primitive.Primitive<string, string, unknown, R>) =>
  Effect.forEach(items, (item) => Primitive.run(primitive, item), { concurrency: "unbounded", discard: true })

const inProcess = Batch.make({
  name: "tags",
  run: (xs: ReadonlyArray<string>) => Effect.succeed(xs.map((x) => `${x}:ok`)),
  maxBatchSize: callers,
  window: 0
})

const runnerScript = repoFile("test/support/durableBatchRunner.ts")
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
/** CPU nanoseconds a process has used so far (utime + stime from /proc, in clock ticks of 10 ms). */
const processCpuNs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return (Number(fields[11]) + Number(fields[12])) * 1e7
}

const acrossProcesses = async (url: string, quick: boolean) => {
  const prefix = `flowtune_benchb${process.pid}`
  let child: ChildProcess | undefined
  const batch = tagBatch({ windowMs: 0, maxBatchSize: callers })
  const client = ManagedRuntime.make(shardingPg({ url, prefix }))
  const local = ManagedRuntime.make(Layer.empty)
  try {
    child = spawn(process.execPath, ["--conditions=@flowtune/source", "--import", "tsx", runnerScript], {
      env: {
        ...process.env,
        DATABASE_URL: url,
        BATCH_PREFIX: prefix,
        BATCH_PORT: String(await freePort()),
        BATCH_WINDOW_MS: "0",
        BATCH_MAX: String(callers)
      },
      stdio: ["ignore", "ignore", "inherit"]
    })
    // the first answer: the runner is up, owns its shards, and this client knows where they are
    const end = Date.now() + 120_000
    for (;;) {
      const ok = await client.runPromise(
        Effect.timeout(Primitive.run(batch.primitive, "1:warm"), "2 seconds").pipe(Effect.isSuccess)
      )
      if (ok) break
      if (Date.now() > end) throw new Error("durableBatch bench: the runner never answered")
      await sleep(500)
    }
    const settings = quick
      ? { rounds: 3, timePerRoundMs: 300, warmupMs: 200 }
      : { rounds: 7, timePerRoundMs: 1000, warmupMs: 500 }
    const measured = await measureAll([
      {
        name: "in process, 1 caller",
        run: () => local.runPromise(Effect.scoped(Effect.flatMap(inProcess, (p) => Primitive.run(p, "1:0"))))
      },
      { name: "across processes, 1 caller", run: () => client.runPromise(Primitive.run(batch.primitive, "1:0")) },
      {
        name: "in process, 100 callers",
        ops: callers,
        run: () => local.runPromise(Effect.scoped(Effect.flatMap(inProcess, wave)))
      },
      { name: "across processes, 100 callers", ops: callers, run: () => client.runPromise(wave(batch.primitive)) }
    ], settings)
    const waves = quick ? 5 : 20
    const before = processCpuNs(child.pid!)
    for (let i = 0; i < waves; i++) await client.runPromise(wave(batch.primitive))
    const runnerCpuPerItem = (processCpuNs(child.pid!) - before) / (waves * callers)
    return { measured, runnerCpuPerItem }
  } finally {
    child?.kill("SIGKILL")
    await client.dispose()
    await local.dispose()
    dropPrefixedTables(url, prefix)
  }
}

const suite: Suite = {
  name: "durableBatch",
  description: "DurableBatch: per-item cost of a batch hosted by the cluster, against an in-process Batch",
  run: async ({ quick }) => {
    const hosted = tagBatch({ windowMs: 0, maxBatchSize: callers })
    const memory = ManagedRuntime.make(hosted.layer.pipe(Layer.provideMerge(TestRunner.layer)))
    const local = ManagedRuntime.make(Layer.empty)
    await memory.runPromise(wave(hosted.primitive))
    const measured = await measureAll([
      {
        name: "Batch in process (100 callers)",
        ops: callers,
        run: () => local.runPromise(Effect.scoped(Effect.flatMap(inProcess, wave)))
      },
      {
        name: "DurableBatch, in-memory cluster (100 callers)",
        ops: callers,
        run: () => memory.runPromise(wave(hosted.primitive))
      }
    ], quick ? { rounds: 3, timePerRoundMs: 200, warmupMs: 100 } : { rounds: 7, timePerRoundMs: 500, warmupMs: 300 })
    await memory.dispose()
    await local.dispose()
    const { ratios, spreads } = pairedRatios(measured, [[
      "DurableBatch, in-memory cluster (100 callers)",
      "Batch in process (100 callers)"
    ]])
    const results: Record<string, number> = { ...measured.cpu }
    const wall: Record<string, number> = { ...measured.wall }
    const notes: Array<string> = []
    const url = process.env.DATABASE_URL
    if (url) {
      const across = await acrossProcesses(url, quick)
      for (const [name, ns] of Object.entries(across.measured.cpu)) results[`pg: ${name}`] = ns
      for (const [name, ns] of Object.entries(across.measured.wall)) wall[`pg: ${name}`] = ns
      results["pg: runner CPU per item (100 callers)"] = across.runnerCpuPerItem
      const w = across.measured.wall
      const hop = (w["across processes, 1 caller"]! - w["in process, 1 caller"]!) / 1e6
      notes.push(
        `the hop (one item, window 0, wall): ${hop.toFixed(2)} ms more than in process`,
        `100 concurrent callers: ${
          (w["across processes, 100 callers"]! / 1e3).toFixed(1)
        } us wall per item across processes, ${
          (w["in process, 100 callers"]! / 1e3).toFixed(1)
        } in process; caller CPU ${
          (across.measured.cpu["across processes, 100 callers"]! / 1e3).toFixed(1)
        } us + runner CPU ${(across.runnerCpuPerItem / 1e3).toFixed(1)} us per item`
      )
    } else notes.push("across processes: not measured (set DATABASE_URL)")
    return { results, wall, ratios, spreads, notes }
  }
}

export default suite
