import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Primitive from "../Primitive.js"
import * as Router from "../Router.js"
export { resetStats, stats } from "./routerStats.js"
import * as options_ from "./options.js"
import { field, isRecording, unsafeMake } from "./primitive.js"
import { compile } from "./routerComplexity.js"
import { type CostOf, makeCostOf } from "./routerCost.js"
import { type Call as CallOf, outcomeOf, record as recordCall, type Registry, registryOf } from "./routerStats.js"
import { errorTag } from "./stats.js"

/** @internal */
export const TypeId: unique symbol = Symbol.for("flowtune/Router")

// Given to every router when it is built, so a router is recognised without a cast.
const RouterField = field<typeof TypeId>(TypeId)

const ClockTag = Clock.Clock

// Metric definitions are descriptors; their values live in Effect's registry.
const callsTotal = Metric.counter("flowtune_router_calls_total", {
  description: "Runs of a route (first choice or fallback)",
  incremental: true
})
const errorsTotal = Metric.counter("flowtune_router_errors_total", {
  description: "Failed runs of a route, and calls with no route",
  incremental: true
})
const fallbacksTotal = Metric.counter("flowtune_router_fallbacks_total", {
  description: "Failures of a route handed over to the next route",
  incremental: true
})
const costTotal = Metric.counter("flowtune_router_cost_usd_total", {
  description: "US dollars spent on a route",
  incremental: true
})
const latencyMs = Metric.summary({
  name: "flowtune_router_latency_ms",
  description: "Latency of a route's runs, in milliseconds",
  maxAge: "1 minute",
  maxSize: 1024,
  error: 0.01,
  quantiles: [0.5, 0.95, 0.99]
})

/** @internal */
export const metrics = {
  calls: callsTotal,
  errors: errorsTotal,
  fallbacks: fallbacksTotal,
  cost: costTotal,
  latency: latencyMs
}

/** @internal */
export const retryableTags: ReadonlySet<string> = new Set([
  "RateLimited",
  "RateLimitError",
  "RateLimitExceeded",
  "TooManyRequests",
  "Timeout",
  "TimeoutError",
  "TimeoutException",
  "PrimitiveTimeout",
  "Unavailable",
  "ServiceUnavailable",
  "Overloaded"
])

/** @internal */
export const isRetryable = (error: unknown): boolean => {
  if (typeof error !== "object" || error === null) return false
  const flag = (error as { readonly retryable?: unknown }).retryable
  if (typeof flag === "boolean") return flag
  const tag = (error as { readonly _tag?: unknown })._tag
  return typeof tag === "string" && retryableTags.has(tag)
}

/** @internal */
export const isRouter = (u: unknown): u is Router.Router.Any =>
  Primitive.isPrimitive(u) && RouterField.get(u) === TypeId

// ---------------------------------------------------------------------------
// the router

type Call = CallOf<Entry>

interface Entry {
  readonly key: string
  readonly index: number
  readonly primitive: Primitive.Primitive.Any
  readonly costOf: CostOf
  /** This route, then the routes that take over from it, in order. */
  chain: ReadonlyArray<Entry>
  readonly labels: ReadonlyArray<MetricLabel.MetricLabel>
}

