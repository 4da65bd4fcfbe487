/**
 * Routing: send each input to the primitive that fits it (the guide's
 * "Apply Intelligent Routing"), and account for what that choice costs.
 *
 * A router is built from a record of routes (primitives) and a selector that
 * names the route for an input, purely or as an Effect (it may read the
 * `WorkflowContext`). The router is itself a `Primitive`, so it composes,
 * caches and streams like any other step. Every call is accounted per route:
 * calls, failures, latency (from Effect's `Clock`, so exact under the
 * `TestClock`) and cost, as Effect `Metric`s (`flowtune_router_*`), as span
 * attributes (`flowtune.route`, `flowtune.route.reason`) and as a snapshot
 * (`Router.stats`) with the traffic mix, the mean latency and the mean cost.
 * When the chosen route fails with a retryable error (rate limited, timed out,
 * unavailable), the router moves on to the next route of its `fallback` list.
 *
 * `Router.complexity()` is the guide's complexity scorer as a ready selector.
 *
 * **Where state lives.** A combinator's state is created by an Effect
 * (`yield* Batch.make`, `Hedge.make`, `Concurrency.make`, `Budget.make`,
 * `Stream.cached`) or lives in a service provided by a layer (`Cache` tiers,
 * router statistics); never at definition time, never by patching a
 * primitive. `Router.make` is therefore a plain, synchronous definition (call
 * it at module level): a router's statistics live in the `RouterStats`
 * registry of the fiber that runs it. Its default is one registry for the
 * process; `Router.layerStats` gives a fresh one (per test, per tenant), and
 * `Router.stats` / `Router.resetStats` read the registry of the fiber that
 * calls them.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Primitive, Router } from "flowtune"
 *
 * const model = (name: string, latency: string, costPerCall: number) =>
 *   Primitive.make(name, (query: string) => Effect.as(Effect.sleep(latency), `${name}: ${query}`), {
 *     annotations: { costPerCall }
 *   })
 *
 * const router = Router.make({
 *   routes: {
 *     simple: model("gpt-3.5", "800 millis", 0.0005),
 *     medium: model("gpt-4-turbo", "1500 millis", 0.005),
 *     complex: model("gpt-4", "2500 millis", 0.01)
 *   },
 *   select: Router.complexity(),
 *   fallback: ["complex", "medium", "simple"]
 * })
 *
 * const program = Effect.gen(function*() {
 *   yield* Primitive.run(router, "What is 2 + 2?") // -> simple
 *   return yield* Router.stats(router) // traffic mix, mean latency, mean cost
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Metric from "effect/Metric"
import * as internal from "./internal/router.js"
import * as complexityInternal from "./internal/routerComplexity.js"
import * as stats_ from "./internal/routerStats.js"
import type * as Primitive from "./Primitive.js"

/**
 * @since 0.1.0
 * @category symbols
 */
// `any`: the same registered symbol as the implementation's, re-declared as this module's unique symbol type.
export const TypeId: unique symbol = internal.TypeId as any

/**
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * The routes of a router: a record of primitives keyed by route name.
 *
 * @since 0.1.0
 * @category models
 */
export type Routes = { readonly [key: string]: Primitive.Primitive.Any }

/**
 * @since 0.1.0
 * @category type-level
 */
export type RouteKey<R extends Routes> = keyof R & string

/**
 * What every route accepts: the intersection of the routes' inputs.
 *
 * @since 0.1.0
 * @category type-level
 */
export type RoutesInput<R extends Routes> = { [K in keyof R]: (_: Primitive.Input<R[K]>) => void }[keyof R] extends
  (_: infer I) => void ? I : never

/**
 * @since 0.1.0
 * @category type-level
 */
export type RoutesOutput<R extends Routes> = Primitive.Output<R[keyof R]>

/**
 * @since 0.1.0
 * @category type-level
 */
export type RoutesError<R extends Routes> = Primitive.Error<R[keyof R]>

/**
 * @since 0.1.0
 * @category type-level
 */
export type RoutesContext<R extends Routes> = Primitive.Context<R[keyof R]>

