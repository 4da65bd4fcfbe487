import type { AlreadyProcessingMessage, MailboxFull, PersistenceError } from "@effect/cluster/ClusterError"
import * as Entity from "@effect/cluster/Entity"
import type * as Sharding from "@effect/cluster/Sharding"
import * as Rpc from "@effect/rpc/Rpc"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Schema from "effect/Schema"
import * as Batch from "../Batch.js"
import type * as DurableBatch from "../Durable/Batch.js"
import * as Primitive from "../Primitive.js"
import * as check from "./options.js"
import { unsafeMake } from "./primitive.js"

// ---------------------------------------------------------------------------
// Batch's errors on the wire: the runner that hosts the batch answers a caller
// on another process with them, so they need an encoding. A defect's cause is
// sent as its message (an arbitrary thrown value has no encoding).
// ---------------------------------------------------------------------------

const sizeMismatch = Schema.transform(
  Schema.TaggedStruct("BatchSizeMismatch", { batch: Schema.String, expected: Schema.Number, actual: Schema.Number }),
  Schema.instanceOf(Batch.BatchSizeMismatch),
  {
    strict: true,
    decode: ({ actual, batch, expected }) => new Batch.BatchSizeMismatch({ batch, expected, actual }),
    encode: ({ actual, batch, expected }) => ({ _tag: "BatchSizeMismatch" as const, batch, expected, actual })
  }
)

const invalidResponse = Schema.transform(
  Schema.TaggedStruct("BatchInvalidResponse", {
    batch: Schema.String,
    expected: Schema.Number,
    received: Schema.String
  }),
  Schema.instanceOf(Batch.BatchInvalidResponse),
  {
    strict: true,
    decode: ({ batch, expected, received }) => new Batch.BatchInvalidResponse({ batch, expected, received }),
    encode: ({ batch, expected, received }) => ({ _tag: "BatchInvalidResponse" as const, batch, expected, received })
  }
)

const backendDefect = Schema.transform(
  Schema.TaggedStruct("BatchBackendDefect", { batch: Schema.String, cause: Schema.String }),
  Schema.instanceOf(Batch.BatchBackendDefect),
  {
    strict: true,
    decode: ({ batch, cause }) => new Batch.BatchBackendDefect({ batch, cause }),
    encode: ({ batch, cause }) => ({
      _tag: "BatchBackendDefect" as const,
      batch,
      cause: cause instanceof Error ? cause.message : typeof cause === "string" ? cause : check.show(cause)
    })
  }
)

const closed = Schema.transform(
  Schema.TaggedStruct("BatchClosed", { batch: Schema.String }),
  Schema.instanceOf(Batch.BatchClosed),
  {
    strict: true,
    decode: ({ batch }) => new Batch.BatchClosed({ batch }),
    encode: ({ batch }) => ({ _tag: "BatchClosed" as const, batch })
  }
)

/** @internal */
export const BatchErrorSchema: Schema.Schema<Batch.BatchError, unknown> = Schema.Union(
  sizeMismatch,
  invalidResponse,
  backendDefect,
  closed
) as any // `any`: the encoded side is the four tagged structs, kept opaque here

// ---------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------

const owner = "DurableBatch.make"
const isSchema = (u: unknown) => Schema.isSchema(u)

interface Checked {
  readonly name: string
  readonly spread: number
  readonly key: ((item: unknown) => string) | undefined
}

// `any`: the implementation behind typed public overloads: the types are checked at call sites
const checkOptions = (name: unknown, input: DurableBatch.Options<any, any, any, any, any, any, any>): Checked => {
  const checkedName = check.nonEmptyString(owner, "name", name)
  if (typeof input !== "object" || input === null) {
    return check.invalidShape(owner, `the options must be an object, got ${check.show(input)}`)
  }
  const where = `${owner}(${checkedName})`
  if (!isSchema(input.item)) check.invalid(where, "item", "a Schema", input.item)
  if (!isSchema(input.result)) check.invalid(where, "result", "a Schema", input.result)
  if (input.error !== undefined && !isSchema(input.error)) check.invalid(where, "error", "a Schema", input.error)
  if (input.key !== undefined) check.func(where, "key", input.key)
  const spread = check.numberOr(where, "spread", input.spread, 1, { integer: true, min: 1, max: 1024 })
  if (input.maxIdleTime !== undefined) check.duration(where, "maxIdleTime", input.maxIdleTime)
  return { name: checkedName, spread, key: input.key }
}

// ---------------------------------------------------------------------------
// the entity and its two sides
// ---------------------------------------------------------------------------

