/**
 * Two runners and a client on PostgreSQL. The client submits six workflows of three
 * one-second steps; the first runner to finish a step is killed (SIGKILL) while it holds
 * work; the other takes it over and every workflow finishes. Steps already done are not run again.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx examples/durable-cluster.ts
 *
 * The same file is the runner (`... durable-cluster.ts runner <port>`). Its tables use the
 * prefix `flowtune_example` and are dropped at the end.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Durable from "flowtune/Durable"
import * as DurablePg from "flowtune/Durable/Pg"
import * as Primitive from "flowtune/Primitive"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const url = process.env.DATABASE_URL
const prefix = "flowtune_example"

const step = (i: number) =>
  Primitive.make(
    `step${i}`,
    (input: string) =>
      Effect.sync(() => console.log(`  [runner ${process.pid}] ${input}: step ${i}`)).pipe(
        Effect.zipRight(Effect.sleep("1 second")),
        Effect.as(`${input}.${i}`)
      )
  ).pipe(Durable.activity({ success: Schema.String }))

const job = Durable.workflow(Primitive.sequence(step(1), step(2), step(3)), {
  name: "example-job",
  payload: Schema.String,
  success: Schema.String,
  error: Schema.instanceOf(Durable.UnkeyableInput),
  idempotencyKey: (name) => name
})

// A runner; `retention` removes executions completed more than a day ago (the engine keeps them forever).
const runner = (port: number) =>
  Layer.launch(job.layer.pipe(Layer.provide(DurablePg.layer({
    prefix,
    runner: { host: "127.0.0.1", port },
    retention: { completedAfter: "1 day" }
  }))))

/** Starts a runner whose output is echoed, and tells when a line matching `pattern` appears. */
const startRunner = (port: number) => {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "runner", String(port)], {
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  const waiters: Array<[RegExp, () => void]> = []
  const onData = (chunk: Buffer) => {
    output += chunk
    process.stdout.write(chunk)
    for (const [pattern, resolve] of waiters) if (pattern.test(output)) resolve()
  }
  child.stdout.on("data", onData)
  child.stderr.on("data", onData)
  const seen = (pattern: RegExp) =>
    Effect.promise(() =>
      new Promise<void>((resolve) => pattern.test(output) ? resolve() : waiters.push([pattern, resolve]))
    )
  return { child, seen }
}

/** The example's own tables: dropped before (a finished run's executions would be joined, not re-run) and after. */
const dropTables = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const tables = yield* sql<{ name: string }>`select tablename as name from pg_tables where tablename like ${
    prefix + "_%"
  }`
  for (const t of tables) yield* sql.unsafe(`drop table if exists "${t.name}" cascade`)
}).pipe(Effect.orDie)

const client = Effect.gen(function*() {
  const [a, b] = [startRunner(34601), startRunner(34602)]
  yield* Effect.addFinalizer(() => Effect.sync(() => [a, b].forEach((r) => r.child.kill("SIGKILL"))))
  yield* Effect.all([a.seen(/Listening on/), b.seen(/Listening on/)])

  const ids = yield* Effect.forEach(["j1", "j2", "j3", "j4", "j5", "j6"], (name) => job.start(name))
  console.log(`submitted ${ids.length} workflows`)
  // Kill the first runner that has finished a first step: the other one must take its work over.
  const victim = yield* Effect.raceFirst(Effect.as(a.seen(/step 2/), a), Effect.as(b.seen(/step 2/), b)).pipe(
    Effect.timeout("60 seconds")
  )
  console.log(`killing runner ${victim.child.pid}`)
  victim.child.kill("SIGKILL")

  const started = Date.now()
  const results = yield* Effect.forEach(ids, (id) =>
    job.poll(id).pipe(
      Effect.filterOrFail((status) => status._tag === "Complete", () => "still running"),
      Effect.retry(Schedule.spaced("250 millis")),
      Effect.timeout("120 seconds")
    ))
  console.log(`all complete ${((Date.now() - started) / 1000).toFixed(1)} s after the kill:`)
  for (const { exit } of results) console.log(" ", exit._tag === "Success" ? exit.value : exit._tag)

  const sql = yield* SqlClient.SqlClient
  const tables = yield* sql<{ name: string }>`select tablename as name from pg_tables where tablename like ${
    prefix + "_%"
  }`
  for (const t of tables) yield* sql.unsafe(`drop table if exists "${t.name}" cascade`)
}).pipe(Effect.scoped, Effect.provide(DurablePg.layer({ prefix })))

const main = dropTables.pipe(
  Effect.zipRight(Effect.ensuring(client, dropTables)),
  Effect.provide(PgClient.layer({ url: Redacted.make(url ?? "") }))
)

if (url === undefined) {
  console.log("Set DATABASE_URL to a PostgreSQL database to run this example.")
} else if (process.argv[2] === "runner") {
  NodeRuntime.runMain(runner(Number(process.argv[3])))
} else {
  NodeRuntime.runMain(main)
}