/**
 * A router: a primitive that runs one of its routes per input.
 *
 * @since 0.1.0
 * @category models
 */
export interface Router<R extends Routes, E = never, Ctx = never> extends
  Primitive.Primitive<
    RoutesInput<R>,
    RoutesOutput<R>,
    RoutesError<R> | E,
    RoutesContext<R> | Ctx
  >
{
  readonly [TypeId]: TypeId
  readonly routes: R
  /** The route used when the selector names an unknown one. */
  readonly defaultRoute: RouteKey<R> | undefined
  /** The order in which routes take over from a failed one. */
  readonly fallback: ReadonlyArray<RouteKey<R>>
}

/**
 * @since 0.1.0
 */
export declare namespace Router {
  /**
   * Any router, whatever its types.
   *
   * @since 0.1.0
   * @category models
   */
  // `any`: every instance whatever its type parameters (some are contravariant, so `unknown` would not accept them all)
  export type Any = Router<any, any, any>
}

/**
 * A selector's answer with its reason (recorded as the span attribute
 * `flowtune.route.reason`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Decision<K extends string = string> {
  readonly route: K
  readonly reason?: string | undefined
}

/**
 * What a selector returns: a route key, or a `Decision` with its reason.
 * Only the router's keys type-check, so a selector that can name a route the
 * router does not have is a compile error. A key that is only known at run
 * time (configuration, the run context) is checked with `isRoute` first, or
 * cast on purpose; an unknown key that still arrives (from untyped code) goes
 * to the default route or fails with `RouteNotFound`.
 *
 * @since 0.1.0
 * @category models
 */
export type Selection<K extends string = string> = K | Decision<K>

/**
 * Picks a route for an input, purely or as an Effect.
 *
 * @since 0.1.0
 * @category models
 */
export type Selector<In, K extends string = string, E = never, R = never> = (
  input: In
) => Selection<K> | Effect.Effect<Selection<K>, E, R>

/**
 * Token usage, as a route's output reports it. By convention an output that
 * is an object with `usage: { inputTokens, outputTokens }` (the shape of
 * `@effect/ai`'s usage) is read without configuration.
 *
 * @since 0.1.0
 * @category models
 */
export interface Usage {
  readonly inputTokens?: number | undefined
  readonly outputTokens?: number | undefined
}

/**
 * The price of a route in US dollars: per call, per 1,000 input and output
 * tokens, or both. Token counts come from `usage(output)`, by default from the
 * output's `usage` field. Only successful calls are charged.
 *
 * Without a cost option, a route's annotations are used: `costPerCall`,
 * `costPer1kInputTokens`, `costPer1kOutputTokens`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RouteCost<Out = unknown> {
  readonly perCall?: number | undefined
  readonly per1kInputTokens?: number | undefined
  readonly per1kOutputTokens?: number | undefined
  readonly usage?: ((output: Out) => Usage | undefined) | undefined
}

/**
 * Options of `make`.
 *
 * @since 0.1.0
 * @category models
 */
export interface MakeOptions<R extends Routes, E, Ctx, D extends RouteKey<R> | undefined> {
  /** The router's name: its span name and its `router` metric tag. */
  readonly name?: string | undefined
  readonly routes: R
  readonly select: Selector<RoutesInput<R>, RouteKey<R>, E, Ctx>
  /** Where inputs go when the selector names an unknown route. */
  readonly default?: D
  /**
   * An ordered list of routes. When the route that ran fails with a retryable
   * error, the next route of the list after it runs (or the first of the list
   * when it is not in the list), until one succeeds or the list ends. E.g.
   * `["complex", "medium", "simple"]` degrades from quality to speed.
   */
  readonly fallback?: ReadonlyArray<RouteKey<R>> | undefined
  /**
   * Which failures move on to the next route. Default: `isRetryable`.
   */
  readonly retryable?: ((error: RoutesError<R>) => boolean) | undefined
  /** Per-route prices; a number is a price per call. */
  readonly costs?:
    | { readonly [K in keyof R]?: number | RouteCost<Primitive.Output<R[K]>> | undefined }
    | undefined
}

/**
 * The selector named a route that does not exist and the router has no
 * default.
 *
 * @since 0.1.0
 * @category errors
 */