/** @internal */
export const make = <In, Out, E, R, II, OI, EI>(
  name: string,
  options: DurableBatch.Options<In, Out, E, R, II, OI, EI>
): DurableBatch.DurableBatch<In, Out, E, R> => {
  const checked = checkOptions(name, options)
  const batchOptions: Batch.Options<In, Out, E, R, E> = {
    name: checked.name,
    run: options.run,
    maxBatchSize: options.maxBatchSize,
    window: options.window,
    concurrency: options.concurrency,
    dedupe: options.dedupe
  }
  // `Batch.make` checks its options (run, maxBatchSize, window...) here, where they are given, not on the runner
  const queue = Batch.make(batchOptions)
  const error = options.error === undefined
    ? BatchErrorSchema
    : Schema.Union(options.error as Schema.Schema<E, EI>, BatchErrorSchema)
  // One message carries the items a process sent to one entity in the same tick, and brings back one Exit
  // per item: one hop per group rather than per item (measured: the cluster's message path costs ~1 ms of
  // CPU per message).
  const submit = Rpc.make("Submit", {
    payload: Schema.Array(options.item),
    success: Schema.Array(Schema.Exit({ success: options.result, failure: error, defect: Schema.Defect }))
  })
  const entity = Entity.make(`flowtune/DurableBatch/${checked.name}`, [submit])

  const layer = entity.toLayer(
    Effect.map(queue, (batched) => ({
      Submit: (request: { readonly payload: ReadonlyArray<In> }) =>
        Effect.forEach(request.payload, (item) => Effect.exit(Primitive.run(batched, item)), {
          concurrency: "unbounded"
        })
    })) as any, // `any`: the handler's types are those of `submit`, which TypeScript cannot follow through `toLayer`
    {
      concurrency: "unbounded",
      maxIdleTime: options.maxIdleTime
    }
  ) as DurableBatch.DurableBatch<In, Out, E, R>["layer"]

  const keyOf = checked.key
  const spread = checked.spread
  let next = 0
  const entityId = (item: In): string => {
    const key = keyOf === undefined ? "default" : keyOf(item)
    if (spread === 1) return key
    next = (next + 1) % spread
    return `${key}#${next}`
  }

  type Failure = E | Batch.BatchError | MailboxFull | AlreadyProcessingMessage | PersistenceError
  interface Group {
    readonly items: Array<In>
    readonly waiters: Array<Deferred.Deferred<Out, Failure>>
  }
  const open = new Map<string, Group>()
  // The first caller of a tick opens the group of its entity id; the callers that run before the tick ends
  // join it; then one message goes, from a fiber of its own so that an interrupted caller does not take
  // the others' answers with it (its own item is still sent, its answer dropped).
  const send = (id: string, group: Group): Effect.Effect<void, never, Sharding.Sharding> =>
    Effect.yieldNow().pipe(
      Effect.zipRight(Effect.sync(() => open.delete(id))),
      Effect.zipRight(Effect.flatMap(
        entity.client,
        // `any`: the client's methods are keyed by the Rpc's tag
        (client) => (client(id) as any).Submit(group.items) as Effect.Effect<unknown, Failure>
      )),
      Effect.exit,
      Effect.flatMap((exit) =>
        Effect.sync(() => {
          const { waiters } = group
          if (Exit.isFailure(exit)) {
            for (const waiter of waiters) Deferred.unsafeDone(waiter, exit as Exit.Exit<never, Failure>)
            return
          }
          const exits = exit.value as ReadonlyArray<Exit.Exit<Out, Failure>>
          for (let i = 0; i < waiters.length; i++) {
            Deferred.unsafeDone(waiters[i]!, exits[i] ?? Exit.die(new Error("DurableBatch: an answer is missing")))
          }
        })
      )
    )
  const body = (item: In): Effect.Effect<Out, Failure, Sharding.Sharding> =>
    Effect.suspend(() => {
      const id = entityId(item)
      const waiter = Deferred.unsafeMake<Out, Failure>(FiberId.none)
      const group = open.get(id)
      if (group !== undefined) {
        group.items.push(item)
        group.waiters.push(waiter)
        return Deferred.await(waiter)
      }
      const opened: Group = { items: [item], waiters: [waiter] }
      open.set(id, opened)
      return Effect.zipRight(Effect.forkDaemon(send(id, opened)), Deferred.await(waiter))
    })

  const primitive = unsafeMake({
    name: checked.name,
    kind: "durableBatch",
    annotations: { entity: entity.type, spread },
    body
  })
  // `any`: the implementation behind the typed `DurableBatch.make`: the public signature types the result
  return { name: checked.name, entity, layer, primitive } as any
}
