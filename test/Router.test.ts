import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Ref from "effect/Ref"
import * as TestClock from "effect/TestClock"
import * as Tracer from "effect/Tracer"
import * as Primitive from "flowtune/Primitive"
import * as Router from "flowtune/Router"
import * as WorkflowContext from "flowtune/WorkflowContext"

class RateLimited extends Data.TaggedError("RateLimited")<{ readonly model: string }> {}
class Unavailable extends Data.TaggedError("Unavailable")<{ readonly model: string }> {}
class BadRequest extends Data.TaggedError("BadRequest")<{ readonly model: string }> {}

/** A simulated model: sleeps for its latency, answers with its name. */
const model = (name: string, latency: Duration.DurationInput, costPerCall: number) =>
  Primitive.make(name, (query: string) => Effect.as(Effect.sleep(latency), `${name}: ${query}`), {
    annotations: { costPerCall }
  })

const guideRoutes = () => ({
  simple: model("gpt-3.5", "800 millis", 0.0005),
  medium: model("gpt-4-turbo", "1500 millis", 0.005),
  complex: model("gpt-4", "2500 millis", 0.01)
})

/** The guide's workload: 70 simple, 20 medium, 10 complex queries, interleaved. */
const workload: ReadonlyArray<string> = Array.from({ length: 100 }, (_, i) => {
  const k = i % 10
  if (k < 7) return `What is the capital of country number ${i}?`
  if (k < 9) return `Explain photosynthesis to a ten year old (${i})`
  return `Analyze this code and explain the bug:\n\`\`\`python\ndef f(x): return x / 0\n\`\`\``
})

/** Runs `effect` to completion while moving the TestClock far enough. */
const virtually = <A, E>(effect: Effect.Effect<A, E>) => Effect.map(timed(effect), ([, a]) => a)

/** Like `virtually`, also returning how much virtual time the effect took. */
const timed = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Effect.timed(effect))
    yield* TestClock.adjust("1 hour")
    const [elapsed, a] = yield* Fiber.join(fiber)
    return [Duration.toMillis(elapsed), a] as const
  })

/** A tracer that keeps every span it makes, on top of the native one. */
const recordingTracer = Effect.gen(function*() {
  const spans: Array<Tracer.Span> = []
  const base = yield* Effect.tracer
  const tracer = Tracer.make({
    span: (...args) => {
      const span = base.span(...args)
      spans.push(span)
      return span
    },
    context: (f, fiber) => base.context(f, fiber)
  })
  return { spans, tracer }
})

const eventsOf = (span: Tracer.Span) =>
  (span as unknown as { events: Array<[string, bigint, Record<string, unknown>]> }).events

