/**
 * The guide's "Performance Benchmarking" section: latency percentiles,
 * throughput and a baseline-vs-optimized comparison, plus the metrics every
 * instrumented call recorded.
 *
 *   npx tsx examples/metrics-benchmark.ts
 */
import * as Effect from "effect/Effect"
import * as Benchmark from "flowtune/Benchmark"
import * as FlowMetrics from "flowtune/Metrics"
import * as Primitive from "flowtune/Primitive"

// A model-like call whose latency depends on the prompt.
const call = (name: string) =>
  FlowMetrics.instrument(
    Primitive.make(name, (prompt: string) => Effect.as(Effect.sleep(`${20 + prompt.length} millis`), prompt.length)),
    { fingerprint: true }
  )

const sequential = Primitive.sequence(
  call("summary"),
  Primitive.make("keywords", (n: number) => Effect.as(Effect.sleep("20 millis"), n)),
  Primitive.make("sentiment", (n: number) => Effect.as(Effect.sleep("20 millis"), n))
).pipe(Primitive.withName("sequential"))

const parallel = Primitive.parallel([call("summary"), call("keywords"), call("sentiment")], { name: "parallel" })

const cases = ["short", "a somewhat longer prompt", "a prompt of medium size"]

const program = Effect.gen(function*() {
  const baseline = yield* Benchmark.latency(sequential, cases, { runs: 10, warmup: 1 })
  const optimized = yield* Benchmark.latency(parallel, cases, { runs: 10, warmup: 1 })
  const throughput = yield* Benchmark.throughput(parallel, "short", { duration: "1 second", concurrency: 8 })
  console.log(Benchmark.formatTable([baseline, optimized, throughput]))
  console.log()
  console.log(Benchmark.formatComparison(Benchmark.compare(baseline, optimized)))
  console.log()
  console.log(FlowMetrics.formatSnapshot(yield* FlowMetrics.snapshot))
})

Effect.runPromise(program)