/** @internal */
// `any`: the implementation behind typed public overloads: the types are checked at call sites
export const make = (options: Router.MakeOptions<Router.Routes, any, any, any>): Router.Router.Any => {
  if (typeof options !== "object" || options === null) {
    return options_.invalid("Router.make", "options", "an object with `routes` and `select`", options)
  }
  const routes = options.routes
  const keys = typeof routes === "object" && routes !== null ? Object.keys(routes) : []
  const name = options.name === undefined
    ? `router(${keys.join(" | ")})`
    : options_.nonEmptyString("Router.make", "name", options.name)
  if (keys.length === 0) return options_.invalid(name, "routes", "an object with at least one route", routes)
  for (const key of keys) {
    if (!Primitive.isPrimitive(routes[key])) {
      return options_.invalid(name, `routes.${key}`, "a Primitive", routes[key])
    }
  }
  options_.func(name, "select", options.select)
  const defaultKey: string | undefined = options.default === undefined
    ? undefined
    : options_.oneOf(name, "default", options.default, keys)
  const fallback: ReadonlyArray<string> = options.fallback === undefined
    ? []
    : Array.isArray(options.fallback)
    ? options.fallback
    : options_.invalid(name, "fallback", "an array of route names", options.fallback)
  for (const key of fallback) options_.oneOf(name, "fallback", key, keys)
  if (new Set(fallback).size !== fallback.length) {
    return options_.invalid(name, "fallback", "a list of distinct routes", fallback)
  }
  if (options.retryable !== undefined) options_.func(name, "retryable", options.retryable)
  if (options.costs !== undefined) {
    if (typeof options.costs !== "object" || options.costs === null) {
      options_.invalid(name, "costs", "an object keyed by route", options.costs)
    }
    for (const key of Object.keys(options.costs)) options_.oneOf(name, `costs.${key}`, key, keys)
  }

  const routerLabel = MetricLabel.make("router", name)
  const entries: Array<Entry> = keys.map((key, index) => ({
    key,
    index,
    primitive: routes[key]!,
    costOf: makeCostOf(name, key, routes[key]!, options.costs?.[key]),
    chain: [],
    labels: [routerLabel, MetricLabel.make("route", key)]
  }))
  const byKey = new Map(entries.map((e) => [e.key, e]))
  for (const entry of entries) {
    const at = fallback.indexOf(entry.key)
    const next = at >= 0 ? fallback.slice(at + 1) : fallback
    entry.chain = [entry, ...next.map((k) => byKey.get(k)!)]
  }
  const noRouteLabels = [routerLabel, MetricLabel.make("route", "<none>")]
  const retryable: (error: unknown) => boolean = options.retryable ?? isRetryable
  const select = options.select as Router.Selector<unknown, string, unknown, unknown>
  const defaultEntry = defaultKey === undefined ? undefined : byKey.get(defaultKey)

  // Metric labels from `Effect.tagMetrics` are honoured; without them the
  // label array is the precomputed one, which Effect resolves from a cache.
  const labelsFor = (ambient: ReadonlyArray<MetricLabel.MetricLabel>, own: ReadonlyArray<MetricLabel.MetricLabel>) =>
    ambient.length === 0 ? own : [...ambient, ...own]

  const record = (
    call: Call,
    exit: Exit.Exit<unknown, unknown>,
    clock: Clock.Clock,
    start: bigint,
    ambient: ReadonlyArray<MetricLabel.MetricLabel>,
    registry: Registry
  ) => {
    close(call, clock, exit, false)
    const nanos = Number(clock.unsafeCurrentTimeNanos() - start)
    for (const a of call.attempts) {
      const labels = labelsFor(ambient, entries[a.index]!.labels)
      callsTotal.unsafeUpdate(1, labels)
      latencyMs.unsafeUpdate(a.nanos / 1e6, labels)
      if (a.outcome === 1) errorsTotal.unsafeUpdate(1, labels)
      if (a.fellBack) fallbacksTotal.unsafeUpdate(1, labels)
      if (a.cost > 0) costTotal.unsafeUpdate(a.cost, labels)
    }
    if (call.notFound) errorsTotal.unsafeUpdate(1, labelsFor(ambient, noRouteLabels))
    recordCall(registry, self, keys.length, call, outcomeOf(exit), nanos)
    return Effect.void
  }

  // A route run is opened when its effect is built (it starts right after)
  // and closed when it hands over or when the call ends: this keeps the happy
  // path to one `onExit` per call instead of one per route run.
  const open = (entry: Entry, input: unknown, clock: Clock.Clock, call: Call) => {
    call.current = entry
    call.currentStart = clock.unsafeCurrentTimeNanos()
    return entry.primitive.run(input)
  }

  const close = (call: Call, clock: Clock.Clock, exit: Exit.Exit<unknown, unknown>, fellBack: boolean) => {
    const entry = call.current
    if (entry === undefined) return
    call.current = undefined
    call.attempts.push({
      index: entry.index,
      nanos: Number(clock.unsafeCurrentTimeNanos() - call.currentStart),
      outcome: outcomeOf(exit),
      cost: Exit.isSuccess(exit) ? entry.costOf(exit.value) : 0,
      fellBack
    })
  }

  const runChain = (
    chain: ReadonlyArray<Entry>,
    position: number,
    input: unknown,
    clock: Clock.Clock,
    call: Call,
    tracing: boolean
  ): Effect.Effect<unknown, unknown, unknown> => {
    const entry = chain[position]!
    const effect = open(entry, input, clock, call)
    if (position === chain.length - 1) return effect
    return Effect.catchIf(effect, retryable, (error) => {
      close(call, clock, Exit.fail(error), true)
      const next = runChain(chain, position + 1, input, clock, call, tracing)
      if (!tracing) return next
      const to = chain[position + 1]!.key
      const path = chain.slice(0, position + 2).map((e) => e.key).join(" -> ")
      return Effect.zipRight(
        Effect.flatMap(Effect.option(Effect.currentSpan), (span) => {
          if (span._tag === "Some") {
            span.value.event("flowtune.route.fallback", clock.unsafeCurrentTimeNanos(), {
              "flowtune.route.from": entry.key,
              "flowtune.route.to": to,
              "flowtune.route.error": errorTag(error)
            })
            span.value.attribute("flowtune.route.fallback", path)
            span.value.attribute("flowtune.route.served", to)
          }
          return Effect.void
        }),
        next
      )
    })
  }

  const resolve = (selection: Router.Selection, call: Call): Entry | Router.RouteNotFound => {
    const key = typeof selection === "string" ? selection : selection?.route
    const entry = typeof key === "string" ? byKey.get(key) : undefined
    if (entry !== undefined) {
      call.selected = entry.index
      return entry
    }
    if (defaultEntry !== undefined) {
      call.selected = defaultEntry.index
      return defaultEntry
    }
    call.notFound = true
    return new Router.RouteNotFound({ router: name, route: String(key), routes: keys })
  }

  const reasonOf = (selection: Router.Selection, entry: Entry): string => {
    const key = typeof selection === "string" ? selection : selection.route
    const reason = typeof selection === "string" ? undefined : selection.reason
    if (key !== entry.key) return `no route "${key}": default route "${entry.key}"`
    return reason ?? `selected "${key}"`
  }

  const dispatch = (selection: Router.Selection, input: unknown, clock: Clock.Clock, call: Call, tracing: boolean) => {
    const resolved = resolve(selection, call)
    if (!("chain" in resolved)) return Effect.fail(resolved)
    const run = runChain(resolved.chain, 0, input, clock, call, tracing)
    if (!tracing) return run
    return Effect.zipRight(
      Effect.annotateCurrentSpan({
        "flowtune.route": resolved.key,
        "flowtune.route.reason": reasonOf(selection, resolved)
      }),
      run
    )
  }

  // One call, given the running fiber: the primitive runs it in the same
  // step as its tracer check. Span attributes are only written when the
  // primitive has opened its own span (a recording tracer), never on the caller's.
  const direct = (input: unknown, fiber: Fiber.RuntimeFiber<unknown, unknown>) => {
    const tracing = isRecording(fiber)
    const ambient = fiber.getFiberRef(FiberRef.currentMetricLabels)
    const clock = Context.get(fiber.currentDefaultServices, ClockTag)
    // Statistics go to the registry of this fiber (`Router.layerStats`, or the process-wide default).
    const registry = registryOf(fiber.currentContext)
    const start = clock.unsafeCurrentTimeNanos()
    const call: Call = { selected: -1, notFound: false, attempts: [], current: undefined, currentStart: start }
    const selected = select(input)
    const routed = Effect.isEffect(selected)
      ? Effect.flatMap(selected, (s) => dispatch(s, input, clock, call, tracing))
      : dispatch(selected, input, clock, call, tracing)
    return Effect.onExit(routed, (exit) => record(call, exit, clock, start, ambient, registry))
  }

  // Everything a router exposes is given at construction: the finished
  // primitive is never patched, and it holds no state (issue 15). Its
  // statistics are keyed by the router itself in the running fiber's registry.
  const self: Router.Router.Any = unsafeMake({
    name,
    kind: "router",
    children: entries.map((e) => e.primitive),
    annotations: {},
    body: (input: unknown) => Effect.withFiberRuntime<unknown, unknown, unknown>((fiber) => direct(input, fiber)),
    direct,
    fields: { ...RouterField.of(TypeId), routes, defaultRoute: defaultKey, fallback }
  }) as unknown as Router.Router.Any
  return self
}

