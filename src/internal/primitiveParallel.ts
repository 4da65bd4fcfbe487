/**
 * The fan-out combinators, `parallel` and `forEach`: how their branches run
 * (a root fiber each, a whole list handed to a batched primitive's queue, or
 * plain functions called in turn on the caller's fiber) is in `fanOut.ts`.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type * as Primitive from "../Primitive.js"
import * as WorkflowContext from "../WorkflowContext.js"
import { callExit, collectFailFast, fanOut, fanOutQueued, inTurn } from "./fanOut.js"
import * as Options from "./options.js"
import {
  checkConcurrency,
  checkOptions,
  isPrimitive,
  itemQueue,
  syncFunction,
  unsafeMake,
  untracedOf
} from "./primitive.js"

// Each branch sees the run context one level deeper; it is put in the
// branch fiber's context when the fiber is created, rather than provided by
// an extra effect inside the branch.
const branchContexts = (keys: ReadonlyArray<string>) => (parent: Context.Context<never>, index: number) => {
  const context: WorkflowContext.WorkflowContextShape | undefined = parent.unsafeMap.get(
    WorkflowContext.WorkflowContext.key
  )
  return context === undefined
    ? parent
    : Context.add(parent, WorkflowContext.WorkflowContext, WorkflowContext.child(context, keys[index]!))
}

/** @internal */
export const parallel = (
  branches: ReadonlyArray<Primitive.Primitive.Any> | Readonly<Record<string, Primitive.Primitive.Any>>,
  options?: Primitive.ParallelOptions
): Primitive.Primitive.Any => {
  const isTuple = Array.isArray(branches)
  const keys = isTuple ? branches.map((b: Primitive.Primitive.Any) => b.name) : Object.keys(branches)
  const list: ReadonlyArray<Primitive.Primitive.Any> = isTuple ? branches : Object.values(branches)
  checkOptions("parallel", options)
  const name = options?.name === undefined
    ? `parallel(${list.map((b) => b?.name).join(" | ")})`
    : Options.nonEmptyString("parallel", "name", options.name)
  if (list.length === 0) return Options.invalidShape(name, "a parallel fan-out needs at least one branch")
  for (const branch of list) {
    if (!isPrimitive(branch)) {
      return Options.invalidShape(name, `every branch must be a Primitive, got ${Options.show(branch)}`)
    }
  }
  const concurrency = checkConcurrency(name, options?.concurrency)
  const failFast = options?.mode === undefined ||
    Options.oneOf(name, "mode", options.mode, ["fail-fast", "collect"]) === "fail-fast"
  const fanOptions = { concurrency, failFast, context: branchContexts(keys) }
  const shape = (values: ReadonlyArray<unknown>) => {
    if (isTuple) return values
    const record: Record<string, unknown> = {}
    for (let i = 0; i < keys.length; i++) record[keys[i]!] = values[i]
    return record
  }
  const bodyOver = (runs: ReadonlyArray<(input: unknown) => Effect.Effect<unknown, unknown, unknown>>) => {
    const run = (input: unknown) => fanOut(runs.length, (i) => runs[i]!(input), fanOptions)
    return failFast
      ? (input: unknown) => Effect.map(Effect.flatMap(run(input), collectFailFast), shape)
      : (input: unknown) => Effect.map(run(input), shape)
  }
  const functions = list.map((branch) => syncFunction.get(branch))
  const allFunctions = functions.every((f) => f !== undefined)
  const runs = list.map((branch) => branch.run)
  return unsafeMake({
    name,
    kind: "parallel",
    children: list,
    // Under a recording tracer, plain-function branches run one after the
    // other on this fiber, each with its own (leaf) span: no fiber each.
    body: allFunctions
      ? failFast
        ? (input: unknown) =>
          Effect.map(Effect.flatMap(inTurn(runs.length, (i) => runs[i]!(input), true), collectFailFast), shape)
        : (input: unknown) => Effect.map(inTurn(runs.length, (i) => runs[i]!(input), false), shape)
      : bodyOver(runs),
    // No span in this run: each branch fiber runs its body without its own
    // tracer check, and branches that are plain functions need no fiber.
    untraced: allFunctions
      ? failFast
        ? (input: unknown) => Effect.sync(() => shape(functions.map((f) => f(input))))
        : (input: unknown) => Effect.sync(() => shape(functions.map((f) => callExit(f, input))))
      : bodyOver(list.map(untracedOf))
  })
}

/** @internal */
export const forEach = dual<
  (options?: Primitive.ForEachOptions) => <In, Out, E, R>(
    self: Primitive.Primitive<In, Out, E, R>
  ) => Primitive.Primitive<ReadonlyArray<In>, Array<Out>, E, R>,
  <In, Out, E, R>(
    self: Primitive.Primitive<In, Out, E, R>,
    options?: Primitive.ForEachOptions
  ) => Primitive.Primitive<ReadonlyArray<In>, Array<Out>, E, R>
>((args) => isPrimitive(args[0]), (self, options) => {
  checkOptions("forEach", options)
  const name = options?.name === undefined
    ? `forEach(${self.name})`
    : Options.nonEmptyString("forEach", "name", options.name)
  const concurrency = checkConcurrency(name, options?.concurrency)
  const fanOptions = { concurrency, failFast: true }
  const untraced = untracedOf(self)
  const queue = itemQueue.get(self)
  const f = syncFunction.get(self)
  return unsafeMake({
    name,
    kind: "forEach",
    children: [self],
    body: f !== undefined
      // Under a recording tracer, a plain function runs item after item on this fiber, a leaf span each.
      // `any`: the items of the primitive `forEach` maps: its public signature types them
      ? (items: ReadonlyArray<any>) =>
        Effect.flatMap(inTurn(items.length, (i) => self.run(items[i]), true), collectFailFast)
      // `any`: the items of the primitive `forEach` maps: its public signature types them
      : (items: ReadonlyArray<any>) =>
        Effect.flatMap(fanOut(items.length, (i) => self.run(items[i]), fanOptions), collectFailFast),
    // No span in this run: a batched primitive takes the whole list in one
    // step, with no fiber per item (18 us an item -> under 1 us, bench/batch.ts);
    // any other runs its body per item without a tracer check each.
    untraced: f !== undefined
      // `any`: the items of the primitive `forEach` maps: its public signature types them
      ? (items: ReadonlyArray<any>) => Effect.sync(() => items.map((item) => f(item)))
      : queue === undefined
      // `any`: the items of the primitive `forEach` maps: its public signature types them
      ? (items: ReadonlyArray<any>) =>
        Effect.flatMap(fanOut(items.length, (i) => untraced(items[i]), fanOptions), collectFailFast)
      // `any`: the items of the primitive `forEach` maps: its public signature types them
      : (items: ReadonlyArray<any>) => Effect.flatMap(fanOutQueued(items, queue, fanOptions), collectFailFast)
  })
})
