/**
 * The in-flight memory case of `npm run bench -- e2e`: `count` requests
 * parked at the model call in a child process, reporting the heap held per
 * parked request and the time to start them all; beside them the floor (one
 * bare Effect fiber parked on a Deferred) and flowtune without the cache.
 */
import { RunnableLambda, RunnableParallel, RunnableSequence } from "@langchain/core/runnables"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Cache from "../../src/Cache.js"
import * as Primitive from "../../src/Primitive.js"
import { runChild, settledHeap } from "../harness.js"
import { aggregate, answer, flowtuneWorkflow, pick, summary, tags, tone } from "./e2eWorkload.js"

// -----------------------------------------------------------------------------
// the in-flight memory case (child process)

const PARKED_CHILD = "FLOWTUNE_E2E_PARKED"

const parkedChild = async (which: string, count: number) => {
  const queries = Array.from({ length: count }, (_, i) => `parked question ${i}`)
  let keep: unknown
  let release: () => void = () => {}
  const before = settledHeap()
  const start = performance.now()
  if (which === "effect-fiber") {
    // The floor: one Effect fiber parked on a Deferred, nothing else.
    const gate = Effect.runSync(Deferred.make<void>())
    keep = queries.map(() => Effect.runFork(Deferred.await(gate)))
    release = () => Effect.runSync(Deferred.succeed(gate, undefined))
  } else if (which === "flowtune" || which === "flowtune.uncached") {
    const gate = Effect.runSync(Deferred.make<void>())
    const model = (name: string) => Primitive.make(name, (q: string) => Effect.as(Deferred.await(gate), answer(q)))
    const workflow = flowtuneWorkflow(model, { cached: which === "flowtune" })
    const runtime = ManagedRuntime.make(Cache.layerMemory({ capacity: count * 2 }))
    await runtime.runtime()
    keep = queries.map((q) => runtime.runFork(Primitive.run(workflow, q)))
    release = () => Effect.runSync(Deferred.succeed(gate, undefined))
  } else if (which === "plain") {
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    const cache = new Map<string, Promise<string>>()
    const handle = async (q: string) => {
      const key = `${pick(q)}\u0000${q}`
      let hit = cache.get(key)
      if (hit === undefined) {
        hit = gate.then(() => answer(q))
        cache.set(key, hit)
      }
      const a = await hit
      const [s, t, g] = await Promise.all([summary(a), tone(a), tags(a)].map((x) => Promise.resolve(x)))
      return aggregate({ summary: s as number, tone: t as string, tags: g as number })
    }
    keep = queries.map(handle)
    release = () => open()
  } else {
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    const model = RunnableLambda.from(async (q: string) => {
      await gate
      return answer(q)
    })
    const chain = RunnableSequence.from([
      RunnableLambda.from((q: string) => model.invoke(q)),
      RunnableParallel.from({
        summary: RunnableLambda.from(summary),
        tone: RunnableLambda.from(tone),
        tags: RunnableLambda.from(tags)
      }),
      RunnableLambda.from(aggregate)
    ])
    keep = queries.map((q) => chain.invoke(q))
    release = () => open()
  }
  // Started: every request has reached the model and is waiting on the gate.
  await new Promise((resolve) => setImmediate(resolve))
  await new Promise((resolve) => setTimeout(resolve, 50))
  const startMs = performance.now() - start - 50
  const after = settledHeap()
  process.stdout.write(JSON.stringify({
    bytesPerRequest: (after - before) / count,
    startMs,
    kept: keep !== undefined
  }))
  release()
  process.exit(0)
}

if (process.env[PARKED_CHILD]) {
  const [which, count] = process.env[PARKED_CHILD]!.split(":")
  await parkedChild(which!, Number(count))
}

/** Runs `count` parked requests of `which` in a child process (`--expose-gc`). */
export const parked = (which: string, count: number): { bytesPerRequest: number; startMs: number } | string => {
  try {
    return runChild(import.meta.url, { [PARKED_CHILD]: `${which}:${count}` }, 180_000) as {
      bytesPerRequest: number
      startMs: number
    }
  } catch (error) {
    return String((error as Error).message)
  }
}
