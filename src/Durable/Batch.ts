/**
 * Batching across processes: a batch key hosted as an `@effect/cluster`
 * entity, so that items sent from many runners (and clients) share backend
 * calls.
 *
 * `make` defines the entity. Its `layer`, provided to the runners, hosts one
 * `Batch` queue per entity id (one per batch key, or `spread` per key) on
 * the runner that owns the id's shard; its `primitive`, used anywhere the
 * cluster's `Sharding` is available, sends each item to that entity and
 * returns that item's own result. The items a process sends to one entity in
 * the same tick travel as one message (the items' Schema in, one Exit per
 * item out). The queue collects the items of every process within `window`
 * and calls `run` once per batch.
 *
 * It pays when a backend call costs far more than one hop to the runner that
 * holds the batch (an embedding or model API paid per call, a rate-limited
 * endpoint): every message pays that hop (an RPC over the runners' sockets,
 * not a database round trip), and the process that holds the batch is one
 * more thing that can be slow. For a cheap backend, batch in each process
 * with `Batch.make`.
 *
 * Needs the optional peers `@effect/cluster` and `@effect/rpc`.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Schema from "effect/Schema"
 * import * as DurableBatch from "flowtune/Durable/Batch"
 *
 * const embed = DurableBatch.make("embed", {
 *   item: Schema.String,
 *   result: Schema.Array(Schema.Number),
 *   run: (texts: ReadonlyArray<string>) => Effect.succeed(texts.map((t) => [t.length])),
 *   maxBatchSize: 64,
 *   window: "20 millis"
 * })
 * // runners: provide `embed.layer` (it needs the cluster's Sharding)
 * // callers on any runner or client: `Primitive.run(embed.primitive, "some text")`
 * ```
 *
 * @since 0.2.0
 */
import type { AlreadyProcessingMessage, MailboxFull, PersistenceError } from "@effect/cluster/ClusterError"
import type * as Entity from "@effect/cluster/Entity"
import type * as Sharding from "@effect/cluster/Sharding"
import type * as SocketServer from "@effect/platform/SocketServer"
import type * as Rpc from "@effect/rpc/Rpc"
import type * as SqlError from "@effect/sql/SqlError"
import type * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import type * as Batch from "../Batch.js"
import type * as DurablePg from "../Durable/Pg.js"
import * as internal from "../internal/durableBatch.js"
import * as durablePg from "../internal/durablePg.js"
import type * as Primitive from "../Primitive.js"

/**
 * Options of `make`: those of `Batch.make` (without `name`, given apart) and
 * the Schemas an item, its result and its failure travel with.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options<In, Out, E, R, II, OI, EI> {
  /** How an item is sent to the runner that holds its batch. */
  readonly item: Schema.Schema<In, II, never>
  /** How a result is sent back. */
  readonly result: Schema.Schema<Out, OI, never>
  /**
   * How a failure of `run` (or of one item, `Batch.failItem`) is sent back.
   * Without it `run` may not fail with a typed error.
   */
  readonly error?: Schema.Schema<E, EI, never> | undefined
  /** The backend call, as in `Batch.make`: one result per item, in order. */
  readonly run: (items: ReadonlyArray<In>) => Effect.Effect<ReadonlyArray<Out | Batch.ItemResult<Out, E>>, E, R>
  /** A batch that reaches this many items is sent without waiting for the window. */
  readonly maxBatchSize: number
  /** How long a batch stays open after its first item (counted on the runner that holds it). */
  readonly window: Duration.DurationInput
  /** How many backend calls one entity (one batch key) may run at once. Default: no limit. */
  readonly concurrency?: number | "unbounded" | undefined
  /** As in `Batch.make`: items with the same key within one batch are sent once. */
  readonly dedupe?: ((item: In) => unknown) | undefined
  /**
   * The batch key of an item: items with different keys never share a batch,
   * and each key is its own entity (its own shard, so keys spread over the
   * runners). Default: one key for every item.
   */
  readonly key?: ((item: In) => string) | undefined
  /**
   * Entity ids per key (default 1): with `n`, a caller sends its items to the
   * key's `n` entities in turn, which may live on `n` runners. More throughput
   * for a hot key, batches `n` times smaller.
   */
  readonly spread?: number | undefined
  /** How long an entity with nothing to do stays in memory (the cluster's default: 1 minute). */
  readonly maxIdleTime?: Duration.DurationInput | undefined
}

/**
 * The errors a caller can see besides the backend's own: `Batch`'s errors
 * (sent back from the runner that holds the batch) and the cluster's
 * delivery errors.
 *
 * @since 0.2.0
 * @category errors
 */
export type DurableBatchError = Batch.BatchError | MailboxFull | AlreadyProcessingMessage | PersistenceError

/**
 * A batch hosted by the cluster.
 *
 * @since 0.2.0
 * @category models
 */
export interface DurableBatch<In, Out, E, R> {
  readonly name: string
  /** The cluster entity (type `flowtune/DurableBatch/<name>`), for `@effect/cluster` APIs. */
  readonly entity: Entity.Entity<string, Rpc.Any>
  /** Hosts the batches: provide it to every runner (it registers the entity with `Sharding`). */
  readonly layer: Layer.Layer<never, never, Sharding.Sharding | R>
  /**
   * The per-item primitive: sends the item to the entity of its key and waits
   * for its own result. Works on runners and clients alike.
   */
  readonly primitive: Primitive.Primitive<In, Out, E | DurableBatchError, Sharding.Sharding>
}

/**
 * Defines a batch hosted by the cluster. Options are checked here (those of
 * `Batch.make` included): a bad one throws `Primitive.InvalidPrimitive`.
 *
 * Each caller is answered once, as by `Batch.make`: its own result, its
 * item's failure, its batch's failure, a `Batch` error, or a cluster error
 * when its item could not be delivered. Items are not stored (no database
 * write per item): an item whose runner is unreachable, or dies while the
 * item waits, is sent again by the cluster once the shard has a new owner,
 * so the backend sees it at least once, possibly twice. A caller interrupted
 * after its tick still has its item sent (with the others of its message);
 * its answer is dropped.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make: <In, Out, E = never, R = never, II = In, OI = Out, EI = never>(
  name: string,
  options: Options<In, Out, E, R, II, OI, EI>
) => DurableBatch<In, Out, E, R> = internal.make

/**
 * `DurablePg.layer` (same options) with the cluster's `Sharding` in its
 * output: one PostgreSQL cluster for the durable workflows and the batches.
 * Provide each batch's `layer` on top of it in runner processes, and its
 * `primitive` wherever items are sent.
 *
 * @example
 * ```ts
 * import * as Layer from "effect/Layer"
 * import * as DurableBatch from "flowtune/Durable/Batch"
 *
 * declare const embed: DurableBatch.DurableBatch<string, ReadonlyArray<number>, never, never>
 * const runner = embed.layer.pipe(
 *   Layer.provideMerge(DurableBatch.layerPg({ prefix: "app", runner: { host: "127.0.0.1", port: 34431 } }))
 * )
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerPg: (
  options?: DurablePg.Options
) => Layer.Layer<
  WorkflowEngine.WorkflowEngine | Sharding.Sharding,
  ConfigError.ConfigError | SqlError.SqlError | SocketServer.SocketServerError
> = durablePg.layer
