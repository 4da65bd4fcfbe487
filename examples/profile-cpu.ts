/**
 * The guide's cProfile step: a CPU profile of a run, written as
 * `.flowtune/run.cpuprofile` (open it in Chrome DevTools > Performance, or at
 * https://www.speedscope.app), and the top functions by self time.
 *
 *   npx tsx examples/profile-cpu.ts
 */
import * as Effect from "effect/Effect"
import * as Primitive from "flowtune/Primitive"
import * as Profile from "flowtune/Profile"

// Deliberately CPU-heavy prompt building: the kind of hidden cost a profile finds.
function buildPrompt(doc: string): string {
  let prompt = ""
  for (let i = 0; i < 2000; i++) prompt = `${prompt}${doc.charAt(i % doc.length)}`.slice(-500)
  return prompt
}

function scoreTokens(prompt: string): number {
  let score = 0
  for (let round = 0; round < 300; round++) {
    for (const word of prompt.split(/\s+/)) score = (score * 31 + word.length) % 1_000_003
  }
  return score
}

const workflow = Primitive.sequence(
  Primitive.fromFunction("build_prompt", (docs: Array<string>) => docs.map(buildPrompt)),
  Primitive.fromFunction("score", (prompts: Array<string>) => prompts.map(scoreTokens)),
  Primitive.make("model", (scores: Array<number>) => Effect.as(Effect.sleep("100 millis"), scores.length))
)

const docs = Array.from({ length: 200 }, (_, i) => `document ${i} about caching, routing and batching of model calls`)

const program = Effect.gen(function*() {
  const result = yield* Profile.cpu(Primitive.run(workflow, docs), { path: ".flowtune/run.cpuprofile", top: 10 })
  console.log(`Profiled ${result.durationMillis.toFixed(0)}ms of CPU time, written to ${result.path}`)
  console.log(Profile.formatSummary(result.top))
})

Effect.runPromise(program)