describe("Router", () => {
  describe("the guide's 70/20/10 scenario", () => {
    it.effect("routes by complexity: mean latency 1.11 s vs 2.5 s, mean cost $0.00235 vs $0.01", () =>
      Effect.gen(function*() {
        const routed = Router.make({ name: "guide-routed", routes: guideRoutes(), select: Router.complexity() })
        const quality = Router.make({ name: "guide-quality", routes: guideRoutes(), select: () => "complex" })

        const runAll = (router: typeof routed) =>
          timed(Effect.forEach(workload, (q) => Primitive.run(router, q), { discard: true }))

        const [routedMillis] = yield* runAll(routed)
        const [qualityMillis] = yield* runAll(quality)

        const fast = yield* Router.stats(routed)
        const slow = yield* Router.stats(quality)
        assert.strictEqual(fast.calls, 100)
        assert.deepStrictEqual(fast.mix, { simple: 0.7, medium: 0.2, complex: 0.1 })
        // the runs really took 111 s and 250 s of virtual time
        assert.deepStrictEqual([routedMillis, qualityMillis], [111_000, 250_000])
        assert.strictEqual(Duration.toMillis(fast.meanLatency), 1110)
        assert.strictEqual(Duration.toMillis(slow.meanLatency), 2500)
        assert.closeTo(fast.meanCost, 0.00235, 1e-12)
        assert.closeTo(slow.meanCost, 0.01, 1e-12)
        assert.closeTo(Duration.toMillis(slow.meanLatency) / Duration.toMillis(fast.meanLatency), 2.25, 0.005)
        assert.closeTo(slow.meanCost / fast.meanCost, 4.26, 0.005)

        assert.strictEqual(Duration.toMillis(fast.routes.simple!.meanLatency), 800)
        assert.strictEqual(Duration.toMillis(fast.routes.medium!.meanLatency), 1500)
        assert.strictEqual(Duration.toMillis(fast.routes.complex!.meanLatency), 2500)
        assert.closeTo(fast.totalCost, 0.235, 1e-12)
      }))
  })

  describe("construction", () => {
    const invalid = (f: () => unknown): Primitive.InvalidPrimitive => {
      try {
        f()
      } catch (error) {
        assert.instanceOf(error, Primitive.InvalidPrimitive)
        return error as Primitive.InvalidPrimitive
      }
      return assert.fail("expected InvalidPrimitive")
    }

    it("rejects a router with no routes", () => {
      // @ts-expect-error a router without routes has no key a selector could return
      const error = invalid(() => Router.make({ routes: {}, select: () => "x" }))
      assert.match(error.reason, /at least one route/)
    })

    it("rejects a default that is not a route, naming it and the routes", () => {
      const error = invalid(() =>
        Router.make({ name: "r", routes: guideRoutes(), select: () => "simple", default: "fast" as "simple" })
      )
      assert.strictEqual(error.primitive, "r")
      assert.strictEqual(error.option, "default")
      assert.strictEqual(
        error.reason,
        "option \"default\" must be one of \"simple\", \"medium\", \"complex\", got \"fast\""
      )
    })

    it("rejects a fallback naming an unknown route, or a route twice", () => {
      const unknown = invalid(() =>
        Router.make({ routes: guideRoutes(), select: () => "simple", fallback: ["complex", "cheap" as "simple"] })
      )
      assert.strictEqual(unknown.option, "fallback")
      assert.match(unknown.reason, /must be one of "simple", "medium", "complex", got "cheap"/)
      const twice = invalid(() =>
        Router.make({ routes: guideRoutes(), select: () => "simple", fallback: ["simple", "simple"] })
      )
      assert.match(twice.reason, /distinct routes, got \["simple","simple"\]/)
    })

    it("rejects a route that is not a primitive and a negative cost", () => {
      const notPrimitive = invalid(() =>
        Router.make({ routes: { a: "nope" as unknown as Primitive.Primitive<string, string> }, select: () => "a" })
      )
      assert.strictEqual(notPrimitive.option, "routes.a")
      assert.match(notPrimitive.reason, /must be a Primitive, got "nope"/)
      const negative = invalid(() =>
        Router.make({ routes: guideRoutes(), select: () => "simple", costs: { simple: -1 } })
      )
      assert.strictEqual(negative.option, "costs.simple")
      assert.match(negative.reason, /must be a number >= 0, got -1/)
    })

    it("is a primitive named after its routes, with the routes as children", () => {
      const router = Router.make({ routes: guideRoutes(), select: () => "simple" })
      assert.isTrue(Primitive.isPrimitive(router))
      assert.isTrue(Router.isRouter(router))
      assert.isFalse(Router.isRouter(model("m", "1 second", 0)))
      assert.strictEqual(router.name, "router(simple | medium | complex)")
      assert.strictEqual(router.kind, "router")
      assert.deepStrictEqual(router.children.map((c) => c.name), ["gpt-3.5", "gpt-4-turbo", "gpt-4"])
    })

    it("types: RouteNotFound only without a default; inputs intersect, outputs unite", () => {
      const a = Primitive.make("a", (i: { readonly query: string }) => Effect.succeed(i.query.length))
      const b = Primitive.make("b", (i: { readonly user: string }) => Effect.fail(new BadRequest({ model: i.user })))
      const withoutDefault = Router.make({ routes: { a, b }, select: (i) => (i.user === "" ? "a" : "b") })
      const withDefault = Router.make({ routes: { a, b }, select: () => "a", default: "b" })
      expectTypeOf(withoutDefault.run).parameter(0).toEqualTypeOf<
        { readonly query: string } & { readonly user: string }
      >()
      expectTypeOf<Primitive.Error<typeof withoutDefault>>().toEqualTypeOf<BadRequest | Router.RouteNotFound>()
      expectTypeOf<Primitive.Error<typeof withDefault>>().toEqualTypeOf<BadRequest>()
      expectTypeOf<Primitive.Output<typeof withDefault>>().toEqualTypeOf<number>()
      assert.strictEqual(withDefault.defaultRoute, "b")
    })

    it("types: a selector that can return a key that is not a route does not compile (issue 14)", () => {
      const routes = { simple: model("s", "1 second", 0), complex: model("c", "1 second", 0) }
      // @ts-expect-error "medium" is not a route
      Router.make({ routes, select: () => "medium" })
      // @ts-expect-error any string is not a route key
      Router.make({ routes, select: (q: string) => q })
      // @ts-expect-error a Decision naming an unknown route
      Router.make({ routes, select: () => ({ route: "gpt-5", reason: "newest" }) })
      // @ts-expect-error an effectful selector naming an unknown route
      Router.make({ routes, select: () => Effect.succeed("medium" as const) })
      // @ts-expect-error the complexity scorer's default levels include "medium", which this router lacks
      Router.make({ routes, select: Router.complexity() })
      // (These two are also refused at run time, where the router is built.)
      assert.throws(() =>
        // @ts-expect-error a fallback naming an unknown route
        Router.make({ routes, select: () => "simple", fallback: ["medium"] })
      )
      assert.throws(() =>
        // @ts-expect-error a default naming an unknown route
        Router.make({ routes, select: () => "simple", default: "medium" })
      )

      // What does compile: the keys, decisions naming them, a narrowed run-time key, a matching scorer.
      Router.make({ routes, select: (q: string) => (q.length > 100 ? "complex" : "simple") })
      Router.make({ routes, select: () => ({ route: "complex", reason: "long" }) })
      Router.make({ routes, select: (q: string) => (Router.isRoute(routes, q) ? q : "simple") })
      const scored = Router.make({
        routes,
        select: Router.complexity({ routes: { medium: "simple" } })
      })
      expectTypeOf(Router.complexity({ routes: { simple: "fast", medium: "fast", complex: "best" } }))
        .returns.toHaveProperty("route").toEqualTypeOf<"fast" | "best">()
      assert.isTrue(Router.isRouter(scored))
      assert.isTrue(Router.isRoute(routes, "simple"))
      assert.isFalse(Router.isRoute(routes, "medium"))
      assert.isFalse(Router.isRoute(routes, "toString"))
    })
  })

  describe("selection", () => {
    it.effect("under Effect's built-in tracer the router opens no span and leaves the caller's span alone", () =>
      Effect.gen(function*() {
        const router = Router.make({ routes: guideRoutes(), select: () => "simple" })
        const attributes = yield* Effect.withSpan(
          Effect.zipRight(
            virtually(Primitive.run(router, "hi")),
            Effect.map(Effect.currentSpan, (span) => span.attributes)
          ),
          "caller"
        )
        assert.isFalse(attributes.has("flowtune.route"))
      }))

    it.effect("an unknown key without a default fails with RouteNotFound naming the key and the routes", () =>
      Effect.gen(function*() {
        // Untyped code (a key read from JSON, a cast) can still name an unknown route at run time.
        const router = Router.make({ name: "strict", routes: guideRoutes(), select: () => "huge" as "simple" })
        const error = yield* Effect.flip(Primitive.run(router, "hi"))
        assert.strictEqual(error._tag, "RouteNotFound")
        assert.deepStrictEqual(
          { router: error.router, route: error.route, routes: error.routes },
          { router: "strict", route: "huge", routes: ["simple", "medium", "complex"] }
        )
        assert.strictEqual(error.message, `Router "strict" has no route "huge" (routes: simple, medium, complex)`)
        const stats = yield* Router.stats(router)
        assert.deepStrictEqual([stats.calls, stats.failures, stats.notFound], [1, 1, 1])
      }))

    it.effect("an unknown key goes to the default route, and the span says why", () =>
      Effect.gen(function*() {
        const { spans, tracer } = yield* recordingTracer
        const router = Router.make({
          name: "lenient",
          routes: guideRoutes(),
          select: () => "huge" as "simple",
          default: "medium"
        })
        const out = yield* virtually(Primitive.run(router, "hi")).pipe(Effect.withTracer(tracer))
        assert.strictEqual(out, "gpt-4-turbo: hi")
        const span = spans.find((s) => s.name === "lenient")!
        assert.strictEqual(span.attributes.get("flowtune.route"), "medium")
        assert.strictEqual(span.attributes.get("flowtune.route.reason"), `no route "huge": default route "medium"`)
        assert.strictEqual((yield* Router.stats(router)).routes.medium!.selected, 1)
      }))

    it.effect("records the complexity scorer's reason on the span", () =>
      Effect.gen(function*() {
        const { spans, tracer } = yield* recordingTracer
        const router = Router.make({ name: "scored", routes: guideRoutes(), select: Router.complexity() })
        yield* virtually(Primitive.run(router, "Explain why the sky is blue")).pipe(Effect.withTracer(tracer))
        const span = spans.find((s) => s.name === "scored")!
        assert.strictEqual(span.attributes.get("flowtune.route"), "medium")
        assert.strictEqual(span.attributes.get("flowtune.route.reason"), `medium (score 0.3: keyword "explain" (+0.3))`)
        // the chosen route's own span is a child of the router's
        const child = spans.find((s) => s.name === "gpt-4-turbo")!
        assert.strictEqual(child.parent._tag === "Some" && child.parent.value.spanId, span.spanId)
      }))

    it.effect("an effectful selector may read the WorkflowContext, and its failure is the router's", () =>
      Effect.gen(function*() {
        class NoTier extends Data.TaggedError("NoTier")<{}> {}
        const routes = guideRoutes()
        const router = Router.make({
          routes,
          select: () =>
            Effect.flatMap(WorkflowContext.WorkflowContext, (ctx) => {
              // A key known only at run time is narrowed to the routes first.
              const tier = ctx.metadata["tier"]
              return Router.isRoute(routes, tier)
                ? Effect.succeed({ route: tier, reason: "tier from metadata" })
                : Effect.fail(new NoTier())
            })
        })
        expectTypeOf<Primitive.Error<typeof router>>().toEqualTypeOf<NoTier | Router.RouteNotFound>()
        const out = yield* virtually(Primitive.run(router, "q", { metadata: { tier: "complex" } }))
        assert.strictEqual(out, "gpt-4: q")
        const error = yield* Effect.flip(Primitive.run(router, "q", { metadata: {} }))
        assert.strictEqual(error._tag, "NoTier")
        const stats = yield* Router.stats(router)
        assert.deepStrictEqual([stats.calls, stats.successes, stats.failures, stats.notFound], [2, 1, 1, 0])
      }))

    it.effect("a selector that throws is a defect, not a route", () =>
      Effect.gen(function*() {
        const router = Router.make({ routes: guideRoutes(), select: Router.complexity() })
        const exit = yield* Effect.exit(Primitive.run(router, 42 as unknown as string))
        assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Die")
      }))
  })

  describe("fallback", () => {
    /** Routes that log their runs and fail as told. */
    const flaky = (log: Ref.Ref<ReadonlyArray<string>>, failures: Record<string, "rate" | "down" | "bad">) => {
      const outcome = (name: string, q: string): Effect.Effect<string, RateLimited | Unavailable | BadRequest> => {
        switch (failures[name]) {
          case "rate":
            return Effect.fail(new RateLimited({ model: name }))
          case "down":
            return Effect.zipRight(Effect.sleep("100 millis"), Effect.fail(new Unavailable({ model: name })))
          case "bad":
            return Effect.fail(new BadRequest({ model: name }))
          default:
            return Effect.as(Effect.sleep("1 second"), `${name}: ${q}`)
        }
      }
      const route = (name: string) =>
        Primitive.make(name, (q: string) => Effect.zipRight(Ref.update(log, (l) => [...l, name]), outcome(name, q)), {
          annotations: { costPerCall: 0.01 }
        })
      return { simple: route("simple"), medium: route("medium"), complex: route("complex") }
    }

    it.effect("moves down the ordered list on retryable errors, and says so in the span", () =>
      Effect.gen(function*() {
        const log = yield* Ref.make<ReadonlyArray<string>>([])
        const { spans, tracer } = yield* recordingTracer
        const router = Router.make({
          name: "degrading",
          routes: flaky(log, { complex: "rate", medium: "down" }),
          select: () => "complex",
          fallback: ["complex", "medium", "simple"]
        })
        const out = yield* virtually(Primitive.run(router, "q")).pipe(Effect.withTracer(tracer))
        assert.strictEqual(out, "simple: q")
        assert.deepStrictEqual(yield* Ref.get(log), ["complex", "medium", "simple"])

        const span = spans.find((s) => s.name === "degrading")!
        assert.strictEqual(span.attributes.get("flowtune.route"), "complex")
        assert.strictEqual(span.attributes.get("flowtune.route.fallback"), "complex -> medium -> simple")
        assert.strictEqual(span.attributes.get("flowtune.route.served"), "simple")
        assert.deepStrictEqual(
          eventsOf(span).filter(([name]) => name === "flowtune.route.fallback").map(([, , a]) => a),
          [
            { "flowtune.route.from": "complex", "flowtune.route.to": "medium", "flowtune.route.error": "RateLimited" },
            { "flowtune.route.from": "medium", "flowtune.route.to": "simple", "flowtune.route.error": "Unavailable" }
          ]
        )

        const stats = yield* Router.stats(router)
        assert.deepStrictEqual([stats.calls, stats.successes, stats.fallbacks], [1, 1, 2])
        assert.deepStrictEqual(
          Object.values(stats.routes).map((r) => [r.route, r.selected, r.calls, r.failures, r.fallbacks]),
          [["simple", 0, 1, 0, 0], ["medium", 0, 1, 1, 1], ["complex", 1, 1, 1, 1]]
        )
        // failed runs are timed but not charged
        assert.strictEqual(Duration.toMillis(stats.totalLatency), 1100)
        assert.closeTo(stats.totalCost, 0.01, 1e-12)
      }))

    it.effect("starts from the head of the list when the chosen route is not in it, skipping nothing else", () =>
      Effect.gen(function*() {
        const log = yield* Ref.make<ReadonlyArray<string>>([])
        const router = Router.make({
          routes: flaky(log, { simple: "rate", complex: "down" }),
          select: () => "simple",
          fallback: ["complex", "medium"]
        })
        assert.strictEqual(yield* virtually(Primitive.run(router, "q")), "medium: q")
        assert.deepStrictEqual(yield* Ref.get(log), ["simple", "complex", "medium"])
      }))

    it.effect("the last route of the list has no successor: its error escapes", () =>
      Effect.gen(function*() {
        const log = yield* Ref.make<ReadonlyArray<string>>([])
        const router = Router.make({
          routes: flaky(log, { simple: "rate", medium: "rate" }),
          select: () => "medium",
          fallback: ["complex", "medium", "simple"]
        })
        const error = yield* Effect.flip(virtually(Primitive.run(router, "q")))
        assert.strictEqual(error._tag, "RateLimited")
        assert.strictEqual(error._tag === "RateLimited" && error.model, "simple")
        assert.deepStrictEqual(yield* Ref.get(log), ["medium", "simple"])
        const stats = yield* Router.stats(router)
        assert.deepStrictEqual([stats.calls, stats.failures, stats.fallbacks], [1, 1, 1])
      }))

    it.effect("a non-retryable error does not fall back", () =>
      Effect.gen(function*() {
        const log = yield* Ref.make<ReadonlyArray<string>>([])
        const router = Router.make({
          routes: flaky(log, { complex: "bad" }),
          select: () => "complex",
          fallback: ["complex", "medium", "simple"]
        })
        const error = yield* Effect.flip(Primitive.run(router, "q"))
        assert.strictEqual(error._tag, "BadRequest")
        assert.deepStrictEqual(yield* Ref.get(log), ["complex"])
      }))

    it.effect("a custom predicate decides what is retryable", () =>
      Effect.gen(function*() {
        const log = yield* Ref.make<ReadonlyArray<string>>([])
        const router = Router.make({
          routes: flaky(log, { complex: "bad", medium: "rate" }),
          select: () => "complex",
          fallback: ["complex", "medium", "simple"],
          retryable: (e) => e._tag === "BadRequest"
        })
        const error = yield* Effect.flip(Primitive.run(router, "q"))
        assert.strictEqual(error._tag, "RateLimited")
        assert.deepStrictEqual(yield* Ref.get(log), ["complex", "medium"])
      }))

    it("isRetryable: known tags, the `retryable` flag, and nothing else", () => {
      assert.isTrue(Router.isRetryable(new RateLimited({ model: "m" })))
      assert.isTrue(
        Router.isRetryable(new Primitive.PrimitiveTimeout({ primitive: "p", duration: Duration.seconds(1) }))
      )
      assert.isTrue(Router.isRetryable({ _tag: "Whatever", retryable: true }))
      assert.isFalse(Router.isRetryable({ _tag: "RateLimited", retryable: false }))
      assert.isFalse(Router.isRetryable(new BadRequest({ model: "m" })))
      assert.isFalse(Router.isRetryable("RateLimited"))
      assert.isFalse(Router.isRetryable(null))
    })

    it.effect("a Primitive.timeout on a route makes a slow route fall back", () =>
      Effect.gen(function*() {
        const routes = guideRoutes()
        const router = Router.make({
          routes: { ...routes, complex: Primitive.timeout(routes.complex, "1 second") },
          select: () => "complex",
          fallback: ["complex", "medium"]
        })
        const [millis, out] = yield* timed(Primitive.run(router, "q"))
        assert.strictEqual(out, "gpt-4-turbo: q")
        assert.strictEqual(millis, 2500) // 1 s timeout + 1.5 s
      }))
  })

  describe("accounting", () => {
    it.effect("totals equal the calls made; Metrics agree with the snapshot", () =>
      Effect.gen(function*() {
        const name = "accounting-totals"
        // The input is the key, unchecked on purpose: "nope" must be counted as not found.
        const router = Router.make({ name, routes: guideRoutes(), select: (q) => q as "simple" })
        const plan = ["simple", "simple", "complex", "medium", "simple", "nope", "complex"]
        yield* virtually(Effect.forEach(plan, (q) => Effect.exit(Primitive.run(router, q))))
        const stats = yield* Router.stats(router)
        assert.deepStrictEqual([stats.calls, stats.successes, stats.failures, stats.notFound], [7, 6, 1, 1])
        assert.deepStrictEqual(
          Object.values(stats.routes).map((r) => [r.selected, r.calls, r.successes]),
          [[3, 3, 3], [1, 1, 1], [2, 2, 2]]
        )
        assert.closeTo(stats.mix.simple!, 3 / 7, 1e-12)
        assert.strictEqual(Duration.toMillis(stats.totalLatency), 3 * 800 + 1500 + 2 * 2500)
        assert.closeTo(stats.totalCost, 3 * 0.0005 + 0.005 + 2 * 0.01, 1e-12)

        const tagged = <M extends Metric.Metric<any, any, any>>(metric: M, route: string) =>
          metric.pipe(Metric.tagged("router", name), Metric.tagged("route", route))
        const calls = yield* Metric.value(tagged(Router.metrics.calls, "simple"))
        assert.strictEqual(calls.count, 3)
        const cost = yield* Metric.value(tagged(Router.metrics.cost, "complex"))
        assert.closeTo(cost.count, 0.02, 1e-12)
        const noRoute = yield* Metric.value(tagged(Router.metrics.errors, "<none>"))
        assert.strictEqual(noRoute.count, 1)
        const latency = yield* Metric.value(tagged(Router.metrics.latency, "medium"))
        assert.deepStrictEqual([latency.count, latency.sum], [1, 1500])

        yield* Router.resetStats(router)
        assert.strictEqual((yield* Router.stats(router)).calls, 0)
      }))

    it.effect("costs per 1K tokens read the output's usage; explicit costs override annotations", () =>
      Effect.gen(function*() {
        const llm = Primitive.make("llm", (prompt: string) =>
          Effect.succeed({
            text: prompt,
            usage: { inputTokens: 2000, outputTokens: 500 }
          }), { annotations: { costPerCall: 99 } })
        const plain = Primitive.make("plain", (prompt: string) => Effect.succeed({ text: prompt, usage: undefined }), {
          annotations: { costPer1kInputTokens: 1, costPer1kOutputTokens: 1, costPerCall: 0.5 }
        })
        const router = Router.make({
          routes: { llm, plain },
          select: (p) => p as "llm" | "plain",
          costs: { llm: { perCall: 0.001, per1kInputTokens: 0.01, per1kOutputTokens: 0.03 } }
        })
        yield* Primitive.run(router, "llm")
        yield* Primitive.run(router, "plain")
        const stats = yield* Router.stats(router)
        assert.closeTo(stats.routes.llm!.totalCost, 0.001 + 0.02 + 0.015, 1e-12)
        assert.closeTo(stats.routes.plain!.totalCost, 0.5, 1e-12) // no usage reported: per call only
      }))

    it.effect("an interrupted call is counted as interrupted, timed up to the interruption", () =>
      Effect.gen(function*() {
        const router = Router.make({ routes: guideRoutes(), select: () => "complex" })
        const fiber = yield* Effect.fork(Primitive.run(router, "q"))
        yield* TestClock.adjust("1 second")
        yield* Fiber.interrupt(fiber)
        const stats = yield* Router.stats(router)
        assert.deepStrictEqual([stats.calls, stats.interrupted, stats.failures], [1, 1, 0])
        assert.strictEqual(Duration.toMillis(stats.routes.complex!.totalLatency), 1000)
      }))

    it.effect("composes: inside a parallel fan-out every call is accounted", () =>
      Effect.gen(function*() {
        const router = Router.make({ routes: guideRoutes(), select: Router.complexity() })
        const fanOut = Primitive.forEach(router, { concurrency: 10 })
        const [millis, out] = yield* timed(Primitive.run(fanOut, workload.slice(0, 10)))
        assert.strictEqual(out.length, 10)
        assert.strictEqual(millis, 2500) // all at once: the slowest route
        const stats = yield* Router.stats(router)
        assert.deepStrictEqual(Object.values(stats.routes).map((r) => r.selected), [7, 2, 1])
      }))
  })
})

