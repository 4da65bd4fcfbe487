/**
 * Cache key normalization, the guide's `_normalize_key`: lowercase, strip
 * punctuation, collapse whitespace, sort words. "What is Python?",
 * "what is python" and "python what is" share one entry, so only the first
 * one reaches the model.
 *
 * Run: npx tsx examples/cache-normalization.ts
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as FlowCache from "flowtune/Cache"
import * as Primitive from "flowtune/Primitive"

const program = Effect.gen(function*() {
  const modelCalls = yield* Ref.make(0)
  const llm = Primitive.make(
    "llm",
    (query: string) =>
      Effect.as(Ref.update(modelCalls, (n) => n + 1), `an answer about ${FlowCache.normalizeText(query)}`)
  )
  const smart = llm.pipe(FlowCache.wrap({ key: FlowCache.normalizedKey }))

  for (const query of ["What is Python?", "what is python", "python what is", "  WHAT is   python!! "]) {
    const answer = yield* Primitive.run(smart, query)
    console.log(
      `${JSON.stringify(query).padEnd(26)} key=${JSON.stringify(FlowCache.normalizedKey(query))} -> ${answer}`
    )
  }
  const stats = yield* FlowCache.stats(smart)
  console.log(`model calls: ${yield* Ref.get(modelCalls)}, hit rate: ${stats.hitRate}`)
}).pipe(Effect.provide(FlowCache.layerMemory()))

Effect.runPromise(program)
