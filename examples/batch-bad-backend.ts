/**
 * A batch backend that answers garbage: every caller of that batch gets a
 * typed failure naming the batch (never a hang), and the queue goes on
 * serving the next batches. Options are checked when `Batch.make` is called.
 *
 * Run: npx tsx examples/batch-bad-backend.ts
 */
import * as Effect from "effect/Effect"
import * as Batch from "flowtune/Batch"
import * as Primitive from "flowtune/Primitive"

// A backend that answers its first call with `null` (a JSON API that returned nothing), its second with one
// result too few, then behaves.
let calls = 0
const flakyBackend = (texts: ReadonlyArray<string>) =>
  Effect.sync(() => {
    calls++
    const answer: unknown = calls === 1 ? null : calls === 2 ? texts.slice(1) : texts.map((t) => t.length)
    // `as`: the point is a backend that breaks its declared type at run time.
    return answer as ReadonlyArray<number>
  })

const program = Effect.gen(function*() {
  const lengths = yield* Batch.make({ name: "lengths", run: flakyBackend, maxBatchSize: 3, window: "5 millis" })
  for (let round = 1; round <= 3; round++) {
    const outcomes = yield* Effect.forEach(
      ["alpha", "beta", "gamma"],
      (text) =>
        Primitive.run(lengths, text).pipe(
          Effect.map(String),
          Effect.catchAll((error) => Effect.succeed(`${error._tag}: ${error.message}`))
        ),
      { concurrency: "unbounded" }
    )
    yield* Effect.log(`round ${round}:\n  ${outcomes.join("\n  ")}`)
  }
  // A negative window is refused where it is given, with the range allowed.
  try {
    Batch.make({ name: "bad", run: flakyBackend, maxBatchSize: 3, window: "-5 millis" })
  } catch (error) {
    yield* Effect.log(String(error))
  }
}).pipe(Effect.scoped)

Effect.runPromise(program)
