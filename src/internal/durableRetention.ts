/**
 * Retention for the cluster workflow engine's PostgreSQL tables: deletes the
 * rows of executions that completed long enough ago (the engine keeps them
 * forever).
 *
 * How a completed execution is recognised in `@effect/cluster` 0.60's
 * `SqlMessageStorage` schema:
 * - an execution is the entity `Workflow/<name>` whose id is the execution
 *   id; its body runs as the request with tag `run` (kind 0 = Request);
 * - the body's outcome is that request's reply of kind 0 (`WithExit`, one
 *   per request). Its payload is the encoded RPC exit of a workflow
 *   `Result`: `Complete` once the body has finished (success, failure or
 *   interruption), `Suspended` while it waits for a durable clock or signal
 *   (a resume deletes that reply and runs the body again). Only `Complete`
 *   is final: an execution without a reply (running) or with `Suspended` is
 *   never touched;
 * - the reply's id is a snowflake whose high bits are the milliseconds since
 *   2025-01-01 when it was written: "completed more than `completedAfter`
 *   ago" is `reply.id < snowflake(now - completedAfter)`.
 *
 * For each such execution every row of its entity address is deleted (the
 * run request, its activities, signals, resumes and interrupts, and their
 * replies), plus its durable clock's rows (entity `Workflow/-/DurableClock`,
 * same id: execution ids are digests of the workflow name and key, so they
 * are unique across workflows).
 *
 * @internal
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type * as Scope from "effect/Scope"

/** `Snowflake.constEpochMillis` of `@effect/cluster`: 2025-01-01T00:00:00Z. */
const snowflakeEpochMillis = Date.UTC(2025, 0, 1)

/** The smallest snowflake written at `millis` (timestamp in the bits above 22). */
export const snowflakeAt = (millis: number): bigint =>
  BigInt(Math.max(0, Math.floor(millis) - snowflakeEpochMillis)) << 22n

/** What one sweep deleted. @internal */
export interface Purged {
  /** Completed executions removed. */
  readonly executions: number
  /** Rows of `<prefix>_messages` removed. */
  readonly messages: number
  /** Rows of `<prefix>_replies` removed. */
  readonly replies: number
}

/** Rows deleted by retention, by table (`messages`, `replies`) and `executions`. @internal */
export const deletedTotal = Metric.counter("flowtune_durable_retention_deleted_total", {
  description: "Completed durable executions (and their rows) removed by retention",
  incremental: true
})

const clockEntity = "Workflow/-/DurableClock"

/** At most this many executions per statement, so one sweep never holds a huge transaction. */
const batch = 500

/**
 * Deletes every execution of the cluster with tables `<prefix>_*` whose final
 * reply was written before `now - completedAfter` (`now` from `Clock`).
 *
 * @internal
 */
export const sweep = (
  prefix: string,
  completedAfter: Duration.Duration
): Effect.Effect<Purged, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const messages = sql(`${prefix}_messages`)
    const replies = sql(`${prefix}_replies`)
    const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
    const cutoff = snowflakeAt(now - Duration.toMillis(completedAfter)).toString()
    const once = sql<{ executions: string; messages: string; replies: string }>`
      WITH done AS (
        SELECT m.entity_type, m.entity_id
        FROM ${messages} m
        JOIN ${replies} r ON r.request_id = m.id AND r.kind = 0
        WHERE m.kind = 0 AND m.tag = 'run'
        AND m.entity_type LIKE 'Workflow/%' AND m.entity_type <> ${clockEntity}
        AND r.id < ${cutoff}::bigint
        AND r.payload::jsonb #>> '{_tag}' = 'Success'
        AND r.payload::jsonb #>> '{value,_tag}' = 'Complete'
        LIMIT ${batch}
      ),
      rows AS (
        SELECT m.id FROM ${messages} m JOIN done d
        ON m.entity_id = d.entity_id AND (m.entity_type = d.entity_type OR m.entity_type = ${clockEntity})
      ),
      gone_replies AS (DELETE FROM ${replies} WHERE request_id IN (SELECT id FROM rows) RETURNING 1),
      gone_messages AS (DELETE FROM ${messages} WHERE id IN (SELECT id FROM rows) RETURNING 1)
      SELECT (SELECT count(*) FROM done) AS executions,
        (SELECT count(*) FROM gone_messages) AS messages,
        (SELECT count(*) FROM gone_replies) AS replies
    `
    const total = { executions: 0, messages: 0, replies: 0 }
    while (true) {
      const [row] = yield* once
      const step = {
        executions: Number(row?.executions ?? 0),
        messages: Number(row?.messages ?? 0),
        replies: Number(row?.replies ?? 0)
      }
      total.executions += step.executions
      total.messages += step.messages
      total.replies += step.replies
      if (step.executions < batch) break
    }
    yield* Metric.incrementBy(Metric.tagged(deletedTotal, "kind", "executions"), total.executions)
    yield* Metric.incrementBy(Metric.tagged(deletedTotal, "kind", "messages"), total.messages)
    yield* Metric.incrementBy(Metric.tagged(deletedTotal, "kind", "replies"), total.replies)
    return total
  })

/**
 * Sweeps every `every` for as long as the scope lives. A failed sweep (the
 * database away) is logged and tried again at the next tick.
 *
 * @internal
 */
export const schedule = (
  prefix: string,
  completedAfter: Duration.Duration,
  every: Duration.Duration
): Effect.Effect<void, never, SqlClient.SqlClient | Scope.Scope> =>
  Effect.forkScoped(
    sweep(prefix, completedAfter).pipe(
      Effect.tap((purged) =>
        purged.executions > 0 ? Effect.logDebug("durable retention", { prefix, ...purged }) : Effect.void
      ),
      Effect.catchAll((error) => Effect.logWarning("durable retention: sweep failed", error)),
      Effect.delay(every),
      Effect.forever
    )
  ).pipe(Effect.asVoid)
