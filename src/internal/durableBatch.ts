import type { AlreadyProcessingMessage, MailboxFull, PersistenceError } from "@effect/cluster/ClusterError"
import * as Entity from "@effect/cluster/Entity"
import type * as Sharding from "@effect/cluster/Sharding"
import * as Rpc from "@effect/rpc/Rpc"
import * as Effect from "effect/Effect"
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
  const submit = Rpc.make("Submit", { payload: options.item, success: options.result, error })
  const entity = Entity.make(`flowtune/DurableBatch/${checked.name}`, [submit])

  const layer = entity.toLayer(
    Effect.map(queue, (batched) => ({
      Submit: (request: { readonly payload: In }) => Primitive.run(batched, request.payload)
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
  const body = (item: In) =>
    Effect.flatMap(
      entity.client,
      (client) => (client(entityId(item)) as any).Submit(item) // `any`: the client's methods are keyed by the Rpc's tag
    ) as Effect.Effect<
      Out,
      E | Batch.BatchError | MailboxFull | AlreadyProcessingMessage | PersistenceError,
      Sharding.Sharding
    >

  const primitive = unsafeMake({
    name: checked.name,
    kind: "durableBatch",
    annotations: { entity: entity.type, spread },
    body
  })
  return { name: checked.name, entity, layer, primitive } as any
}
