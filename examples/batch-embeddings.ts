/**
 * Request batching: the guide's "Request Batching" step, for independent callers.
 *
 * 100 callers each need one embedding. The embedding API takes up to 10 texts
 * per request, answers in 100 ms (+1 ms per text), and allows 4 requests at a
 * time. Without batching every caller makes its own request: 100 requests, 25
 * rounds of 4. With `Batch.make` the callers that arrive within 20 ms share a
 * request: 10 requests, 3 rounds.
 *
 * Run: npx tsx examples/batch-embeddings.ts
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Batch from "flowtune/Batch"
import * as Primitive from "flowtune/Primitive"

const ms = (d: Duration.Duration) => `${Math.round(Duration.toMillis(d))} ms`

/** A stand-in for an embeddings endpoint: one vector per text, in order. */
const embedBatch = (texts: ReadonlyArray<string>) =>
  Effect.as(
    Effect.sleep(Duration.millis(100 + texts.length)),
    texts.map((text) => [text.length, text.split(" ").length])
  )

const texts = Array.from({ length: 100 }, (_, i) => `support ticket number ${i}`)

const program = Effect.gen(function*() {
  // unbatched: one request per caller, 4 in flight
  let unbatchedCalls = 0
  const single = Primitive.make("embed-one", (text: string) =>
    Effect.map(
      Effect.zipRight(Effect.sync(() => unbatchedCalls++), embedBatch([text])),
      (vectors) => vectors[0]!
    ))
  const [unbatched] = yield* Effect.timed(
    Primitive.run(Primitive.forEach(single, { concurrency: 4 }), texts)
  )

  // batched: the same 100 independent callers, coalesced
  const embed = yield* Batch.make({
    name: "embed",
    run: embedBatch,
    maxBatchSize: 10,
    window: "20 millis",
    concurrency: 4
  })
  const [batched, vectors] = yield* Effect.timed(
    Effect.forEach(texts, (text) => Primitive.run(embed, text), { concurrency: "unbounded" })
  )
  const calls = yield* Metric.value(Metric.tagged(Batch.metrics.batches, "primitive", "embed"))
  const size = yield* Metric.value(Metric.tagged(Batch.metrics.size, "primitive", "embed"))

  console.log(`unbatched: ${unbatchedCalls} backend calls, ${ms(unbatched)}`)
  console.log(`batched:   ${calls.count} backend calls, ${ms(batched)} (mean batch ${size.sum / size.count} items)`)
  console.log(`saved:     ${unbatchedCalls - calls.count} calls, ${ms(Duration.subtract(unbatched, batched))}`)
  console.log(`first vector: [${vectors[0]!.join(", ")}]`)
}).pipe(Effect.scoped)

Effect.runPromise(program)
