// A small application that uses every public module of flowtune as an installed package (type-checked with a strict
// and a loose tsconfig, then run with plain `node` on the compiled output). Kept to each module's basic API.
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { Cache, Primitive, Runtime, Stream as FlowStream } from "flowtune"
import * as Advisor from "flowtune/Advisor"
import * as Batch from "flowtune/Batch"
import * as Benchmark from "flowtune/Benchmark"
import * as Budget from "flowtune/Budget"
import * as CacheRedis from "flowtune/Cache/Redis"
import * as CacheSql from "flowtune/Cache/Sql"
import * as Concurrency from "flowtune/Concurrency"
import * as Cost from "flowtune/Cost"
import * as Database from "flowtune/Database"
import * as Durable from "flowtune/Durable"
import * as DurablePg from "flowtune/Durable/Pg"
import * as Hedge from "flowtune/Hedge"
import * as Metrics from "flowtune/Metrics"
import * as Model from "flowtune/Model"
import * as OpenAi from "flowtune/Model/OpenAi"
import * as Simulated from "flowtune/Model/Simulated"
import * as Profile from "flowtune/Profile"
import * as RateLimit from "flowtune/RateLimit"
import * as RateLimitRedis from "flowtune/RateLimit/Redis"
import * as Router from "flowtune/Router"
import * as Tracing from "flowtune/Tracing"
import * as WorkflowContext from "flowtune/WorkflowContext"

const double = Primitive.make("double", (n: number) => Effect.succeed(n * 2))
const describe = Primitive.fromFunction("describe", (n: number) => `n=${n}`)
const workflow = Primitive.sequence(
  double,
  Primitive.parallel({ text: describe, same: Primitive.fromFunction("id", (n: number) => n) })
)

const answer = Cache.wrap(
  Primitive.make("answer", (q: string) => Effect.succeed(q.length)),
  { ttl: "1 hour", schema: Schema.Number }
)

const routed = Router.make({
  name: "by-length",
  routes: { short: describe, long: describe },
  select: (n: number) => (n < 10 ? "short" : "long")
})

const words = FlowStream.fromIterable("words", (text: string) => text.split(" "))

const batchedSum = Effect.gen(function*() {
  const square = yield* Batch.make({
    name: "square",
    run: (xs: ReadonlyArray<number>) => Effect.succeed(xs.map((x) => x * x)),
    maxBatchSize: 10,
    window: "5 millis"
  })
  const squares = yield* Effect.forEach([1, 2, 3], (x) => Primitive.run(square, x), { concurrency: "unbounded" })
  return squares.reduce((a, b) => a + b, 0)
}).pipe(Effect.scoped)

const traced = Effect.gen(function*() {
  yield* Primitive.run(workflow, 1)
  const spans = yield* Tracing.spans
  return spans.length
}).pipe(Effect.provide(Tracing.layerMemory()))

const withContext = Effect.gen(function*() {
  yield* WorkflowContext.checkpoint("start")
  return (yield* WorkflowContext.timeline).length
}).pipe(Effect.provideServiceEffect(WorkflowContext.WorkflowContext, WorkflowContext.make()))

// Modules whose backends are not running here: their layers are only type-checked.
export const layers = {
  redis: CacheRedis.layer,
  sql: CacheSql.layer,
  pg: Database.layerPg,
  sqlite: Database.layerSqlite,
  openAi: OpenAi.layer,
  simulated: Simulated.layer,
  model: Model.generate,
  otlp: Tracing.layerOtlp,
  profile: Profile.cpu,
  advise: Advisor.adviseRun,
  hedge: Hedge.make,
  breakdown: Metrics.profileRun,
  budget: Budget.make,
  concurrency: Concurrency.make,
  rateLimit: RateLimit.layerMemory,
  rateLimitRedis: RateLimitRedis.layer,
  durable: Durable.layerMemory,
  durablePg: DurablePg.layer,
  cost: Cost.measure
}

export const main = async (): Promise<Array<string>> => {
  const runtime = Runtime.make(Layer.mergeAll(Cache.layerMemory({ capacity: 100 })))
  try {
    const lines: Array<string> = []
    lines.push(`workflow: ${JSON.stringify(await runtime.run(workflow, 21))}`)
    for (const q of ["a", "bb", "a"]) await runtime.run(answer, q)
    const stats = await runtime.runEffect(Cache.stats(answer))
    lines.push(`cache: ${stats.misses} misses, ${Object.values(stats.hits).reduce((a, b) => a + b, 0)} hits`)
    lines.push(`router: ${await runtime.run(routed, 3)}`)
    const seen: Array<string> = []
    for await (const w of runtime.stream(words, "one two three")) seen.push(w)
    lines.push(`stream: ${seen.join(",")}`)
    lines.push(`batch: ${await runtime.runEffect(batchedSum)}`)
    lines.push(`spans: ${await runtime.runEffect(traced)}`)
    lines.push(`timeline: ${await runtime.runEffect(withContext)}`)
    const bench = await runtime.runEffect(Benchmark.latency(double, [1, 2, 3], { runs: 3 }))
    lines.push(`benchmark: ${typeof bench === "object" ? "ok" : "?"}`)
    lines.push(`model: ${typeof layers.model} ${typeof layers.openAi} ${typeof layers.redis}`)
    try {
      const notFound = new Router.RouteNotFound({ router: "r", route: "x", routes: [] })
      await runtime.run(Primitive.make("fails", (_: number) => Effect.fail(notFound)), 1)
    } catch (error) {
      lines.push(`rejects with: ${error instanceof Router.RouteNotFound ? "RouteNotFound" : String(error)}`)
    }
    return lines
  } finally {
    await runtime.dispose()
  }
}
