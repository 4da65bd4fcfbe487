/**
 * The end-to-end workload of `npm run bench -- e2e` and its three
 * implementations (flowtune, plain async/await, LangChain.js), shared by the
 * suite (bench/e2e.ts) and its parked-request child (e2eParked.ts).
 */
import { InMemoryCache } from "@langchain/core/caches"
import { RunnableLambda, RunnableParallel, RunnableSequence } from "@langchain/core/runnables"
import * as Effect from "effect/Effect"
import * as Cache from "../../src/Cache.js"
import * as Primitive from "../../src/Primitive.js"
import * as Router from "../../src/Router.js"

// -----------------------------------------------------------------------------
// the workload

/** A fixed pseudo-random sequence (mulberry32), so every variant sees the same queries. */
export const seeded = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** `count` queries, about 51% of them repeats of an earlier one; `round` keeps rounds apart. */
export const workload = (count: number, round: number): Array<string> => {
  const random = seeded(42)
  const queries: Array<string> = []
  for (let i = 0; i < count; i++) {
    queries.push(
      i > 0 && random() < 0.51
        ? queries[Math.floor(random() * i)]!
        : `r${round}: what does document ${i} say about topic ${Math.floor(random() * 1000)}?`
    )
  }
  return queries
}

export const answer = (q: string) => `answer to ${q}`
export const summary = (a: string) => a.length
export const tone = (a: string) => a.slice(0, 6)
export const tags = (a: string) => a.split(" ").length
export const aggregate = (r: { summary: number; tone: string; tags: number }) => `${r.summary}:${r.tone}:${r.tags}`
export const pick = (q: string) => (q.length % 2 === 0 ? "small" : "large")

// -----------------------------------------------------------------------------
// the three implementations

/**
 * The flowtune workflow over `model`. The three branches are plain functions
 * (`fromFunction`, called in place), or with `effectBranches` Effect steps
 * (`Primitive.make`), which each get a fiber.
 */
export const flowtuneWorkflow = (
  model: (name: string) => Primitive.Primitive<string, string>,
  options: { readonly cached?: boolean; readonly effectBranches?: boolean } = {}
) => {
  const cached = options.cached ?? true
  const wrap = (p: Primitive.Primitive<string, string>) => cached ? p.pipe(Cache.wrap({})) : p
  const branch = <A>(name: string, f: (a: string) => A) =>
    options.effectBranches
      ? Primitive.make(name, (a: string) => Effect.succeed(f(a)))
      : Primitive.fromFunction(name, f)
  const routed = Router.make({
    name: "route",
    routes: { small: wrap(model("small")), large: wrap(model("large")) },
    select: pick
  })
  const branches = Primitive.parallel({
    summary: branch("summary", summary),
    tone: branch("tone", tone),
    tags: branch("tags", tags)
  })
  return Primitive.sequence(routed, branches, Primitive.fromFunction("aggregate", aggregate))
}

/** The model at 0 ms. */
export const instantModel = (name: string) => Primitive.make(name, (q: string) => Effect.succeed(answer(q)))

export const plain = () => {
  const cache = new Map<string, Promise<string>>()
  const model = async (q: string) => answer(q)
  const cached = (route: string, q: string) => {
    const key = `${route}\u0000${q}`
    let hit = cache.get(key)
    if (hit === undefined) {
      hit = model(q)
      cache.set(key, hit)
    }
    return hit
  }
  const branch = async <A>(f: (a: string) => A, a: string) => f(a)
  return async (q: string) => {
    const a = await cached(pick(q), q)
    const [s, t, g] = await Promise.all([branch(summary, a), branch(tone, a), branch(tags, a)])
    return aggregate({ summary: s, tone: t, tags: g })
  }
}

export const langchain = () => {
  const cache = new InMemoryCache()
  const model = (route: string) =>
    RunnableLambda.from(async (q: string) => {
      const hit = await cache.lookup(q, route)
      if (hit !== null) return hit[0]!.text
      const text = answer(q)
      await cache.update(q, route, [{ text }])
      return text
    }).withConfig({ runName: route })
  const small = model("small")
  const large = model("large")
  // LangChain's routing idiom: a lambda that returns the runnable to invoke.
  const route = RunnableLambda.from((q: string) => (pick(q) === "small" ? small : large)).withConfig({
    runName: "route"
  })
  const branches = RunnableParallel.from({
    summary: RunnableLambda.from(summary),
    tone: RunnableLambda.from(tone),
    tags: RunnableLambda.from(tags)
  })
  return RunnableSequence.from([route, branches, RunnableLambda.from(aggregate)])
}
