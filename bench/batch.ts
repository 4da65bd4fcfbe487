/**
 * `npm run bench -- batch`: the per-item cost of coalescing items into
 * batched backend calls (max 100 items a call, zero window), on the path a
 * user takes.
 *
 * The user's path comes first: `Effect.runPromise(Primitive.run(p, item))`
 * with default options and Effect's default tracer, exactly as the README
 * shows it. Its peers have the same loop shape and entry point:
 * - `callers.*`: 1000 concurrent callers, one item each, one entry per caller
 *   on both sides (`runPromise` per caller against a DataLoader `load` per
 *   caller), all awaited together;
 * - `list.*`: one call over a list of 1000 items (`Primitive.forEach` over the
 *   batched primitive through one `Primitive.run` against DataLoader's
 *   `loadMany`).
 * The floors are what any Effect caller pays before batching: a fiber that
 * suspends and is resumed a microtask later, per caller (`runPromise` each)
 * and as one fan-out of 1000 fibers in one run (what a fiber per item costs).
 * Internal fast paths (`p.run` on root fibers with tracing off, the list form
 * `Batch.chunked`) and Effect's stock batching are measured beside them,
 * labelled, and are not what users get from the README.
 */
import * as ExperimentalResolver from "@effect/experimental/RequestResolver"
import DataLoader from "dataloader"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Request from "effect/Request"
import * as RequestResolver from "effect/RequestResolver"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import * as Batch from "../src/Batch.js"
import * as Primitive from "../src/Primitive.js"
import { measureAll, pairedRatios, settings, type Suite } from "./harness.js"

const CALLERS = 1000
const MAX_BATCH = 100
const keys = Array.from({ length: CALLERS }, (_, i) => i)

interface GetItem extends Request.Request<number> {
  readonly _tag: "GetItem"
  readonly id: number
}
const GetItem = Request.tagged<GetItem>("GetItem")

// internal fast paths only: tracing off, no run context
const untracedRuntime = Effect.runSync(Effect.withTracerEnabled(Effect.runtime<never>(), false))

/** 1000 independent callers: one root fiber each, done when all have exited. */
const rootCallers = (call: (key: number) => Effect.Effect<unknown, unknown>) => () =>
  new Promise<void>((resolve) => {
    let left = CALLERS
    const done = () => {
      if (--left === 0) resolve()
    }
    for (const key of keys) Runtime.runFork(untracedRuntime, call(key)).addObserver(done)
  })

// the floor for any Effect caller that waits: a fiber that suspends and is
// resumed a microtask later (no batching at all)
const suspendResume = (key: number) =>
  Effect.async<number>((resume) => {
    queueMicrotask(() => resume(Effect.succeed(key)))
  })

