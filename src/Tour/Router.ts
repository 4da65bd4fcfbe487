/**
 * Step 5 of the guide: route by complexity. 100 queries (70% simple, 20%
 * medium, 10% complex by the guide's scorer) go either all to the quality
 * model (2.5 s, $0.01) or through `Router.make` with `Router.complexity` to
 * the fast (0.8 s, $0.0005), balanced (1.5 s, $0.005) or quality model.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Model from "../Model.js"
import * as Primitive from "../Primitive.js"
import * as Router from "../Router.js"
import type * as Tour from "../Tour.js"
import { claim, mean, model, type Step, timed, traced } from "./Common.js"

/**
 * The guide's three models (`Model.profiles.fast`, `balanced`, `quality`).
 *
 * @since 0.1.0
 * @category workflows
 */
export const models = Effect.all({
  simple: model(Model.profiles.fast, "fast_model"),
  medium: model(Model.profiles.balanced, "balanced_model"),
  complex: model(Model.profiles.quality, "quality_model")
})

/**
 * The router: the guide's complexity scorer over the three models.
 *
 * @since 0.1.0
 * @category workflows
 */
export const makeRouter = Effect.map(models, (routes) =>
  Router.make({
    name: "complexity_router",
    routes,
    select: Router.complexity<string>(),
    costs: { simple: 0.0005, medium: 0.005, complex: 0.01 }
  }))

/**
 * 100 queries: in every 10, 7 simple, 2 medium (a keyword), 1 complex (a
 * keyword and code).
 *
 * @since 0.1.0
 * @category workflows
 */
export const queries: ReadonlyArray<string> = Array.from({ length: 100 }, (_, i) =>
  i % 10 < 7
    ? `what time is it in city ${i}`
    : i % 10 < 9
    ? `how do I sort list ${i} by date`
    : `explain why this fails: \`\`\`def f${i}(): return 1 / 0\`\`\``)

const priceOf = (route: string) => route === "simple" ? 0.0005 : route === "medium" ? 0.005 : 0.01

/**
 * @since 0.1.0
 * @category steps
 */
export const step: Step = {
  id: "router",
  title: "5. Route",
  section: "Step 5: Apply Intelligent Routing",
  run: Effect.gen(function*() {
    const routes = yield* models
    const router = yield* makeRouter
    const always = yield* traced(
      "always the quality model",
      Effect.forEach(queries, (q) => timed(Primitive.run(routes.complex, q)), { concurrency: 10 })
    )
    const routed = yield* traced(
      "routed by complexity",
      Effect.forEach(queries, (q) => timed(Primitive.run(router, q)), { concurrency: 10 })
    )
    const stats = yield* Router.stats(router)
    const alwaysMs = always.value.map(([, ms]) => ms)
    const routedMs = routed.value.map(([, ms]) => ms)
    const alwaysCost = queries.length * 0.01 / queries.length
    const routedCost = stats.meanCost
    const mix = (route: string) => 100 * (stats.mix[route] ?? 0)
    const claims: Array<Tour.Claim> = [
      claim("mean latency, always quality", 2.5, mean(alwaysMs) / 1000, "s"),
      claim("mean latency, routed", 1.11, mean(routedMs) / 1000, "s"),
      claim("speedup", 2.25, mean(alwaysMs) / mean(routedMs), "x"),
      claim("mean cost, always quality", 0.01, alwaysCost, "usd"),
      claim("mean cost, routed", 0.00235, routedCost, "usd"),
      claim("cost savings", 4.26, alwaysCost / routedCost, "x"),
      claim("simple share", 70, mix("simple"), "%"),
      claim("medium share", 20, mix("medium"), "%"),
      claim("complex share", 10, mix("complex"), "%")
    ]
    return {
      headline: `mean latency ${(mean(alwaysMs) / 1000).toFixed(2)} s -> ${
        (mean(routedMs) / 1000).toFixed(2)
      } s, cost $${alwaysCost.toFixed(4)} -> $${routedCost.toFixed(5)} a query`,
      claims,
      timelines: [always.timeline, routed.timeline],
      distributions: [{ label: "always quality", values: alwaysMs }, { label: "routed", values: routedMs }],
      notes: [
        `routes: ${
          Object.entries(stats.routes).map(([k, r]) =>
            `${k} ${r.selected} calls, $${r.totalCost.toFixed(4)} (${priceOf(k)} each)`
          ).join("; ")
        }; 10 queries in flight at a time`
      ]
    }
  })
}
