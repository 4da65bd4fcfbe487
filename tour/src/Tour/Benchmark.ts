/**
 * The guide's "Performance Benchmarking": the routed workflow of step 5 under
 * `Benchmark.latency` (p50/p95/p99 over the 70/20/10 mix) and
 * `Benchmark.throughput` (one caller, as the guide's loop; then ten).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Benchmark from "flowtune/Benchmark"
import * as Primitive from "flowtune/Primitive"
import type * as Tour from "../Tour.js"
import { claim, type Step, TourEnv, traced } from "./Common.js"
import * as RouterStep from "./Router.js"
import * as World from "./World.js"

/**
 * @since 0.1.0
 * @category steps
 */
export const step: Step = {
  id: "benchmark",
  title: "9. Benchmark",
  section: "Performance Benchmarking",
  run: Effect.gen(function*() {
    const { scale, world } = yield* TourEnv
    const router = yield* RouterStep.makeRouter
    const mix = RouterStep.queries.slice(0, 10)
    const latency = yield* traced(
      "latency: 10 queries x 2 runs",
      Benchmark.latency(router, mix, { runs: 2, progress: false })
    )
    // Throughput takes one input: this step walks the same 70/20/10 mix itself.
    const next = yield* Ref.make(0)
    const mixed = Primitive.make(
      "routed_mix",
      (_: void) => Effect.flatMap(Ref.getAndUpdate(next, (n) => n + 1), (n) => router.run(mix[n % mix.length]!))
    )
    const sequential = yield* Benchmark.throughput(mixed, undefined, { count: 10, concurrency: 1, progress: false })
    yield* Ref.set(next, 0)
    const concurrent = yield* Benchmark.throughput(mixed, undefined, { count: 50, concurrency: 10, progress: false })
    const l = latency.value
    const guideMs = (ms: number) => ms / scale
    const perSecond = (r: Benchmark.ThroughputResult) => r.perSecond * scale
    const claims: Array<Tour.Claim> = [
      claim("p50 latency", 800, guideMs(l.p50), "ms"),
      claim("p95 latency", 2500, guideMs(l.p95), "ms"),
      claim("p99 latency", 2500, guideMs(l.p99), "ms"),
      claim("mean latency", 1110, guideMs(l.mean), "ms"),
      claim("throughput, one caller (1 / 1.11 s)", 1 / 1.11, perSecond(sequential), "req/s"),
      claim("throughput, 10 callers", 10 / 1.11, perSecond(concurrent), "req/s", { check: "info" })
    ]
    return {
      headline: `p50 ${(guideMs(l.p50) / 1000).toFixed(2)} s, p95 ${(guideMs(l.p95) / 1000).toFixed(2)} s, p99 ${
        (guideMs(l.p99) / 1000).toFixed(2)
      } s; ${perSecond(sequential).toFixed(2)} req/s with one caller, ${perSecond(concurrent).toFixed(2)} with ten`,
      claims,
      assumptions: [
        { label: "workload", value: "the router of step 5 on 10 queries of the 70/20/10 mix" },
        ...[world.models.fast, world.models.balanced, world.models.quality].map((p) => ({
          label: "routed model (simulated)",
          value: World.describeModel(p)
        }))
      ],
      timelines: [latency.timeline],
      distributions: [{ label: "routed workflow", values: l.samples.map(guideMs) }],
      notes: [
        "percentiles are nearest-rank (Benchmark.percentile); the guide's int(n * p / 100) index gives the same here",
        `min ${guideMs(l.min).toFixed(0)} ms, max ${guideMs(l.max).toFixed(0)} ms over ${l.count} runs`
      ]
    }
  })
}