// ---------------------------------------------------------------------------
// complexity selector

const defaultText = (input: unknown): string => {
  if (typeof input === "string") return input
  if (typeof input === "object" && input !== null) {
    const record = input as Record<string, unknown>
    for (const field of ["query", "prompt", "text"]) {
      if (typeof record[field] === "string") return record[field]
    }
  }
  // A selector given an input it cannot read is a bug: a defect, not a route.
  throw new TypeError(
    "Router.complexity: the input is not a string and has no string `query`, `prompt` or `text`; pass `text`"
  )
}

/** @internal */
export const complexity = <In>(options: Router.ComplexityOptions<In> = {}) => {
  const { decide } = compile(options)
  const owner = "Router.complexity"
  const text = (options.text === undefined ? defaultText : options_.func(owner, "text", options.text)) as (
    input: In
  ) => string
  if (options.routes !== undefined && (typeof options.routes !== "object" || options.routes === null)) {
    options_.invalid(owner, "routes", "an object { simple, medium, complex } of route names", options.routes)
  }
  const route = (level: Router.ComplexityLevel) => {
    const given = options.routes?.[level]
    return given === undefined ? level : options_.nonEmptyString(owner, `routes.${level}`, given)
  }
  const routes = { simple: route("simple"), medium: route("medium"), complex: route("complex") }
  return (input: In): Router.ComplexityDecision => decide(text(input), routes)
}
