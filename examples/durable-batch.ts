/**
 * Batching across processes: two runners on PostgreSQL host one batch key (a cluster entity) and
 * both send items to it. The backend runs once per batch in the runner that owns the key's shard,
 * and its batches mix the items of both processes; each caller gets its own answer.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx examples/durable-batch.ts
 *
 * The same file is the runner (`... durable-batch.ts runner <name> <port>`). Its tables use the
 * prefix `flowtune_example_batch` and are dropped at the end.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as DurableBatch from "flowtune/Durable/Batch"
import * as Primitive from "flowtune/Primitive"
import { spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"

const url = process.env.DATABASE_URL ?? ""
const prefix = "flowtune_example_batch"

// The batch, defined the same way in every process. Items are "<runner>:<n>"; the backend answers
// with the item's length and says, for each call, how many items came from each runner.
const embed = DurableBatch.make("example-embed", {
  item: Schema.String,
  result: Schema.Number,
  run: (texts: ReadonlyArray<string>) =>
    Effect.sync(() => {
      const from = (name: string) => texts.filter((t) => t.startsWith(name)).length
      console.log(`  [runner ${process.pid}] one backend call: ${from("a")} items from a, ${from("b")} from b`)
      return texts.map((t) => t.length)
    }).pipe(Effect.delay("100 millis")), // a backend call worth batching
  maxBatchSize: 10,
  window: "300 millis"
})

// The cluster on PostgreSQL: `DurableBatch.layerPg` is `DurablePg.layer` with the cluster's Sharding.
const cluster = (port: number) =>
  DurableBatch.layerPg({
    url,
    prefix,
    runner: { host: "127.0.0.1", port },
    advisoryLocks: false, // advisory lock keys are not namespaced by prefix
    shardLockRefreshInterval: "1 second",
    shardLockExpiration: "10 seconds"
  })

// A runner: hosts the batch; on "go" (stdin) sends 15 items of its own, 3 every 100 ms.
const runner = (name: string, port: number) => {
  const send = Effect.gen(function*() {
    yield* Effect.async<void>((resume) => {
      createInterface({ input: process.stdin }).once("line", () => resume(Effect.void))
    })
    const answers = yield* Effect.forEach(
      Array.from({ length: 15 }, (_, n) => `${name}:${n}`),
      (item, n) => Primitive.run(embed.primitive, item).pipe(Effect.delay(Math.floor(n / 3) * 100)),
      { concurrency: "unbounded" }
    )
    console.log(`  [runner ${process.pid}] ${name} got its ${answers.length} answers: ${answers.join(",")}`)
  })
  return Layer.launch(
    Layer.merge(embed.layer, Layer.scopedDiscard(Effect.forkScoped(send))).pipe(Layer.provide(cluster(port)))
  )
}

const dropTables = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const tables = yield* sql<{ name: string }>`select tablename as name from pg_tables where tablename like ${
    prefix + "_%"
  }`
  for (const t of tables) yield* sql.unsafe(`drop table if exists "${t.name}" cascade`)
}).pipe(Effect.orDie)

const main = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const healthy = (n: number) =>
    sql<{ n: number }>`select count(*)::int as n from ${sql(prefix + "_runners")} where healthy`.pipe(
      Effect.catchAll(() => Effect.succeed([{ n: 0 }])), // the table does not exist yet
      Effect.repeat({ until: (rows) => rows[0]?.n === n, schedule: Schedule.spaced("500 millis") }),
      Effect.timeout("90 seconds")
    )
  const start = (name: string, port: number) => {
    const child = spawn(process.execPath, [
      ...process.execArgv,
      fileURLToPath(import.meta.url),
      "runner",
      name,
      String(port)
    ], {
      stdio: ["pipe", "pipe", "inherit"]
    })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk
      process.stdout.write(chunk)
    })
    return { child, output: () => output }
  }
  const children: Array<ReturnType<typeof start>> = []
  yield* Effect.addFinalizer(() => Effect.sync(() => children.forEach(({ child }) => child.kill("SIGKILL"))))
  // one after the other: the first runner creates the cluster's tables
  children.push(start("a", 34611))
  yield* healthy(1)
  children.push(start("b", 34612))
  yield* healthy(2)
  // a few seconds for both runners to see each other and split the shards
  yield* Effect.sleep("7 seconds")
  console.log("both runners are up: go")
  for (const { child } of children) child.stdin.write("go\n")
  yield* Effect.sleep("250 millis").pipe(
    Effect.repeat({ until: () => children.every(({ output }) => /got its/.test(output())) }),
    Effect.timeout("60 seconds")
  )
}).pipe(Effect.scoped)

if (url === "") {
  console.log("Set DATABASE_URL to a PostgreSQL database to run this example.")
} else if (process.argv[2] === "runner") {
  NodeRuntime.runMain(runner(process.argv[3]!, Number(process.argv[4])))
} else {
  NodeRuntime.runMain(
    dropTables.pipe(
      Effect.zipRight(Effect.ensuring(main, dropTables)),
      Effect.provide(PgClient.layer({ url: Redacted.make(url) }))
    )
  )
}
