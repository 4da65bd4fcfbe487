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
import type * as SocketServer from "@effect/platform/SocketServer"
import type * as SqlError from "@effect/sql/SqlError"
import type * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import type * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as internal from "../internal/durablePg.js"

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

/**
 * The cluster workflow engine on PostgreSQL, as a runner (with `runner`) or a
 * client. Provide the workflows' `.layer`s on top of it in runner processes.
 * To host `DurableBatch` entities on the same cluster, use
 * `DurableBatch.layerPg` (same options) in its place: it also gives the
 * cluster's `Sharding`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: (
  options?: Options
) => Layer.Layer<
  WorkflowEngine.WorkflowEngine,
  ConfigError.ConfigError | SqlError.SqlError | SocketServer.SocketServerError
> = internal.layer
