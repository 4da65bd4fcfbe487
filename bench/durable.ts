/**
 * `npm run bench -- durable`: what durable mode costs per activity.
 *
 * 1. In memory, CPU: a workflow of 10 activities through `Durable.workflow(...).run` against the same
 *    10 steps as a plain `Primitive.run`, both with one `runPromise` per workflow on one runtime
 *    (the same entry point and loop shape). Each durable run is a new execution (a new idempotency key).
 * 2. On PostgreSQL (when DATABASE_URL is set), wall time: one runner in this process, workflows of 10
 *    activities run one after another; milliseconds per activity and the bytes the engine stored per activity.
 *    Against a model call of 1 s this is the share durable mode adds.
 * 3. On PostgreSQL, throughput: 1 then 2 runner processes (children of this one, killed by pid at the end;
 *    test/support/durableRunner.ts, advisory locks off, poll 20 ms), each on its own table prefix, measured once
 *    the 300 shards are locked by every runner; a client in
 *    this process starts N workflows of 3 activities (steps of 0 ms, so the engine is the cost) at once and
 *    the clock stops when the last one's result is stored. Workflows per second = N / that time.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as Durable from "../src/Durable.js"
import * as DurablePg from "../src/Durable/Pg.js"
import * as Primitive from "../src/Primitive.js"
import { freePort } from "../test/support/cacheRedisServer.js"
import { threeSteps } from "../test/support/durableWorkflow.js"
import { dropPrefixedTables, psql as runPsql } from "../test/support/services.js"
import { measureAll, pairedRatios, repoFile, type Suite } from "./harness.js"

const steps = 10
const step = (i: number) => Primitive.make(`step${i}`, (s: string) => Effect.succeed(`${s}.${i}`))
const plain = Primitive.sequence(
  step(0),
  step(1),
  step(2),
  step(3),
  step(4),
  step(5),
  step(6),
  step(7),
  step(8),
  step(9)
)
const durably = (i: number) => Durable.activity(step(i), { success: Schema.String })
const durableBody = Primitive.sequence(
  durably(0),
  durably(1),
  durably(2),
  durably(3),
  durably(4),
  durably(5),
  durably(6),
  durably(7),
  durably(8),
  durably(9)
)
const workflow = (name: string) =>
  Durable.workflow(durableBody, {
    name,
    payload: Schema.String,
    success: Schema.String,
    error: Schema.instanceOf(Durable.UnkeyableInput),
    idempotencyKey: (s) => s
  })

const onPostgres = async (url: string, workflows: number) => {
  const prefix = `flowtune_bench${process.pid}`
  const psql = (sql: string) => runPsql(url, sql)
  const wf = workflow("bench-pg")
  const port = await freePort()
  const runtime = ManagedRuntime.make(
    wf.layer.pipe(
      Layer.provideMerge(
        DurablePg.layer({ url, prefix, runner: { host: "127.0.0.1", port }, pollInterval: "20 millis" })
      )
    )
  )
  try {
    await runtime.runPromise(wf.run("warm-up"))
    const start = performance.now()
    for (let i = 0; i < workflows; i++) await runtime.runPromise(wf.run(`w${i}`))
    const msPerActivity = (performance.now() - start) / (workflows * steps)
    const bytes = Number(psql(
      `select coalesce(sum(pg_total_relation_size(quote_ident(tablename))), 0) from pg_tables where tablename like '${prefix}\\_%'`
    ))
    return { msPerActivity, bytesPerActivity: bytes / ((workflows + 1) * steps) }
  } finally {
    await runtime.dispose()
    dropPrefixedTables(url, prefix)
  }
}

const runnerScript = repoFile("test/support/durableRunner.ts")

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Workflows per second with `runners` runner processes on a fresh prefix. */
const throughput = async (url: string, runners: number, workflows: number) => {
  const prefix = `flowtune_bench${process.pid}_${runners}r`
  const psql = (sql: string) => runPsql(url, sql)
  const children: Array<ChildProcess> = []
  const client = ManagedRuntime.make(DurablePg.layer({ url, prefix, pollInterval: "20 millis" }))
  const deadline = (ms: number, what: string) => {
    const end = Date.now() + ms
    return () => {
      if (Date.now() > end) throw new Error(`durable bench: timed out waiting for ${what}`)
    }
  }
  try {
    for (let i = 0; i < runners; i++) {
      const child = spawn(process.execPath, ["--conditions=@flowtune/source", "--import", "tsx", runnerScript], {
        env: {
          ...process.env,
          DATABASE_URL: url,
          DURABLE_PREFIX: prefix,
          DURABLE_PORT: String(await freePort()),
          DURABLE_POLL_MS: "20",
          STEP_MS: "0"
        },
        stdio: ["ignore", "ignore", "inherit"]
      })
      children.push(child)
    }
    // Every shard (300) locked, by as many runners as were started, twice in a row 1 s apart: the split settled.
    const settled = deadline(180_000, `${runners} runners to share the shards`)
    const owners = () => {
      try {
        return execFileSync("psql", [url, "-qAtc", `select count(distinct address), count(*) from ${prefix}_locks`], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "ignore"]
        }).trim()
      } catch {
        return "" // the tables are not there yet
      }
    }
    for (let last = "";;) {
      settled()
      const now = owners()
      if (now === `${runners}|300` && now === last) break
      last = now
      await sleep(1_000)
    }
    await client.runPromise(threeSteps.run("warm-up"))
    const done = () =>
      Number(psql(
        `select count(*) from ${prefix}_replies r join ${prefix}_messages m on r.request_id = m.id
          where m.tag = 'run' and m.entity_type = 'Workflow/${threeSteps.name}' and r.kind = 0
          and r.payload::jsonb #>> '{value,_tag}' = 'Complete'`
      ))
    const start = performance.now()
    await Promise.all(Array.from({ length: workflows }, (_, i) => client.runPromise(threeSteps.start(`t${i}`))))
    const finished = deadline(300_000, `${workflows} workflows to complete`)
    while (done() < workflows + 1) {
      finished()
      await sleep(50)
    }
    return workflows / ((performance.now() - start) / 1000)
  } finally {
    for (const child of children) child.kill("SIGKILL")
    await client.dispose()
    dropPrefixedTables(url, prefix)
  }
}

