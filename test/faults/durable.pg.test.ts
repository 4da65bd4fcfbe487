// Durable workflows across real processes on the shared PostgreSQL: runners are child
// processes this test starts and kills by pid; every table it creates has its own prefix
// and is dropped afterwards.
import { afterAll, afterEach, describe, expect, it } from "@effect/vitest"
import * as DurableDeferred from "@effect/workflow/DurableDeferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Metric from "effect/Metric"
import * as Schema from "effect/Schema"
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Durable from "../../src/Durable.js"
import * as DurablePg from "../../src/Durable/Pg.js"
import { deletedTotal } from "../../src/internal/durableRetention.js"
import * as Primitive from "../../src/Primitive.js"
import { freePort } from "../support/cacheRedisServer.js"
import { approval, approved, threeSteps } from "../support/durableWorkflow.js"
import { dropPrefixedTables, psql as runPsql } from "../support/services.js"

const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const prefix = `flowtune_t${process.pid}`
const dir = mkdtempSync(join(tmpdir(), "flowtune-durable-"))
const log = join(dir, "steps.log")
const runner = join(import.meta.dirname, "..", "support", "durableRunner.ts")
const children = new Set<ChildProcess>()
const ports = new Map<ChildProcess, number>()

const startRunner = async () => {
  const port = await freePort()
  const child = spawn(process.execPath, ["--conditions=@flowtune/source", "--import", "tsx", runner], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      DURABLE_PREFIX: prefix,
      DURABLE_PORT: String(port),
      DURABLE_LOG: log,
      STEP_MS: "800"
    },
    stdio: ["ignore", "ignore", "pipe"]
  })
  children.add(child)
  ports.set(child, port)
  child.on("exit", () => children.delete(child))
  return child
}

const kill = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGKILL")
  })

const lines = () => existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : []

const waitFor = async (what: string, ok: () => boolean, ms: number) => {
  const deadline = Date.now() + ms
  while (!ok()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}; log:\n${lines().join("\n")}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}

const waitForAsync = async (what: string, ok: () => Promise<boolean>, ms: number) => {
  const deadline = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}; log:\n${lines().join("\n")}`)
    }
    await new Promise((r) => setTimeout(r, 200))
  }
}

const psql = (sql: string) => runPsql(databaseUrl, sql)

const client = ManagedRuntime.make(DurablePg.layer({ url: databaseUrl, prefix, pollInterval: "100 millis" }))

afterEach(async () => {
  await Promise.all([...children].map(kill))
  rmSync(log, { force: true })
})

afterAll(async () => {
  await client.dispose()
  dropPrefixedTables(databaseUrl, prefix)
  rmSync(dir, { recursive: true, force: true })
})

const pollAll = async (ids: ReadonlyArray<string>, ms: number, workflow: typeof threeSteps = threeSteps) => {
  const deadline = Date.now() + ms
  const done = new Map<string, string>()
  while (done.size < ids.length) {
    if (Date.now() > deadline) {
      throw new Error(`${done.size}/${ids.length} complete after ${ms} ms; log:\n${lines().join("\n")}`)
    }
    for (const id of ids) {
      if (done.has(id)) continue
      const status = await client.runPromise(workflow.poll(id))
      if (status._tag === "Complete") {
        if (status.exit._tag !== "Success") throw new Error(`execution ${id} failed: ${JSON.stringify(status.exit)}`)
        done.set(id, status.exit.value)
      }
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  return done
}

describe("Durable on PostgreSQL, real runner processes", () => {
  it(
    "a runner SIGKILLed after step 1 of 3 is restarted: step 1 is not run again and the workflow completes",
    async () => {
      const first = await startRunner()
      const id = await client.runPromise(threeSteps.start("crash"))
      await waitFor("step 2 to start", () => lines().some((l) => l.includes("start 2")), 60_000)
      await kill(first)
      const killedAt = Date.now()
      await startRunner()
      const done = await pollAll([id], 60_000)
      expect(done.get(id)).toBe("crash+1+2+3")
      const starts = lines()
      expect(starts.filter((l) => l.includes("start 1"))).toHaveLength(1)
      expect(starts.filter((l) => l.includes("start 3"))).toHaveLength(1)
      console.log(`recovered in ${Date.now() - killedAt} ms after the kill`)
    },
    150_000
  )

  it("two runners share the work; when one is killed the other finishes every execution", async () => {
    const [a, b] = [await startRunner(), await startRunner()]
    // Shards are split once both runners are registered and each has refreshed its assignments
    // (a few seconds): before that the first runner holds every shard.
    const registered = () =>
      psql(
        `select count(*) from ${prefix}_runners where healthy and (address like '%:${
          ports.get(a)
        }' or address like '%:${ports.get(b)}')`
      ).trim()
    await waitFor("both runners to register", () => registered() === "2", 90_000)
    await new Promise((r) => setTimeout(r, 7_000))
    const ids = await Promise.all(
      Array.from({ length: 12 }, (_, i) => client.runPromise(threeSteps.start(`job${i}`)))
    )
    await waitFor("both runners to take work", () => {
      const pids = new Set(lines().map((l) => l.split(" ").at(-1)))
      return pids.has(String(a.pid)) && pids.has(String(b.pid))
    }, 60_000)
    await kill(a)
    const done = await pollAll(ids, 90_000)
    expect([...done.values()].sort()).toEqual(ids.map((_, i) => `job${i}+1+2+3`).sort())
    // Every execution ran step 3 exactly once (step 1 and 2 may re-run when their runner died mid-step).
    for (let i = 0; i < 12; i++) {
      expect(lines().filter((l) => l.startsWith(`job${i}+1+2 start 3`)).length).toBeLessThanOrEqual(2)
    }
  }, 200_000)
})

