import * as Activity from "@effect/workflow/Activity"
import * as Workflow from "@effect/workflow/Workflow"
import * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Durable from "../Durable.js"
import * as Primitive from "../Primitive.js"
import * as WorkflowContext from "../WorkflowContext.js"
import { defaultKeyOrError, sha256 } from "./cacheKey.js"
import * as Options from "./options.js"

/**
 * How many times each activity key was used in one execution of a workflow
 * body. A replay runs the body again with a fresh instance, so the counts
 * start again from zero and the same calls get the same keys.
 */
const occurrences = new WeakMap<WorkflowEngine.WorkflowInstance["Type"], Map<string, number>>()

const nextOccurrence = (instance: WorkflowEngine.WorkflowInstance["Type"], key: string): number => {
  let counts = occurrences.get(instance)
  if (counts === undefined) {
    counts = new Map()
    occurrences.set(instance, counts)
  }
  const n = counts.get(key) ?? 0
  counts.set(key, n + 1)
  return n
}

/**
 * The activity's identity inside one execution: the primitive's name, the
 * branch path that called it (parallel branches), a digest of its input
 * (items of a `forEach` that run concurrently get distinct keys whatever
 * order they start in) and the occurrence of that triple in this execution
 * (the same call made twice in a sequence). Never the name alone: the engine
 * returns the first result stored under a name to every later call.
 */
const activityKey = (
  name: string,
  input: unknown,
  instance: WorkflowEngine.WorkflowInstance["Type"],
  context: Option.Option<WorkflowContext.WorkflowContextShape>
): Effect.Effect<string, Durable.UnkeyableInput> => {
  const encoded = defaultKeyOrError(input)
  if (typeof encoded !== "string") {
    return Effect.fail(new Durable.UnkeyableInput({ activity: name, reason: encoded.message }))
  }
  const branch = Option.match(context, { onNone: () => "", onSome: (c) => c.branch.join("/") })
  const base = `${name}|${branch}|${sha256(encoded).slice(0, 16)}`
  return Effect.succeed(`${base}#${nextOccurrence(instance, base)}`)
}

/** @internal */
export const activity = dual<
  <Out, E, SI, EI>(
    options: Durable.ActivityOptions<Out, E, SI, EI>
  ) => <In, R>(self: Primitive.Primitive<In, Out, E, R>) => Primitive.Primitive<In, Out, E | Durable.UnkeyableInput, R>,
  <In, Out, E, R, SI, EI>(
    self: Primitive.Primitive<In, Out, E, R>,
    options: Durable.ActivityOptions<Out, E, SI, EI>
  ) => Primitive.Primitive<In, Out, E | Durable.UnkeyableInput, R>
>(2, <In, Out, E, R, SI, EI>(
  self: Primitive.Primitive<In, Out, E, R>,
  options: Durable.ActivityOptions<Out, E, SI, EI>
) => {
  const owner = `Durable.activity(${self.name})`
  if (typeof options !== "object" || options === null) Options.invalidShape(owner, "options must be an object")
  if (!Schema.isSchema(options.success)) Options.invalid(owner, "success", "a Schema of the output", options.success)
  if (options.error !== undefined && !Schema.isSchema(options.error)) {
    Options.invalid(owner, "error", "a Schema of the errors", options.error)
  }
  const name = options.name === undefined ? self.name : Options.nonEmptyString(owner, "name", options.name)
  const success = options.success as Schema.Schema<Out, SI, never>
  const error = (options.error ?? Schema.Never) as Schema.Schema<E, EI, never>
  return Primitive.make(
    `activity(${name})`,
    (input: In): Effect.Effect<Out, E | Durable.UnkeyableInput, R> =>
      Effect.flatMap(Effect.serviceOption(WorkflowEngine.WorkflowInstance), (maybeInstance) => {
        // Outside a durable workflow an activity is the plain primitive.
        if (Option.isNone(maybeInstance)) return self.run(input)
        const instance = maybeInstance.value
        return Effect.flatMap(
          Effect.serviceOption(WorkflowContext.WorkflowContext),
          (context) =>
            Effect.flatMap(
              activityKey(name, input, instance, context),
              (key) =>
                Activity.make({ name: key, success, error, execute: self.run(input) }) as unknown as Effect.Effect<
                  Out,
                  E,
                  R
                >
            )
        )
      }),
    { annotations: { ...self.annotations, durable: true } }
  )
})

const statusOf = <A, E>(result: Workflow.Result<A, E> | undefined): Durable.Status<A, E> =>
  result === undefined
    ? { _tag: "Running" }
    : result._tag === "Suspended"
    ? { _tag: "Suspended" }
    : { _tag: "Complete", exit: result.exit }

/** @internal */
export const workflow = <In, Out, E, R, PI, SI, EI>(
  self: Primitive.Primitive<In, Out, E, R>,
  options: Durable.WorkflowOptions<In, Out, E, PI, SI, EI>
): Durable.DurableWorkflow<In, Out, E, R> => {
  const owner = `Durable.workflow(${self.name})`
  if (typeof options !== "object" || options === null) Options.invalidShape(owner, "options must be an object")
  const name = Options.nonEmptyString(owner, "name", options.name ?? self.name)
  if (!Schema.isSchema(options.payload)) Options.invalid(owner, "payload", "a Schema of the input", options.payload)
  if (!Schema.isSchema(options.success)) Options.invalid(owner, "success", "a Schema of the output", options.success)
  if (options.error !== undefined && !Schema.isSchema(options.error)) {
    Options.invalid(owner, "error", "a Schema of the errors", options.error)
  }
  const idempotencyKey = Options.func<(input: In) => string>(owner, "idempotencyKey", options.idempotencyKey)
  const definition = Workflow.make({
    name,
    payload: { input: options.payload as Schema.Schema<In, PI, never> },
    success: options.success as Schema.Schema<Out, SI, never>,
    error: (options.error ?? Schema.Never) as Schema.Schema<E, EI, never>,
    idempotencyKey: ({ input }) => idempotencyKey(input)
  })
  const payload = (input: In) => ({ input }) as Parameters<typeof definition.execute>[0]
  return {
    name,
    definition,
    layer: definition.toLayer(({ input }) => Primitive.run(self, input)) as Layer.Layer<
      never,
      never,
      WorkflowEngine.WorkflowEngine | R
    >,
    run: (input) => definition.execute(payload(input)),
    start: (input) => definition.execute(payload(input), { discard: true }),
    executionId: (input) => definition.executionId({ input } as Parameters<typeof definition.executionId>[0]),
    poll: (executionId) => Effect.map(definition.poll(executionId), statusOf),
    interrupt: (executionId) => definition.interrupt(executionId),
    resume: (executionId) => definition.resume(executionId)
  }
}

/** @internal */
export const layerMemory: Layer.Layer<WorkflowEngine.WorkflowEngine> = WorkflowEngine.layerMemory
