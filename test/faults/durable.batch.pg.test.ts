// DurableBatch across real processes on the shared PostgreSQL: two runner processes (started here,
// killed by pid) host one batch key and both send items to it. The backend runs in whichever runner
// owns the key's shard; its batches must mix items of both processes, and every caller must get its
// own answer. Tables use this test's own prefix and are dropped afterwards.
import { afterAll, describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "../support/cacheRedisServer.js"
import { dropPrefixedTables, psql as runPsql } from "../support/services.js"

const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const prefix = `flowtune_b${process.pid}`
const dir = mkdtempSync(join(tmpdir(), "flowtune-durable-batch-"))
const log = join(dir, "batches.log")
const go = join(dir, "go")
const items = 24
const script = join(import.meta.dirname, "..", "support", "durableBatchRunner.ts")
const children = new Set<ChildProcess>()

const psql = (sql: string) => runPsql(databaseUrl, sql)

const startRunner = async (name: string) => {
  const port = await freePort()
  const results = join(dir, `${name}.json`)
  const child = spawn(process.execPath, ["--conditions=@flowtune/source", "--import", "tsx", script], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      BATCH_PREFIX: prefix,
      BATCH_PORT: String(port),
      BATCH_LOG: log,
      BATCH_GO: go,
      BATCH_ITEMS: String(items),
      BATCH_RESULTS: results
    },
    stdio: ["ignore", "ignore", "pipe"]
  })
  let stderr = ""
  child.stderr!.on("data", (chunk) => (stderr += chunk))
  children.add(child)
  child.on("exit", () => children.delete(child))
  return { child, port, results, stderr: () => stderr }
}

const kill = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGKILL")
  })

const waitFor = async (what: string, ok: () => boolean, ms: number, details: () => string) => {
  const deadline = Date.now() + ms
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${details()}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

afterAll(async () => {
  await Promise.all([...children].map(kill))
  dropPrefixedTables(databaseUrl, prefix)
  rmSync(dir, { recursive: true, force: true })
})

describe("DurableBatch on PostgreSQL, real runner processes", () => {
  it("items sent from two processes share batches, and each caller gets its own answer", async () => {
    const healthy = (n: number) => () => {
      try {
        return psql(`select count(*) from ${prefix}_runners where healthy`) === String(n)
      } catch {
        return false // the table does not exist yet
      }
    }
    // one after the other: the first runner creates the cluster's tables (two at once can collide)
    const a = await startRunner("a")
    await waitFor("runner a to register", healthy(1), 90_000, () => `runner a stderr:\n${a.stderr()}`)
    const b = await startRunner("b")
    const details = () => `runner a stderr:\n${a.stderr()}\nrunner b stderr:\n${b.stderr()}`
    await waitFor("both runners to register", healthy(2), 90_000, details)
    // each runner refreshes its shard assignments every 3 s: give both a refresh or two
    await new Promise((r) => setTimeout(r, 7_000))
    writeFileSync(go, "")
    await waitFor("both runners' answers", () => existsSync(a.results) && existsSync(b.results), 60_000, details)

    const pids = [a.child.pid!, b.child.pid!]
    for (const [runner, pid] of [[a, pids[0]], [b, pids[1]]] as const) {
      const answers: Record<string, string> = JSON.parse(readFileSync(runner.results, "utf8"))
      const expected = Object.fromEntries(Array.from({ length: items }, (_, n) => [`${pid}:${n}`, `${pid}:${n}:ok`]))
      expect(answers).toEqual({ ...expected, [`bad${pid}`]: `Refused bad${pid}` })
    }

    const batches: Array<{ host: number; items: Array<string> }> = readFileSync(log, "utf8").trim().split("\n").map((
      line
    ) => JSON.parse(line))
    const origin = (item: string) => Number(item.replace(/^bad/, "").split(":")[0])
    // one key, one entity: every batch ran in the one runner that owns its shard
    const shown = batches.map((batch) => `host ${batch.host}: ${batch.items.join(" ")}`).join("\n")
    expect(new Set(batches.map((batch) => batch.host)).size, shown).toBe(1)
    expect(pids).toContain(batches[0]!.host)
    // every item reached the backend exactly once
    const seen = batches.flatMap((batch) => batch.items).sort()
    expect(seen).toEqual(
      pids.flatMap((pid) => [...Array.from({ length: items }, (_, n) => `${pid}:${n}`), `bad${pid}`]).sort()
    )
    const mixed = batches.filter((batch) => new Set(batch.items.map(origin)).size === 2)
    console.log(
      `${batches.length} batches, ${mixed.length} with items of both processes: ${
        batches.map((batch) => batch.items.length).join(", ")
      } items`
    )
    expect(mixed.length).toBeGreaterThan(0)
    expect(batches.length).toBeLessThan(2 * (items + 1))
  }, 200_000)
})