describe("Router statistics registry", () => {
  // Defined once, the way users do at module level: the router holds no state of its own.
  const echo = Primitive.fromFunction("echo", (s: string) => s.length)
  const shout = Primitive.fromFunction("shout", (s: string) => s.length * 2)
  const router = Router.make({
    name: "registry-test",
    routes: { echo, shout },
    select: (s: string) => (s.endsWith("!") ? "shout" : "echo")
  })
  const callsOf = Effect.map(Router.stats(router), (s) => [s.calls, s.routes.echo!.calls, s.routes.shout!.calls])

  it.effect("two layerStats scopes keep separate statistics of the same router", () =>
    Effect.gen(function*() {
      const inScope = (inputs: ReadonlyArray<string>) =>
        Effect.gen(function*() {
          // Forked fibers (the fan-out) record into the registry of the scope too.
          yield* Effect.forEach(inputs, (q) => router.run(q), { concurrency: "unbounded" })
          // A reset under another registry leaves this one alone.
          yield* Router.resetStats(router).pipe(Effect.provide(Router.layerStats))
          const before = yield* callsOf
          yield* Router.resetStats(router)
          return [before, yield* callsOf]
        }).pipe(Effect.provide(Router.layerStats))
      yield* router.run("outside") // the process-wide registry
      const a = yield* inScope(["a", "b!"])
      const b = yield* inScope(["c", "d", "e", "f!"])
      assert.deepStrictEqual(a, [[2, 1, 1], [0, 0, 0]])
      assert.deepStrictEqual(b, [[4, 3, 1], [0, 0, 0]])
      // Neither scope wrote to (or reset) the process-wide registry.
      assert.deepStrictEqual(yield* callsOf, [1, 1, 0])
      yield* Router.resetStats(router)
    }))

  it.effect("with no layer, one registry for the process: separate runs add up", () =>
    Effect.gen(function*() {
      const other = Router.make({ name: "registry-default", routes: { echo }, select: () => "echo" })
      Effect.runSync(other.run("x"))
      yield* Effect.promise(() => Effect.runPromise(other.run("y")))
      yield* other.run("z")
      const stats = yield* Router.stats(other)
      assert.deepStrictEqual([stats.router, stats.calls, stats.routes.echo!.calls], ["registry-default", 3, 3])
      // A second definition with the same routes is another router: figures of its own.
      const twin = Router.make({ name: "registry-default", routes: { echo }, select: () => "echo" })
      assert.strictEqual((yield* Router.stats(twin)).calls, 0)
    }))
})
