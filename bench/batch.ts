/**
 * Batch: per-item cost of coalescing 1000 concurrent callers into batched
 * backend calls (max 100 items a call, zero window), against DataLoader,
 * Effect's stock `RequestResolver.makeBatched` + `Effect.request`, and
 * `@effect/experimental`'s `RequestResolver.dataLoader`, all in one run.
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
import { measure, ratios, settings, type Suite } from "./harness.js"

const CALLERS = 1000
const MAX_BATCH = 100
const keys = Array.from({ length: CALLERS }, (_, i) => i)

interface GetItem extends Request.Request<number> {
  readonly _tag: "GetItem"
  readonly id: number
}
const GetItem = Request.tagged<GetItem>("GetItem")

// Every Effect case runs with the tracer off: a primitive's run is a span
// when tracing is on, and spans (with their stack capture) are not what this
// suite compares.
const runtime = Effect.runSync(Effect.withTracerEnabled(Effect.runtime<never>(), false))
const runPromise = Runtime.runPromise(runtime)

/** 1000 independent callers: one root fiber each, done when all have exited. */
const rootCallers = (call: (key: number) => Effect.Effect<unknown, unknown>) => () =>
  new Promise<void>((resolve) => {
    let left = CALLERS
    const done = () => {
      if (--left === 0) resolve()
    }
    for (const key of keys) Runtime.runFork(runtime, call(key)).addObserver(done)
  })

// the floor for any Effect caller that waits: a fiber that suspends and is
// resumed a microtask later (no batching at all)
const suspendResume = (key: number) =>
  Effect.async<number>((resume) => {
    queueMicrotask(() => resume(Effect.succeed(key)))
  })

const suite: Suite = {
  name: "batch",
  description: `Batch: ${CALLERS} concurrent callers, one item each, max ${MAX_BATCH} per backend call (per item)`,
  run: async (options) => {
    const calls = { dataloader: 0, flowtune: 0, stock: 0, experimental: 0 }
    const backend = (counter: keyof typeof calls) => (ids: ReadonlyArray<number>) => {
      calls[counter]++
      return ids.map((n) => n * 2)
    }

    const loader = new DataLoader<number, number>(
      (ids) => Promise.resolve(backend("dataloader")(ids)),
      { cache: false, maxBatchSize: MAX_BATCH }
    )

    const scope = Effect.runSync(Scope.make())
    const flowtune = Runtime.runSync(runtime)(
      Batch.make({
        name: "bench",
        run: (ids: ReadonlyArray<number>) => Effect.sync(() => backend("flowtune")(ids)),
        maxBatchSize: MAX_BATCH,
        window: 0
      }).pipe(Scope.extend(scope))
    )

    const stockResolver = RequestResolver.makeBatched((requests: ReadonlyArray<GetItem>) =>
      Effect.sync(() => backend("stock")(requests.map((r) => r.id))).pipe(
        Effect.flatMap((out) => Effect.forEach(requests, (r, i) => Request.succeed(r, out[i]!), { discard: true }))
      )
    ).pipe(RequestResolver.batchN(MAX_BATCH))

    const experimentalResolver = Runtime.runSync(runtime)(
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
      { name: "dataloader", ops: CALLERS, run: () => Promise.all(keys.map((k) => loader.load(k))) },
      { name: "fiber suspend+resume only (floor)", ops: CALLERS, run: rootCallers(suspendResume) },
      { name: "flowtune Batch", ops: CALLERS, run: rootCallers(flowtune.run) },
      {
        name: "fiber suspend+resume only (Effect.forEach callers)",
        ops: CALLERS,
        run: () => runPromise(Effect.forEach(keys, suspendResume, { concurrency: "unbounded" }))
      },
      {
        name: "flowtune Batch (Effect.forEach callers)",
        ops: CALLERS,
        run: () => runPromise(Effect.forEach(keys, (k) => flowtune.run(k), { concurrency: "unbounded" }))
      },
      {
        name: "stock makeBatched + Effect.request",
        ops: CALLERS,
        run: () =>
          runPromise(
            Effect.forEach(keys, (id) => Effect.request(GetItem({ id }), stockResolver), {
              concurrency: "unbounded",
              batching: true
            })
          )
      },
      {
        name: "experimental dataLoader",
        ops: CALLERS,
        run: rootCallers((id) => Effect.request(GetItem({ id }), experimentalResolver))
      }
    ]

    // batches formed by one op of each case
    for (const key of Object.keys(calls) as Array<keyof typeof calls>) calls[key] = 0
    await cases[0]!.run()
    await cases[2]!.run()
    await cases[5]!.run()
    await cases[6]!.run()
    const formed = { ...calls }

    const results = await measure(cases, settings(options))
    await Effect.runPromise(Scope.close(scope, Exit.void))
    return {
      results,
      ratios: ratios(results, [
        ["flowtune Batch", "dataloader"],
        ["fiber suspend+resume only (floor)", "dataloader"],
        ["flowtune Batch", "fiber suspend+resume only (floor)"],
        ["flowtune Batch (Effect.forEach callers)", "dataloader"],
        ["flowtune Batch (Effect.forEach callers)", "fiber suspend+resume only (Effect.forEach callers)"],
        ["stock makeBatched + Effect.request", "dataloader"],
        ["experimental dataLoader", "dataloader"],
        ["stock makeBatched + Effect.request", "flowtune Batch"]
      ]),
      notes: [
        `Backend calls for ${CALLERS} callers (max ${MAX_BATCH} a call): dataloader ${formed.dataloader}, ` +
        `flowtune ${formed.flowtune}, stock ${formed.stock}, experimental ${formed.experimental}.`
      ]
    }
  }
}

export default suite