export class RouteNotFound extends Data.TaggedError("RouteNotFound")<{
  readonly router: string
  readonly route: string
  readonly routes: ReadonlyArray<string>
}> {
  override get message() {
    return `Router "${this.router}" has no route "${this.route}" (routes: ${this.routes.join(", ")})`
  }
}

/**
 * The errors this module produces in the error channel.
 *
 * @since 0.1.0
 * @category errors
 */
export type RouterError = RouteNotFound

/**
 * The router's Effect metrics, each tagged with `router` (its name) and
 * `route` (the route key, or `<none>` for calls that found no route):
 *
 * - `flowtune_router_calls_total`: runs of a route, first choice or fallback;
 * - `flowtune_router_errors_total`: failed runs, and calls with no route;
 * - `flowtune_router_fallbacks_total`: failures handed to the next route;
 * - `flowtune_router_cost_usd_total`: US dollars spent;
 * - `flowtune_router_latency_ms`: a summary (p50, p95, p99) of run latency.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { Router } from "flowtune"
 *
 * const simpleCalls = Metric.value(
 *   Router.metrics.calls.pipe(Metric.tagged("router", "my-router"), Metric.tagged("route", "simple"))
 * )
 * ```
 *
 * @since 0.1.0
 * @category accounting
 */
export const metrics: {
  readonly calls: Metric.Metric.Counter<number>
  readonly errors: Metric.Metric.Counter<number>
  readonly fallbacks: Metric.Metric.Counter<number>
  readonly cost: Metric.Metric.Counter<number>
  readonly latency: Metric.Metric.Summary<number>
} = internal.metrics

/**
 * The `_tag`s that `isRetryable` treats as transient.
 *
 * @since 0.1.0
 * @category fallback
 */
export const retryableTags: ReadonlySet<string> = internal.retryableTags

/**
 * The default fallback predicate: an error with `retryable: true`, or whose
 * `_tag` is one of `retryableTags` (`RateLimited`, `Timeout`,
 * `TimeoutException`, `PrimitiveTimeout`, `Unavailable`, ...). An error with
 * `retryable: false` is never retried, whatever its tag.
 *
 * @since 0.1.0
 * @category fallback
 */
export const isRetryable: (error: unknown) => boolean = internal.isRetryable

/**
 * @since 0.1.0
 * @category guards
 */
export const isRouter: (u: unknown) => u is Router.Any = internal.isRouter

/**
 * Whether `key` names one of `routes`: narrows a key known only at run time
 * (configuration, a header) to the router's keys, so a selector can return it.
 *
 * @example
 * ```ts
 * select: (input) => Router.isRoute(routes, input.model) ? input.model : "simple"
 * ```
 *
 * @since 0.2.0
 * @category guards
 */
export const isRoute = <R extends Routes>(routes: R, key: unknown): key is RouteKey<R> =>
  typeof key === "string" && Object.prototype.hasOwnProperty.call(routes, key)

/**
 * Builds a router. Mistakes in its definition (no routes, a route that is not
 * a primitive, a default or a fallback naming an unknown route, a negative
 * cost) throw `Primitive.InvalidPrimitive` here, like the rest of `Primitive`.
 *
 * The error type includes `RouteNotFound` unless a `default` is given.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: <
  const R extends Routes,
  E = never,
  Ctx = never,
  const D extends RouteKey<R> | undefined = undefined
>(
  options: MakeOptions<R, E, Ctx, D>
) => Router<R, E | (undefined extends D ? RouteNotFound : never), Ctx> = internal.make as any // `any`: the overloads are checked at call sites; the implementation is untyped

/**
 * Per-route figures of a `Stats` snapshot.
 *
 * @since 0.1.0
 * @category models
 */
export interface RouteStats {
  readonly route: string
  /** How many calls the selector (or the default) sent here. */
  readonly selected: number
  /** `selected` over the router's calls: this route's part of the traffic mix. */
  readonly share: number
  /** Runs of this route, first choice or fallback. */
  readonly calls: number
  readonly successes: number
  readonly failures: number
  readonly interrupted: number
  /** Failures of this route that were handed to the next route. */
  readonly fallbacks: number
  readonly totalLatency: Duration.Duration
  /** Over this route's runs. */
  readonly meanLatency: Duration.Duration
  readonly totalCost: number
  /** Over this route's runs. */
  readonly meanCost: number
}

