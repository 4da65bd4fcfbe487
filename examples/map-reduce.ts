/**
 * Map-reduce: the guide's ten 1 s items plus a 0.1 s aggregate, scaled by
 * 1/10: 1.01 s one at a time, 0.11 s in parallel, and a bounded middle ground.
 *
 * Run: npx tsx examples/map-reduce.ts
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Primitive from "flowtune/Primitive"

const ms = (d: Duration.Duration) => `${Math.round(Duration.toMillis(d))} ms`

const processItem = Primitive.make("process-item", (n: number) => Effect.as(Effect.sleep("100 millis"), n * n))
const aggregate = Primitive.make(
  "aggregate",
  (squares: ReadonlyArray<number>) =>
    Effect.as(Effect.sleep("10 millis"), { count: squares.length, sum: squares.reduce((a, b) => a + b, 0) })
)

const items = Array.from({ length: 10 }, (_, i) => i + 1)

const program = Effect.gen(function*() {
  for (const concurrency of [1, 3, "unbounded"] as const) {
    const workflow = Primitive.sequence(Primitive.forEach(processItem, { concurrency }), aggregate)
    const [duration, result] = yield* Effect.timed(Primitive.run(workflow, items))
    console.log(`concurrency ${String(concurrency).padEnd(9)} ${ms(duration).padEnd(12)} ${JSON.stringify(result)}`)
  }
  console.log("guide: 10.1 s sequential vs 1.1 s parallel (here scaled by 1/10)")
})

Effect.runPromise(program)
