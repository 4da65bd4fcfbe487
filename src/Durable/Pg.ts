/**
 * Durable workflows on PostgreSQL: `@effect/cluster` runners that share
 * their executions, messages and activity results through the database, so
 * that a crashed runner's work is taken over by another and a restarted one
 * replays from what was stored.
 *
 * Needs the optional peers `@effect/cluster`, `@effect/workflow`,
 * `@effect/platform-node` and `@effect/sql-pg`.
 *
 * @example
 * ```ts
 * import * as DurablePg from "flowtune/Durable/Pg"
 *
 * // A process that executes workflows (provide each workflow's `.layer` to it):
 * const runner = DurablePg.layer({ prefix: "digest", runner: { host: "127.0.0.1", port: 34431 } })
 * // A web process that only submits work:
 * const client = DurablePg.layer({ prefix: "digest" })
 * ```
 *
 * @since 0.2.0
 */
import * as ClusterWorkflowEngine from "@effect/cluster/ClusterWorkflowEngine"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import type * as Sharding from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import type * as SocketServer from "@effect/platform/SocketServer"
import * as PgClient from "@effect/sql-pg/PgClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Retention from "../internal/durableRetention.js"
import * as Check from "../internal/options.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** The database (default: the `DATABASE_URL` environment variable). */
  readonly url?: string | Redacted.Redacted<string> | undefined
  /**
   * The prefix of the engine's tables (`<prefix>_messages`, `<prefix>_runners`...):
   * one prefix per cluster. Lower-case letters, digits and `_`. Default `"flowtune"`.
   */
  readonly prefix?: string | undefined
  /**
   * Where this process listens for other runners. Without it the process is a
   * client: it submits, polls and interrupts executions but runs none.
   */
  readonly runner?: { readonly host: string; readonly port: number } | undefined
  /**
   * PostgreSQL advisory locks guard shard ownership (default `true`). Their
   * keys are not namespaced by `prefix` in `@effect/cluster` 0.60: two clusters
   * sharing one database contend for shards. Give each cluster its own
   * database, or turn the locks off (shard leases then rely on the runners
   * table and `shardLockExpiration`).
   */
  readonly advisoryLocks?: boolean | undefined
  /** How often a runner looks for new messages in storage (default 500 ms). */
  readonly pollInterval?: Duration.DurationInput | undefined
  /** How long a dead runner's shards stay locked before another runner takes them (default 15 s). */
  readonly shardLockExpiration?: Duration.DurationInput | undefined
  /**
   * How often a runner renews its shard locks (default 10 s, the engine's).
   * Must be shorter than `shardLockExpiration`: a lock that expires between
   * two renewals lets a second runner take a shard its owner still serves.
   */
  readonly shardLockRefreshInterval?: Duration.DurationInput | undefined
  /**
   * Removes completed executions (needs `runner`). Every `every` (default
   * 5 minutes) the runner deletes the rows of each execution whose final
   * result was stored more than `completedAfter` ago: its run, activities,
   * signals and clock. Running and suspended executions are never touched.
   * Afterwards `run` with the same idempotency key starts a new execution.
   * Without it the engine keeps every execution forever.
   */
  readonly retention?: {
    readonly completedAfter: Duration.DurationInput
    readonly every?: Duration.DurationInput | undefined
  } | undefined
}

const owner = "Durable/Pg.layer"