const suite: Suite = {
  name: "batch",
  description: `Batch: ${CALLERS} items, max ${MAX_BATCH} per backend call, through Primitive.run (user's path) vs ` +
    `DataLoader (per item)`,
  run: async (options) => {
    const calls = { dataloader: 0, flowtune: 0, chunked: 0, stock: 0, experimental: 0 }
    const backend = (counter: keyof typeof calls) => (ids: ReadonlyArray<number>) => {
      calls[counter]++
      return ids.map((n) => n * 2)
    }

    const loader = new DataLoader<number, number>(
      (ids) => Promise.resolve(backend("dataloader")(ids)),
      { cache: false, maxBatchSize: MAX_BATCH }
    )

    const scope = Effect.runSync(Scope.make())
    // made the way a user makes it: default runtime, default tracer
    const batched = Effect.runSync(
      Batch.make({
        name: "bench",
        run: (ids: ReadonlyArray<number>) => Effect.sync(() => backend("flowtune")(ids)),
        maxBatchSize: MAX_BATCH,
        window: 0
      }).pipe(Scope.extend(scope))
    )
    const each = Primitive.forEach(batched)
    const chunked = Batch.chunked(
      Primitive.make("bench-list", (ids: ReadonlyArray<number>) => Effect.sync(() => backend("chunked")(ids))),
      { size: MAX_BATCH }
    )

    const stockResolver = RequestResolver.makeBatched((requests: ReadonlyArray<GetItem>) =>
      Effect.sync(() => backend("stock")(requests.map((r) => r.id))).pipe(
        Effect.flatMap((out) => Effect.forEach(requests, (r, i) => Request.succeed(r, out[i]!), { discard: true }))
      )
    ).pipe(RequestResolver.batchN(MAX_BATCH))

    const experimentalResolver = Effect.runSync(
      ExperimentalResolver.dataLoader(
        RequestResolver.makeBatched((requests: ReadonlyArray<GetItem>) =>
          Effect.sync(() => backend("experimental")(requests.map((r) => r.id))).pipe(
            Effect.flatMap((out) => Effect.forEach(requests, (r, i) => Request.succeed(r, out[i]!), { discard: true }))
          )
        ),
        { window: 0, maxBatchSize: MAX_BATCH }
      ).pipe(Scope.extend(scope))
    )

    const cases = [
      // 1000 concurrent callers, one entry each
      {
        name: "callers.user",
        ops: CALLERS,
        run: () => Promise.all(keys.map((k) => Effect.runPromise(Primitive.run(batched, k))))
      },
      { name: "callers.dataloader", ops: CALLERS, run: () => Promise.all(keys.map((k) => loader.load(k))) },
      {
        name: "callers.floor (runPromise of a suspend+resume)",
        ops: CALLERS,
        run: () => Promise.all(keys.map((k) => Effect.runPromise(suspendResume(k))))
      },
      // one call over a list of 1000
      { name: "list.user (forEach)", ops: CALLERS, run: () => Effect.runPromise(Primitive.run(each, keys)) },
      { name: "list.dataloader (loadMany)", ops: CALLERS, run: () => loader.loadMany(keys) },
      {
        name: "list.floor (1000 fibers suspend+resume in one run)",
        ops: CALLERS,
        run: () => Effect.runPromise(Effect.forEach(keys, suspendResume, { concurrency: "unbounded" }))
      },
      // internal fast paths and Effect's own batching, not what a user gets from the README
      { name: "internal.root-fibers p.run untraced", ops: CALLERS, run: rootCallers(batched.run) },
      {
        name: "internal.chunked (list form)",
        ops: CALLERS,
        run: () => Effect.runPromise(Primitive.run(chunked, keys))
      },
      {
        name: "effect.stock makeBatched + Effect.request",
        ops: CALLERS,
        run: () =>
          Effect.runPromise(
            Effect.forEach(keys, (id) => Effect.request(GetItem({ id }), stockResolver), {
              concurrency: "unbounded",
              batching: true
            })
          )
      },
      {
        name: "effect.experimental dataLoader",
        ops: CALLERS,
        run: () =>
          Promise.all(keys.map((id) => Effect.runPromise(Effect.request(GetItem({ id }), experimentalResolver))))
      }
    ]

    // batches formed by one op of each case
    for (const key of Object.keys(calls) as Array<keyof typeof calls>) calls[key] = 0
    await cases[0]!.run()
    const formedCallers = calls.flowtune
    calls.flowtune = 0
    await cases[3]!.run()
    const formedList = calls.flowtune
    await cases[1]!.run()
    await cases[7]!.run()
    await cases[8]!.run()
    await cases[9]!.run()
    const formed = { ...calls }

    const measured = await measureAll(cases, settings(options))
    await Effect.runPromise(Scope.close(scope, Exit.void))
    const { ratios, spreads } = pairedRatios(measured, [
      ["callers.user", "callers.dataloader"],
      ["callers.floor (runPromise of a suspend+resume)", "callers.dataloader"],
      ["callers.user", "callers.floor (runPromise of a suspend+resume)"],
      ["list.user (forEach)", "list.dataloader (loadMany)"],
      ["list.floor (1000 fibers suspend+resume in one run)", "list.dataloader (loadMany)"],
      ["list.user (forEach)", "list.floor (1000 fibers suspend+resume in one run)"],
      ["internal.root-fibers p.run untraced", "callers.dataloader"],
      ["internal.chunked (list form)", "list.dataloader (loadMany)"],
      ["effect.stock makeBatched + Effect.request", "list.dataloader (loadMany)"],
      ["effect.experimental dataLoader", "callers.dataloader"]
    ])
    return {
      results: measured.cpu,
      wall: measured.wall,
      ratios,
      spreads,
      notes: [
        `Backend calls per ${CALLERS} items (max ${MAX_BATCH} a call): flowtune callers ${formedCallers}, ` +
        `flowtune forEach ${formedList}, dataloader ${formed.dataloader}, chunked ${formed.chunked}, ` +
        `stock ${formed.stock}, experimental ${formed.experimental}.`,
        "Target (issue 16): batching per item within 10x of DataLoader, including forEach over a batched primitive."
      ]
    }
  }
}

export default suite
