/**
 * What a cached primitive does when its Redis tier cannot work: every call
 * still answers, the tier costs each call at most one tier timeout in all,
 * one warning is logged per outage, and the stats say what was skipped.
 * With `required: true` the layer fails at start instead.
 *
 * The "Redis" here is a listener that accepts connections and never answers
 * (a network partition), started by this example, then a refused port.
 *
 * Run: npx tsx examples/cache-failures.ts
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as FlowCache from "flowtune/Cache"
import * as CacheRedis from "flowtune/Cache/Redis"
import * as Primitive from "flowtune/Primitive"
import { createServer, type Socket } from "node:net"

const answer = Primitive.make("answer", (q: string) => Effect.as(Effect.sleep("20 millis"), `answer to ${q}`)).pipe(
  FlowCache.wrap({ schema: Schema.String, namespace: `example-failures-${process.pid}` })
)

const program = Effect.gen(function*() {
  // A partition: TCP accepts, nothing ever answers.
  const sockets = new Set<Socket>()
  const hole = createServer((s) => sockets.add(s.on("error", () => {})))
  yield* Effect.acquireRelease(
    Effect.async<number>((resume) => {
      hole.listen(0, "127.0.0.1", () => resume(Effect.succeed((hole.address() as { port: number }).port)))
    }),
    () => Effect.sync(() => (sockets.forEach((s) => s.destroy()), hole.close()))
  ).pipe(
    Effect.flatMap((port) =>
      Effect.gen(function*() {
        const start = Date.now()
        const answers = yield* Effect.forEach(
          Array.from({ length: 100 }, (_, i) => `question ${i % 50}`),
          (q) => answer.run(q),
          { concurrency: "unbounded" }
        )
        const stats = yield* FlowCache.stats(answer)
        console.log(`partitioned Redis: ${answers.length} answers in ${Date.now() - start} ms`)
        console.log(
          `  misses ${stats.misses}, coalesced ${stats.coalesced}, tier errors ${stats.tierErrors["redis"]},` +
            ` skipped ${stats.tierSkipped["redis"]}`
        )
      }).pipe(
        Effect.provide(
          FlowCache.layer(
            FlowCache.memory(),
            CacheRedis.tier({ url: `redis://127.0.0.1:${port}`, timeout: "100 millis" })
          )
        )
      )
    )
  )

  // Required: the layer fails at start, with the reason.
  const refused = yield* Effect.flip(
    Layer.build(CacheRedis.layer({ url: "redis://127.0.0.1:1", required: true, connectTimeout: "1 second" }))
  )
  console.log(`required Redis at a refused port: ${refused._tag} (${refused.operation}): ${String(refused.cause)}`)
})

Effect.runPromise(Effect.scoped(program))
