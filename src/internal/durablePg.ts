/**
 * The PostgreSQL cluster behind `flowtune/Durable/Pg` and
 * `DurableBatch.layerPg`: options checked where they are given, storage under
 * a table prefix, the runner or client socket layer, retention.
 *
 * @internal
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
import type * as DurablePg from "../Durable/Pg.js"
import * as Retention from "./durableRetention.js"
import * as Check from "./options.js"

const owner = "Durable/Pg.layer"

/**
 * The cluster on PostgreSQL with the workflow engine on it. Its `Sharding` is
 * in the output for `DurableBatch.layerPg`; `DurablePg.layer` declares the
 * engine only, so that its types do not reach `@effect/rpc` (whose
 * declarations need the DOM library).
 *
 * @internal
 */
export const layer = (
  options: DurablePg.Options = {}
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