describe("Durable on PostgreSQL, signals and retention", () => {
  it(
    "a signal sent after the waiting runner was SIGKILLed and replaced reaches the workflow",
    async () => {
      const first = await startRunner()
      const id = await client.runPromise(approval.start("signal"))
      await waitFor("the draft step", () => lines().some((l) => l.startsWith("signal draft")), 60_000)
      await waitForAsync(
        "the execution to suspend",
        async () => (await client.runPromise(approval.poll(id)))._tag === "Suspended",
        30_000
      )
      await kill(first)
      const killedAt = Date.now()
      await startRunner()
      const token = DurableDeferred.tokenFromExecutionId(approved, { workflow: approval.definition, executionId: id })
      await client.runPromise(DurableDeferred.succeed(approved, { token, value: true }))
      const done = await pollAll([id], 60_000, approval)
      expect(done.get(id)).toBe("signal+draft+publish")
      expect(lines().filter((l) => l.startsWith("signal draft"))).toHaveLength(1)
      expect(lines().filter((l) => l.startsWith("signal+draft publish"))).toHaveLength(1)
      console.log(`signal delivered across a restart: complete ${Date.now() - killedAt} ms after the kill`)
    },
    150_000
  )

  it(
    "retention removes executions completed more than completedAfter ago; running and suspended ones stay",
    async () => {
      // A runner in this process with its own prefix, sweeping every 300 ms for executions
      // completed more than 6 s ago.
      const own = `${prefix}_ret`
      process.env.DURABLE_LOG = log
      let release = () => {}
      const gate = new Promise<void>((resolve) => release = resolve)
      const held = Durable.workflow(
        Primitive.make("hold", (s: string) => Effect.as(Effect.promise(() => gate), s)).pipe(
          Durable.activity({ success: Schema.String })
        ),
        {
          name: "held",
          payload: Schema.String,
          success: Schema.String,
          error: Schema.instanceOf(Durable.UnkeyableInput),
          idempotencyKey: (s) => s
        }
      )
      const engine = DurablePg.layer({
        url: databaseUrl,
        prefix: own,
        runner: { host: "127.0.0.1", port: await freePort() },
        advisoryLocks: false,
        pollInterval: "100 millis",
        retention: { completedAfter: "6 seconds", every: "300 millis" }
      })
      const rt = ManagedRuntime.make(
        Layer.mergeAll(threeSteps.layer, approval.layer, held.layer).pipe(Layer.provideMerge(engine))
      )
      const requestIds = (executionId: string) =>
        psql(`select id from ${own}_messages where entity_id = '${executionId}'`).split("\n").filter(Boolean)
      const rowsOf = (ids: ReadonlyArray<string>) =>
        Number(psql(
          `select (select count(*) from ${own}_messages where id in (${ids.join(",")}))
            + (select count(*) from ${own}_replies where request_id in (${ids.join(",")}))`
        ))
      const deleted = () =>
        rt.runPromise(Metric.value(Metric.tagged(deletedTotal, "kind", "executions"))).then((s) => s.count)
      try {
        const before = await deleted()
        const oldId = await rt.runPromise(threeSteps.executionId("old"))
        expect(await rt.runPromise(threeSteps.run("old"))).toBe("old+1+2+3")
        const oldDone = Date.now()
        const oldRows = requestIds(oldId)
        // The run and three activities, and their replies.
        expect(oldRows.length).toBeGreaterThanOrEqual(4)
        expect(rowsOf(oldRows)).toBeGreaterThanOrEqual(8)
        const pendingId = await rt.runPromise(approval.start("pending"))
        const heldId = await rt.runPromise(held.start("held"))
        await waitForAsync(
          "the approval to suspend",
          async () => (await rt.runPromise(approval.poll(pendingId)))._tag === "Suspended",
          30_000
        )

        await waitFor("the old execution's rows to go", () => rowsOf(oldRows) === 0, 40_000)
        // Not before completedAfter (6 s after its reply was written, which is before `oldDone`).
        expect(Date.now() - oldDone).toBeGreaterThanOrEqual(4_000)
        // Counted (the sweep counts once its statement has returned to this process).
        await waitForAsync("the deletion to be counted", async () => (await deleted()) >= before + 1, 5_000)

        // A recent completion stays through several sweeps.
        const recentId = await rt.runPromise(threeSteps.executionId("recent"))
        expect(await rt.runPromise(threeSteps.run("recent"))).toBe("recent+1+2+3")
        const recentRows = requestIds(recentId)
        const recentCount = rowsOf(recentRows)
        expect(recentCount).toBeGreaterThanOrEqual(8)
        await new Promise((r) => setTimeout(r, 1_500))
        expect(rowsOf(recentRows)).toBe(recentCount)

        // The suspended and the running execution outlived completedAfter and are intact.
        expect(Date.now() - oldDone).toBeGreaterThan(6_000)
        expect((await rt.runPromise(approval.poll(pendingId)))._tag).toBe("Suspended")
        expect((await rt.runPromise(held.poll(heldId)))._tag).toBe("Running")
        expect(requestIds(heldId).length).toBeGreaterThan(0)
        const token = DurableDeferred.tokenFromExecutionId(approved, {
          workflow: approval.definition,
          executionId: pendingId
        })
        await rt.runPromise(DurableDeferred.succeed(approved, { token, value: true }))
        release()
        await waitForAsync(
          "the approval and the held execution to complete",
          async () =>
            (await rt.runPromise(approval.poll(pendingId)))._tag === "Complete" &&
            (await rt.runPromise(held.poll(heldId)))._tag === "Complete",
          30_000
        )

        // After retention the same idempotency key is a new execution: every step runs again.
        expect((await rt.runPromise(threeSteps.poll(oldId)))._tag).toBe("Running")
        expect(await rt.runPromise(threeSteps.run("old"))).toBe("old+1+2+3")
        expect(lines().filter((l) => l.startsWith("old start 1"))).toHaveLength(2)
      } finally {
        release()
        await rt.dispose()
        delete process.env.DURABLE_LOG
      }
    },
    150_000
  )
})
