/**
 * Step 6 of the guide: batch requests. 100 items against an API that takes
 * 0.5 s a call and one call at a time: one call per item is 50 s; with
 * `Batch.make` (batches of 10) the same 100 independent callers share 10
 * calls, 5 s.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Batch from "flowtune/Batch"
import * as Primitive from "flowtune/Primitive"
import type * as Tour from "../Tour.js"
import { claim, mean, sleepGuide, type Step, timed, TourEnv, traced } from "./Common.js"

const items = Array.from({ length: 100 }, (_, i) => `item ${i}`)

/**
 * @since 0.1.0
 * @category steps
 */
export const step: Step = {
  id: "batch",
  title: "6. Batch",
  section: "Step 6: Optimize Data Transfer (Request Batching)",
  run: Effect.gen(function*() {
    const env = yield* TourEnv
    // The API serves one call at a time, whatever it carries.
    const api = yield* Effect.makeSemaphore(1)
    let calls = 0
    const apiCall = (batch: ReadonlyArray<string>) =>
      api.withPermits(1)(
        Effect.sync(() => calls++).pipe(
          Effect.zipRight(sleepGuide(500)),
          Effect.as(batch.map((item) => ({ item, processed: true }))),
          Effect.withSpan("api_call", { attributes: { "flowtune.batch.size": batch.length } })
        )
      )
    const single = Primitive.make("process_item", (item: string) => Effect.map(apiCall([item]), (r) => r[0]!))
    const size = env.world.batchSize
    const batched = yield* Batch.make({
      name: "process_item_batched",
      run: (batch: ReadonlyArray<string>) => apiCall(batch),
      maxBatchSize: size,
      window: 0,
      concurrency: 1
    })
    const everyone = <E, R>(p: Primitive.Primitive<string, unknown, E, R>) =>
      Effect.forEach(items, (item) => timed(Primitive.run(p, item)), { concurrency: "unbounded" })

    const before = yield* traced("one call per item", everyone(single))
    const callsBefore = calls
    calls = 0
    const after = yield* traced(`batches of ${size}`, everyone(batched))
    const callsAfter = calls
    const list = Batch.chunked(
      Primitive.make("api_call_batch", (batch: ReadonlyArray<string>) => apiCall(batch)),
      { size, concurrency: 1 }
    )
    calls = 0
    const [, chunkedMs] = yield* timed(Primitive.run(list, items))
    const callsChunked = calls
    const claims: Array<Tour.Claim> = [
      claim("100 items, one call each", 50, before.ms / 1000, "s"),
      claim("100 items, batched (Batch.make)", 5, after.ms / 1000, "s"),
      claim("speedup", 10, before.ms / after.ms, "x"),
      claim("API calls without batching", 100, callsBefore, "count"),
      claim("API calls with batching", 10, callsAfter, "count"),
      claim("list form (Batch.chunked)", 5, chunkedMs / 1000, "s"),
      claim("API calls, list form", 10, callsChunked, "count")
    ]
    return {
      headline: `${(before.ms / 1000).toFixed(1)} s -> ${(after.ms / 1000).toFixed(1)} s for 100 items (${
        (before.ms / after.ms).toFixed(1)
      }x), ${callsBefore} -> ${callsAfter} API calls`,
      claims,
      assumptions: [
        { label: "API call (simulated)", value: "0.5 s, one call at a time, whatever it carries" },
        { label: "largest batch", value: String(size) }
      ],
      timelines: [before.timeline, after.timeline],
      distributions: [
        { label: "one call per item", values: before.value.map(([, ms]) => ms) },
        { label: `batches of ${size}`, values: after.value.map(([, ms]) => ms) }
      ],
      notes: [
        `the API takes one call at a time (0.5 s each, scaled ${env.scale}); callers wait ${
          (mean(before.value.map(([, ms]) => ms)) / 1000).toFixed(1)
        } s -> ${(mean(after.value.map(([, ms]) => ms)) / 1000).toFixed(1)} s on average`,
        "the guide's own code sends its batches in parallel (asyncio.gather): on an API that allows it, 0.5 s"
      ]
    }
  })
}