/**
 * The cluster workflow engine on PostgreSQL, as a runner (with `runner`) or a
 * client. Provide the workflows' `.layer`s on top of it in runner processes.
 * It also gives the cluster's `Sharding`, which `DurableBatch` entities use.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<
  WorkflowEngine.WorkflowEngine | Sharding.Sharding,
  ConfigError.ConfigError | SqlError.SqlError | SocketServer.SocketServerError
> => {
  const prefix = options.prefix === undefined
    ? "flowtune"
    : /^[a-z_][a-z0-9_]{0,40}$/.test(options.prefix)
    ? options.prefix
    : Check.invalid(owner, "prefix", "lower-case letters, digits and _ (at most 41)", options.prefix)
  const runner = options.runner
  if (runner !== undefined) {
    Check.nonEmptyString(owner, "runner.host", runner.host)
    Check.number(owner, "runner.port", runner.port, { integer: true, min: 1, max: 65535 })
  }
  const advisoryLocks = Check.booleanOr(owner, "advisoryLocks", options.advisoryLocks, true)
  const pollInterval = Check.durationOr(owner, "pollInterval", options.pollInterval, "500 millis")
  const shardLockExpiration = Check.durationOr(owner, "shardLockExpiration", options.shardLockExpiration, "15 seconds")
  const shardLockRefreshInterval = Check.durationOr(
    owner,
    "shardLockRefreshInterval",
    options.shardLockRefreshInterval,
    "10 seconds"
  )
  if (Duration.greaterThanOrEqualTo(shardLockRefreshInterval, shardLockExpiration)) {
    Check.invalid(
      owner,
      options.shardLockRefreshInterval === undefined ? "shardLockExpiration" : "shardLockRefreshInterval",
      `shardLockRefreshInterval (${Duration.format(shardLockRefreshInterval)}) shorter than shardLockExpiration (${
        Duration.format(shardLockExpiration)
      })`,
      options.shardLockRefreshInterval === undefined ? options.shardLockExpiration : options.shardLockRefreshInterval
    )
  }
  const retention = options.retention
  if (retention !== undefined) {
    if (typeof retention !== "object" || retention === null) {
      Check.invalid(owner, "retention", "{ completedAfter, every? }", retention)
    }
    if (runner === undefined) {
      Check.invalid(owner, "retention", "given with runner (a client sweeps nothing)", retention)
    }
  }
  const sweep = retention === undefined ? undefined : {
    completedAfter: Check.duration(owner, "retention.completedAfter", retention.completedAfter),
    every: Check.durationOr(owner, "retention.every", retention.every, "5 minutes")
  }
  const url = options.url === undefined
    ? Config.redacted("DATABASE_URL")
    : Config.succeed(typeof options.url === "string" ? Redacted.make(options.url) : options.url)

  const sharding: Partial<ShardingConfig.ShardingConfig["Type"]> = {
    runnerAddress: runner === undefined ? Option.none() : Option.some(RunnerAddress.make(runner.host, runner.port)),
    shardLockDisableAdvisory: !advisoryLocks,
    entityMessagePollInterval: pollInterval,
    entityReplyPollInterval: pollInterval,
    shardLockExpiration,
    shardLockRefreshInterval
  }
  const pg = PgClient.layerConfig({ url, applicationName: Config.succeed(`flowtune-durable-${prefix}`) })
  const storage = Layer.mergeAll(
    Layer.orDie(SqlMessageStorage.layerWith({ prefix })),
    Layer.orDie(SqlRunnerStorage.layerWith({ prefix }))
  ).pipe(Layer.provide(ShardingConfig.layer(sharding)))
  const cluster = runner === undefined
    ? NodeClusterSocket.layer({ clientOnly: true, storage: "byo", shardingConfig: sharding })
    : NodeClusterSocket.layer({ storage: "byo", shardingConfig: sharding })
  // `Sharding` is kept in the output: `DurableBatch` entities run on the same cluster.
  const engine = ClusterWorkflowEngine.layer.pipe(Layer.provideMerge(cluster), Layer.provide(storage))
  // The sweep starts once the engine is up (its tables migrated).
  const withRetention = sweep === undefined ? engine : Layer.provideMerge(
    Layer.scopedDiscard(
      Effect.zipRight(WorkflowEngine.WorkflowEngine, Retention.schedule(prefix, sweep.completedAfter, sweep.every))
    ),
    engine
  )
  return withRetention.pipe(Layer.provide(pg))
}