/**
 * A snapshot of a router's accounting in one `RouterStats` registry, since
 * its first call there (or its reset).
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  readonly router: string
  /** Calls of the router. */
  readonly calls: number
  readonly successes: number
  readonly failures: number
  readonly interrupted: number
  /** Calls that failed with `RouteNotFound`. */
  readonly notFound: number
  /** Hand-overs from a failed route to the next one. */
  readonly fallbacks: number
  /** End to end: selection plus every route run. */
  readonly totalLatency: Duration.Duration
  /** Over the router's calls. */
  readonly meanLatency: Duration.Duration
  readonly totalCost: number
  /** Over the router's calls. */
  readonly meanCost: number
  /** The traffic mix: route key -> share of the calls it was selected for. */
  readonly mix: Readonly<Record<string, number>>
  readonly routes: Readonly<Record<string, RouteStats>>
}

/**
 * The registry that holds the statistics of routers, by router (a router no
 * longer referenced drops its figures).
 *
 * @since 0.2.0
 * @category accounting
 */
export interface StatsRegistry {
  /** @internal */
  readonly routers: WeakMap<Router.Any, stats_.Cell>
}

/**
 * The statistics registry of the running fiber. Nothing needs to provide it:
 * its default is one registry for the whole process. Provide
 * `Router.layerStats` for statistics of their own (a test, a tenant).
 *
 * @since 0.2.0
 * @category accounting
 */
export class RouterStats extends Context.Reference<RouterStats>()("flowtune/Router/RouterStats", {
  // Lazy: the implementation module is read when the default is first needed.
  defaultValue: (): StatsRegistry => stats_.makeRegistry()
}) {}

/**
 * A fresh statistics registry: the routers run under it are accounted apart
 * from the process-wide default and from every other `layerStats`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Primitive, Router } from "flowtune"
 *
 * const router = Router.make({
 *   routes: { echo: Primitive.fromFunction("echo", (s: string) => s) },
 *   select: () => "echo"
 * })
 *
 * // Counts the calls of this program only.
 * const calls = Effect.gen(function*() {
 *   yield* router.run("hi")
 *   return (yield* Router.stats(router)).calls // 1
 * }).pipe(Effect.provide(Router.layerStats))
 * ```
 *
 * @since 0.2.0
 * @category accounting
 */
export const layerStats: Layer.Layer<RouterStats> = Layer.sync(RouterStats, () => stats_.makeRegistry())

/**
 * The router's accounting so far, in the current `RouterStats` registry.
 *
 * @since 0.1.0
 * @category accounting
 */
export const stats: (self: Router.Any) => Effect.Effect<Stats> = internal.stats

/**
 * Sets the router's accounting in the current `RouterStats` registry back to
 * zero (its metrics are cumulative and are left alone).
 *
 * @since 0.1.0
 * @category accounting
 */
export const resetStats: (self: Router.Any) => Effect.Effect<void> = internal.resetStats

/**
 * The scorer's verdict.
 *
 * @since 0.1.0
 * @category complexity
 */
export type ComplexityLevel = "simple" | "medium" | "complex"

/**
 * Inputs longer than `above` words score `weight`; only the highest band
 * passed counts.
 *
 * @since 0.1.0
 * @category complexity
 */
export interface LengthBand {
  readonly above: number
  readonly weight: number
}

/**
 * Options of the complexity scorer. Every default is the guide's.
 *
 * @since 0.1.0
 * @category complexity
 */
