/**
 * The tour in a wrong world: the GPT-4-class models at five times the
 * guide's price. The tour adds up what the completions cost, so the cost
 * claims of the router step fail, and the table says by how much; the
 * latency claims, untouched by prices, still hold.
 *
 *   npx tsx examples/tour-world.ts
 *
 * Scale 0.05: the router step's 200 model calls take about 3 s.
 */
import { NodeContext } from "@effect/platform-node"
import { Effect } from "effect"
import * as Model from "flowtune/Model"
import * as Tour from "../tour/src/Tour.js"

const dearer = { ...Model.profiles.quality, costPerCall: (Model.profiles.quality.costPerCall ?? 0) * 5 }

const program = Tour.run({
  scale: 0.05,
  steps: ["router"],
  report: false,
  embedded: true,
  world: { models: { quality: dearer } }
}).pipe(
  Effect.tap((result) => Effect.sync(() => result.steps.forEach((step) => console.log(Tour.formatStep(step))))),
  Effect.tap((result) =>
    Effect.sync(() =>
      console.log(
        `\ncost claims that failed: ${
          result.steps.flatMap((s) => s.claims.filter((c) => c.unit === "usd" || c.label === "cost savings"))
            .filter((c) => !c.ok).map((c) => c.label).join(", ")
        }`
      )
    )
  ),
  Effect.provide(NodeContext.layer)
)

Effect.runPromise(program)