const suite: Suite = {
  name: "durable",
  description: "Durable mode: per-activity overhead in memory (CPU) and on PostgreSQL (wall), against plain primitives",
  run: async ({ quick }) => {
    const wf = workflow("bench-memory")
    const runtime = ManagedRuntime.make(wf.layer.pipe(Layer.provideMerge(Durable.layerMemory)))
    let n = 0
    const measured = await measureAll([
      { name: "plain (Primitive.run, 10 steps)", ops: steps, run: () => runtime.runPromise(Primitive.run(plain, "x")) },
      { name: "durable in memory (10 activities)", ops: steps, run: () => runtime.runPromise(wf.run(`k${n++}`)) }
    ], quick ? { rounds: 3, timePerRoundMs: 100, warmupMs: 50 } : { rounds: 7, timePerRoundMs: 300, warmupMs: 300 })
    await runtime.dispose()
    const { ratios, spreads } = pairedRatios(measured, [[
      "durable in memory (10 activities)",
      "plain (Primitive.run, 10 steps)"
    ]])
    const memoryOverheadUs = (measured.cpu["durable in memory (10 activities)"]! -
      measured.cpu["plain (Primitive.run, 10 steps)"]!) / 1000
    const results: Record<string, number> = { ...measured.cpu }
    const notes = [
      `in memory: ${memoryOverheadUs.toFixed(1)} us of CPU added per activity (${
        (memoryOverheadUs / 10_000).toFixed(4)
      }% of a 1 s model call)`
    ]
    const url = process.env.DATABASE_URL
    if (url) {
      const pg = await onPostgres(url, quick ? 3 : 10)
      results["postgres: ms per activity (wall)"] = pg.msPerActivity * 1e6
      notes.push(
        `on PostgreSQL: ${pg.msPerActivity.toFixed(1)} ms per activity (wall, one runner, poll 20 ms) = ${
          (pg.msPerActivity / 10).toFixed(2)
        }% of a 1 s model call; ${Math.round(pg.bytesPerActivity)} bytes stored per activity (tables and indexes)`
      )
      const n = quick ? 20 : 60
      const one = await throughput(url, 1, n)
      const two = await throughput(url, 2, n)
      notes.push(
        `on PostgreSQL, ${n} workflows of 3 activities started at once: ${one.toFixed(1)} workflows/s with 1 runner ` +
          `process, ${two.toFixed(1)} with 2 (x${(two / one).toFixed(2)})`
      )
    } else notes.push("on PostgreSQL: not measured (set DATABASE_URL)")
    return { results, wall: measured.wall, ratios, spreads, notes }
  }
}

export default suite
