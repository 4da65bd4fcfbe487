/**
 * Caching: the guide's "Apply Caching" step.
 *
 * A simulated model call of 200 ms and $0.01 (the guide's 2 s, scaled by
 * 1/10) answers 20 queries, 10 distinct ones asked twice. Uncached: 20 calls.
 * Cached in memory (LRU + TTL): 10 calls, half the time and half the cost.
 *
 * Run: npx tsx examples/cache-basic.ts
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as FlowCache from "flowtune/Cache"
import * as Primitive from "flowtune/Primitive"

const ms = (d: Duration.Duration) => `${Math.round(Duration.toMillis(d))} ms`

const llm = Primitive.make("llm", (query: string) => Effect.as(Effect.sleep("200 millis"), `answer to ${query}`)).pipe(
  Primitive.annotate({ costPerCall: 0.01 })
)
const cached = llm.pipe(FlowCache.wrap({ schema: Schema.String, ttl: "1 hour", capacity: 10_000 }))

const queries = Array.from({ length: 20 }, (_, i) => `question ${i % 10}`)

const program = Effect.gen(function*() {
  const [uncached] = yield* Effect.timed(Effect.forEach(queries, (q) => Primitive.run(llm, q)))
  const [withCache] = yield* Effect.timed(Effect.forEach(queries, (q) => Primitive.run(cached, q)))
  const stats = yield* FlowCache.stats(cached)
  console.log(`uncached: ${ms(uncached)}, $${(queries.length * 0.01).toFixed(2)}`)
  console.log(`cached:   ${ms(withCache)}, $${(stats.misses * 0.01).toFixed(2)}`)
  console.log(
    `hits: ${stats.hits["memory"]}, misses: ${stats.misses}, hit rate: ${stats.hitRate}, ` +
      `saved: ${ms(stats.timeSaved)} and $${stats.costSaved.toFixed(2)}`
  )
}).pipe(Effect.provide(FlowCache.layerMemory({ capacity: 10_000 })))

Effect.runPromise(program)
