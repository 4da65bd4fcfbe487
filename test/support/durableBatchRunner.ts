// DurableBatch over PostgreSQL: the cluster layer for a runner or client process (`shardingPg`),
// a batch whose backend logs every batch it is called with (`tagBatch`), and, run as a script,
// a runner process that hosts the batch and, once the file $BATCH_GO exists, sends its own items.
// env (script): DATABASE_URL, BATCH_PREFIX, BATCH_PORT, BATCH_LOG, BATCH_GO, BATCH_ITEMS, BATCH_RESULTS,
// BATCH_WINDOW_MS (300), BATCH_MAX (16), BATCH_COST_MS (0)
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { appendFileSync, existsSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import * as Batch from "../../src/Batch.js"
import * as DurableBatch from "../../src/Durable/Batch.js"
import * as Primitive from "../../src/Primitive.js"

/**
 * The cluster's `Sharding` on PostgreSQL (`flowtune/Durable/Pg` builds the same cluster but keeps
 * `Sharding` to itself). Advisory locks are off: their keys are not namespaced by prefix, and other
 * clusters share the test database.
 */
export const shardingPg = (options: {
  readonly url: string
  readonly prefix: string
  readonly runner?: { readonly host: string; readonly port: number } | undefined
}) => {
  const config: Partial<ShardingConfig.ShardingConfig["Type"]> = {
    runnerAddress: options.runner === undefined
      ? Option.none()
      : Option.some(RunnerAddress.make(options.runner.host, options.runner.port)),
    shardLockDisableAdvisory: true,
    // the lock must outlive its refresh (default 10 s), or two runners hold one shard
    shardLockRefreshInterval: "1 second",
    shardLockExpiration: "10 seconds",
    entityMessagePollInterval: "100 millis",
    entityReplyPollInterval: "100 millis"
  }
  const storage = Layer.mergeAll(
    Layer.orDie(SqlMessageStorage.layerWith({ prefix: options.prefix })),
    Layer.orDie(SqlRunnerStorage.layerWith({ prefix: options.prefix }))
  ).pipe(Layer.provide(ShardingConfig.layer(config)))
  return NodeClusterSocket.layer({ clientOnly: options.runner === undefined, storage: "byo", shardingConfig: config })
    .pipe(Layer.provide(storage), Layer.provide(PgClient.layer({ url: Redacted.make(options.url) })))
}

export class Refused extends Schema.TaggedError<Refused>()("Refused", { item: Schema.String }) {}

/**
 * Items are `"<pid>:<n>"`; the answer is `"<pid>:<n>:ok"`, computed by whichever runner holds the batch.
 * An item starting with `bad` fails alone with `Refused`. Each batch is logged as one JSON line.
 */
export const tagBatch = (options: {
  readonly log?: string | undefined
  readonly costMs?: number | undefined
  readonly windowMs?: number | undefined
  readonly maxBatchSize?: number | undefined
}) =>
  DurableBatch.make("tags", {
    item: Schema.String,
    result: Schema.String,
    error: Refused,
    run: (items: ReadonlyArray<string>) =>
      Effect.sync(() => {
        if (options.log) appendFileSync(options.log, JSON.stringify({ host: process.pid, items }) + "\n")
        return items.map((item) => item.startsWith("bad") ? Batch.failItem(new Refused({ item })) : `${item}:ok`)
      }).pipe(Effect.delay(options.costMs ?? 0)),
    maxBatchSize: options.maxBatchSize ?? 16,
    window: options.windowMs ?? 300
  })

const describe = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.failureOption(cause)
  if (Option.isNone(error)) return `defect: ${Cause.pretty(cause)}`
  return error.value instanceof Refused ? `Refused ${error.value.item}` : `failed: ${String(error.value)}`
}

const main = () => {
  const env = process.env
  const batch = tagBatch({
    log: env.BATCH_LOG,
    costMs: Number(env.BATCH_COST_MS ?? 0),
    windowMs: Number(env.BATCH_WINDOW_MS ?? 300),
    maxBatchSize: Number(env.BATCH_MAX ?? 16)
  })
  const items = Number(env.BATCH_ITEMS ?? 20)
  const go = env.BATCH_GO ?? ""
  const cluster = shardingPg({
    url: env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
    prefix: env.BATCH_PREFIX ?? "flowtune_batch_test",
    runner: { host: "127.0.0.1", port: Number(env.BATCH_PORT) }
  })
  // once $BATCH_GO exists: `items` items sent 4 at a time every 100 ms, then one `bad` item; the
  // answers go to $BATCH_RESULTS as one JSON object
  const send = Effect.gen(function*() {
    while (!existsSync(go)) yield* Effect.sleep("100 millis")
    const own = Array.from({ length: items }, (_, n) => `${process.pid}:${n}`)
    const exits = yield* Effect.forEach(
      [...own, `bad${process.pid}`],
      (item, i) =>
        Effect.exit(Primitive.run(batch.primitive, item)).pipe(
          Effect.delay(Math.floor(i / 4) * 100),
          Effect.map((exit) => [item, Exit.isSuccess(exit) ? exit.value : describe(exit.cause)])
        ),
      { concurrency: "unbounded" }
    )
    writeFileSync(env.BATCH_RESULTS ?? "", JSON.stringify(Object.fromEntries(exits)))
    yield* Effect.never
  })
  // without $BATCH_GO the process only hosts batches
  const runner = (go === "" ? batch.layer : Layer.merge(batch.layer, Layer.scopedDiscard(Effect.forkScoped(send))))
    .pipe(Layer.provide(cluster))
  NodeRuntime.runMain(Layer.launch(runner))
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main()