export interface ScoreOptions {
  /** Default: analyze, compare, explain, why, how, detailed. */
  readonly keywords?: ReadonlyArray<string> | undefined
  /**
   * `"word"` (default): a keyword matches a whole word, case-insensitively
   * ("How?" matches "how", "show" does not). `"substring"`: the guide's
   * `kw in query.lower()`, where "show" matches "how".
   */
  readonly keywordMatch?: "word" | "substring" | undefined
  /**
   * Default: "```" anywhere, "def " and "class " at the start of a word
   * (case-sensitive).
   */
  readonly codeMarkers?: ReadonlyArray<string> | undefined
  /** Default: more than 100 words +0.4, more than 50 +0.2. */
  readonly lengthBands?: ReadonlyArray<LengthBand> | undefined
  /** Default: keyword +0.3, code +0.3. */
  readonly weights?: { readonly keyword?: number | undefined; readonly code?: number | undefined } | undefined
  /** Default: complex at 0.6 and above, medium at 0.3 and above. */
  readonly thresholds?: { readonly medium?: number | undefined; readonly complex?: number | undefined } | undefined
}

/**
 * The scorer's result, with the reasons behind the score.
 *
 * @since 0.1.0
 * @category complexity
 */
export interface ComplexityScore {
  readonly score: number
  readonly level: ComplexityLevel
  /**
   * Whitespace-separated words, as Python's `split()` counts them, counted up
   * to one past the highest length band (more cannot change the score).
   */
  readonly words: number
  /** Counting stopped before the end of the text: `words` is a lower bound. */
  readonly truncated: boolean
  /** The first keyword of the list that the text contains, if any. */
  readonly keyword: string | undefined
  /** The first code marker of the list that the text contains, if any. */
  readonly code: string | undefined
  readonly reasons: ReadonlyArray<string>
}

/**
 * A compiled scorer: `scorer(options)` once, then call it per text.
 *
 * @since 0.1.0
 * @category complexity
 */
export const scorer = (options?: ScoreOptions): (text: string) => ComplexityScore =>
  complexityInternal.compile(options).score

/**
 * The route key of each complexity level (default: the level's name).
 *
 * @since 0.2.0
 * @category complexity
 */
export interface ComplexityRoutes {
  readonly simple?: string | undefined
  readonly medium?: string | undefined
  readonly complex?: string | undefined
}

type LevelRoute<M, L extends ComplexityLevel> = M extends { readonly [P in L]: infer S extends string } ? S : L

/**
 * The route keys a complexity selector can return: the names given in
 * `routes`, the level's own name for the others.
 *
 * @since 0.2.0
 * @category complexity
 */
export type ComplexityRoute<M extends ComplexityRoutes> =
  | LevelRoute<M, "simple">
  | LevelRoute<M, "medium">
  | LevelRoute<M, "complex">

/**
 * Options of `complexity`.
 *
 * @since 0.1.0
 * @category complexity
 */
export interface ComplexityOptions<In, M extends ComplexityRoutes = ComplexityRoutes> extends ScoreOptions {
  /**
   * The text to score. Default: the input itself when it is a string, else its
   * `query`, `prompt` or `text` field.
   */
  readonly text?: ((input: In) => string) | undefined
  /** The route key for each level. Default: "simple", "medium", "complex". */
  readonly routes?: M | undefined
}

/**
 * The complexity selector's decision: the route, the reason and the score.
 *
 * @since 0.1.0
 * @category complexity
 */
export interface ComplexityDecision<K extends string = string> extends ComplexityScore, Decision<K> {
  readonly route: K
  readonly reason: string
}

/**
 * The guide's complexity scorer as a selector: more than 100 words +0.4 (more
 * than 50: +0.2), a complexity keyword +0.3, code +0.3; complex at 0.6, medium
 * at 0.3, simple below. Every weight, band, keyword, marker and threshold is
 * an option. No regular expressions and no `split`: words are counted in one
 * pass that stops past the highest band, keywords and markers are found with
 * the engine's native `indexOf`.
 *
 * Any function `(input) => key | { route, reason } | Effect<...>` is a
 * selector too; wrap this one to combine it with your own rules.
 *
 * @since 0.1.0
 * @category complexity
 */
export const complexity: <In = string | { readonly query: string }, const M extends ComplexityRoutes = {}>(
  options?: ComplexityOptions<In, M>
) => (input: In) => ComplexityDecision<ComplexityRoute<M>> = internal.complexity as any // `any`: the route names are checked at call sites
