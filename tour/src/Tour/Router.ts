/**
 * Step 5 of the guide: route by complexity. 100 queries (70% simple, 20%
 * medium, 10% complex by the guide's scorer) go either all to the quality
 * model (2.5 s, $0.01) or through `Router.make` with `Router.complexity` to
 * the fast (0.8 s, $0.0005), balanced (1.5 s, $0.005) or quality model.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Primitive from "flowtune/Primitive"
import * as Router from "flowtune/Router"
import type * as Tour from "../Tour.js"
import { claim, costed, mean, model, type Step, timed, TourEnv, traced } from "./Common.js"
import * as World from "./World.js"

/**
 * The guide's three models (the world's `fast`, `balanced`, `quality`;
 * `Model.profiles` in the guide's world).
 *
 * @since 0.1.0
 * @category workflows
 */
export const models = Effect.flatMap(TourEnv, ({ world }) =>
  Effect.all({
    simple: model(world.models.fast, "fast_model"),
    medium: model(world.models.balanced, "balanced_model"),
    complex: model(world.models.quality, "quality_model")
  }))

/**
 * The router: the guide's complexity scorer over the three models. No price
 * is typed into it: the tour adds up what the completions cost.
 *
 * @since 0.1.0
 * @category workflows
 */
export const makeRouter = Effect.map(models, (routes) =>
  Router.make({
    name: "complexity_router",
    routes,
    select: Router.complexity<string>()
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

/**
 * @since 0.1.0
 * @category steps
 */
export const step: Step = {
  id: "router",
  title: "5. Route",
  section: "Step 5: Apply Intelligent Routing",
  run: Effect.gen(function*() {
    const { world } = yield* TourEnv
    const routes = yield* models
    const router = yield* makeRouter
    // Each query's cost is what its completion cost (the model layer's charge), so a
    // route that answers with a dearer model shows up here, whatever the config says.
    const run = <E, R>(p: Primitive.Primitive<string, unknown, E, R>, q: string) =>
      Effect.map(costed(timed(Primitive.run(p, q))), ([[, ms], spent]) => ({ ms, costUsd: spent.costUsd }))
    const always = yield* traced(
      "always the quality model",
      Effect.forEach(queries, (q) => run(routes.complex, q), { concurrency: 10 })
    )
    const routed = yield* traced(
      "routed by complexity",
      Effect.forEach(queries, (q) => run(router, q), { concurrency: 10 })
    )
    const stats = yield* Router.stats(router)
    const alwaysMs = always.value.map((r) => r.ms)
    const routedMs = routed.value.map((r) => r.ms)
    const alwaysCost = mean(always.value.map((r) => r.costUsd))
    const routedCost = mean(routed.value.map((r) => r.costUsd))
    // What each route's answers cost, by the route the scorer gave each query.
    const score = Router.complexity<string>()
    const routeCost = (route: string) =>
      routed.value.reduce((n, r, i) => score(queries[i]!).route === route ? n + r.costUsd : n, 0)
    const mix = (route: string) => 100 * (stats.mix[route] ?? 0)
    const claims: Array<Tour.Claim> = [
      claim("mean latency, always quality", 2.5, mean(alwaysMs) / 1000, "s"),
      claim("mean latency, routed", 1.11, mean(routedMs) / 1000, "s"),
      claim("speedup", 2.25, mean(alwaysMs) / mean(routedMs), "x"),
      claim("mean cost, always quality", 0.01, alwaysCost, "usd"),
      claim("mean cost, routed", 0.00235, routedCost, "usd"),
      claim("cost savings", 4.26, routedCost === 0 ? 0 : alwaysCost / routedCost, "x"),
      claim("simple share", 70, mix("simple"), "%"),
      claim("medium share", 20, mix("medium"), "%"),
      claim("complex share", 10, mix("complex"), "%")
    ]
    return {
      headline: `mean latency ${(mean(alwaysMs) / 1000).toFixed(2)} s -> ${
        (mean(routedMs) / 1000).toFixed(2)
      } s, cost $${alwaysCost.toFixed(4)} -> $${routedCost.toFixed(5)} a query`,
      claims,
      assumptions: [world.models.fast, world.models.balanced, world.models.quality].map((p) => ({
        label: "routed model (simulated)",
        value: World.describeModel(p)
      })),
      timelines: [always.timeline, routed.timeline],
      distributions: [{ label: "always quality", values: alwaysMs }, { label: "routed", values: routedMs }],
      notes: [
        `routes: ${
          Object.entries(stats.routes).map(([k, r]) => `${k} ${r.selected} calls, $${routeCost(k).toFixed(4)} spent`)
            .join("; ")
        }; 10 queries in flight at a time`
      ]
    }
  })
}
