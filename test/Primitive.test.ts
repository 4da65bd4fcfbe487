import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import * as Primitive from "../src/Primitive.js"
import * as Tracing from "../src/Tracing.js"

/** A step that takes `seconds` of (virtual) time and returns `value`. */
const slow = <A>(name: string, seconds: number, value: A) =>
  Primitive.make(name, (_: unknown) => Effect.as(Effect.sleep(Duration.seconds(seconds)), value))

/** Runs `effect` in a fiber, moves the TestClock by `seconds`, and returns the exit and the clock reading. */
const runFor = <A, E>(effect: Effect.Effect<A, E>, seconds: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(Duration.seconds(seconds))
    return yield* Fiber.await(fiber)
  })

/** How long `effect` takes in virtual time (it must finish within an hour). */
const elapsed = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const start = yield* TestClock.currentTimeMillis
    const end = yield* Deferred.make<number>()
    const fiber = yield* Effect.fork(
      Effect.tap(effect, () => Effect.flatMap(TestClock.currentTimeMillis, (now) => Deferred.succeed(end, now)))
    )
    // Step the clock in 100 ms ticks so the end time is read at the moment the work completes.
    for (let i = 0; i < 36_000 && !(yield* Deferred.isDone(end)); i++) {
      yield* TestClock.adjust(Duration.millis(100))
    }
    const value = yield* Fiber.join(fiber)
    return { value, seconds: ((yield* Deferred.await(end)) - start) / 1000 }
  })

describe("Primitive", () => {
  describe("the guide's timelines", () => {
    it.effect("three 2 s steps take 6 s in sequence and 2 s in parallel", () =>
      Effect.gen(function*() {
        const step1 = slow("step1", 2, 1)
        const step2 = slow("step2", 2, 2)
        const step3 = slow("step3", 2, 3)
        const sequential = yield* elapsed(Primitive.run(Primitive.sequence(step1, step2, step3), "q"))
        assert.strictEqual(sequential.seconds, 6)
        assert.strictEqual(sequential.value, 3)
        const parallel = yield* elapsed(Primitive.run(Primitive.parallel([step1, step2, step3]), "q"))
        assert.strictEqual(parallel.seconds, 2)
        assert.deepStrictEqual(parallel.value, [1, 2, 3])
      }))

    it.effect("multi-model analysis takes 6.1 s sequentially and 2.6 s in parallel", () =>
      Effect.gen(function*() {
        const gpt4 = slow("gpt4", 2.5, "gpt-4")
        const claude = slow("claude", 2.0, "claude")
        const gemini = slow("gemini", 1.5, "gemini")
        const aggregate = Primitive.make(
          "consensus",
          (analyses: ReadonlyArray<string>) =>
            Effect.as(Effect.sleep(Duration.millis(100)), { consensus: analyses.join("+") })
        )
        const sequential = Primitive.sequence(
          gpt4,
          claude,
          gemini,
          Primitive.make("collect", (_: string) => Effect.succeed(["gpt-4", "claude", "gemini"])),
          aggregate
        )
        const parallel = Primitive.sequence(Primitive.parallel([gpt4, claude, gemini]), aggregate)
        const seq = yield* elapsed(Primitive.run(sequential, "text"))
        const par = yield* elapsed(Primitive.run(parallel, "text"))
        assert.strictEqual(seq.seconds, 6.1)
        assert.strictEqual(par.seconds, 2.6)
        assert.deepStrictEqual(par.value, { consensus: "gpt-4+claude+gemini" })
      }))

    it.effect("map-reduce of ten 1 s items plus a 0.1 s aggregate: 10.1 s vs 1.1 s", () =>
      Effect.gen(function*() {
        const processItem = Primitive.make("process", (n: number) => Effect.as(Effect.sleep("1 second"), n * 10))
        const aggregate = Primitive.make(
          "aggregate",
          (results: ReadonlyArray<number>) =>
            Effect.as(Effect.sleep("100 millis"), { total: results.length, sum: results.reduce((a, b) => a + b, 0) })
        )
        const items = Array.from({ length: 10 }, (_, i) => i)
        const sequential = Primitive.sequence(Primitive.forEach(processItem, { concurrency: 1 }), aggregate)
        const parallel = Primitive.sequence(Primitive.forEach(processItem), aggregate)
        const seq = yield* elapsed(Primitive.run(sequential, items))
        const par = yield* elapsed(Primitive.run(parallel, items))
        assert.strictEqual(seq.seconds, 10.1)
        assert.strictEqual(par.seconds, 1.1)
        assert.deepStrictEqual(par.value, { total: 10, sum: 450 })
      }))
  })

  describe("constructors", () => {
    it.effect("make, fromFunction and fromPromise produce named steps", () =>
      Effect.gen(function*() {
        const double = Primitive.fromFunction("double", (n: number) => n * 2)
        const asText = Primitive.make("asText", (n: number) => Effect.succeed(`#${n}`))
        const shout = Primitive.fromPromise("shout", async (s: string) => s.toUpperCase())
        assert.strictEqual(double.name, "double")
        assert.strictEqual(double.kind, "step")
        assert.isTrue(Primitive.isPrimitive(shout))
        assert.isFalse(Primitive.isPrimitive({ name: "x" }))
        const result = yield* Primitive.run(Primitive.sequence(double, asText, shout), 21)
        assert.strictEqual(result, "#42")
      }))

    it.effect("a rejected promise is a typed PromiseRejected, or what catch maps it to", () =>
      Effect.gen(function*() {
        const boom = Primitive.fromPromise("boom", (_: void) => Promise.reject(new Error("nope")))
        const error = yield* Effect.flip(Primitive.run(boom, undefined))
        assert.strictEqual(error._tag, "PromiseRejected")
        assert.strictEqual(error.primitive, "boom")
        assert.include(error.message, "nope")
        const mapped = Primitive.fromPromise("mapped", (_: void) => Promise.reject(new Error("x")), {
          catch: () => ({ _tag: "Mine" as const })
        })
        assert.deepStrictEqual(yield* Effect.flip(Primitive.run(mapped, undefined)), { _tag: "Mine" })
      }))

    it.effect("interrupting a promise step aborts its AbortSignal", () =>
      Effect.gen(function*() {
        const aborted = yield* Deferred.make<string>()
        const started = yield* Deferred.make<void>()
        const never = Primitive.fromPromise("hang", (_: void, signal: AbortSignal) =>
          new Promise<never>(() => {
            signal.addEventListener("abort", () => Effect.runSync(Deferred.succeed(aborted, "aborted")))
            Effect.runSync(Deferred.succeed(started, undefined))
          }))
        const fiber = yield* Effect.fork(Primitive.run(never, undefined))
        yield* Deferred.await(started)
        yield* Fiber.interrupt(fiber)
        assert.strictEqual(yield* Deferred.await(aborted), "aborted")
      }))

    it("bad construction input is rejected with an error naming the problem", () => {
      const step = Primitive.fromFunction("step", (n: number) => n)
      const expectInvalid = (f: () => unknown, fragment: string) => {
        try {
          f()
        } catch (error) {
          assert.instanceOf(error, Primitive.InvalidPrimitive)
          assert.strictEqual((error as Primitive.InvalidPrimitive)._tag, "InvalidPrimitive")
          assert.include((error as Error).message, fragment)
          return
        }
        assert.fail(`expected InvalidPrimitive mentioning "${fragment}"`)
      }
      expectInvalid(() => (Primitive.sequence as any)(), "at least one step")
      expectInvalid(() => Primitive.parallel([] as any), "at least one branch")
      expectInvalid(() => Primitive.parallel({} as any), "at least one branch")
      expectInvalid(() => Primitive.parallel([step], { concurrency: 0 }), `"concurrency" must be a positive integer`)
      expectInvalid(() => Primitive.forEach(step, { concurrency: -2 }), "got -2")
      expectInvalid(() => Primitive.forEach(step, { concurrency: 1.5 }), "got 1.5")
      expectInvalid(() => Primitive.timeout(step, -5), "positive finite duration")
      expectInvalid(() => Primitive.timeout(step, "0 millis"), "positive finite duration")
      expectInvalid(() => Primitive.fromFunction("  ", (n: number) => n), "non-empty")
      expectInvalid(() => (Primitive.sequence as any)(step, { run: () => 1 }), "must be a Primitive")
      expectInvalid(() => Primitive.fallback(step, [] as any), "at least one alternative")
      expectInvalid(() => Primitive.parallel([step], { mode: "all" as any }), `"mode" must be one of`)
      expectInvalid(() => Primitive.parallel([step], { concurrency: Number.NaN }), "got NaN")
      expectInvalid(() => Primitive.retry(step, { schedule: 3 as any }), `"schedule" must be a Schedule`)
      expectInvalid(() => Primitive.fallback(step, [step], { when: "x" as any }), `"when" must be a function`)
      expectInvalid(() => Primitive.timeout(step, Number.NaN), `"duration" must be a positive`)
      expectInvalid(() => Primitive.makeWith({ name: "w", run: undefined as any }), `"run" must be a function`)
    })
  })

  describe("makeWith", () => {
    it.effect("kind, children, annotations and fields are given at construction; run receives the fiber", () =>
      Effect.gen(function*() {
        const inner = Primitive.fromFunction("inner", (n: number) => n + 1)
        const marker = Symbol.for("test/marker")
        const twice = Primitive.makeWith({
          name: "twice(inner)",
          kind: "twice",
          children: [inner],
          annotations: { costPerCall: 0.5 },
          fields: { [marker]: "info", extra: 1 },
          run: (n: number, fiber) => Effect.map(Effect.flatMap(inner.run(n), inner.run), (m) => [m, fiber.id()._tag])
        })
        assert.strictEqual(twice.kind, "twice")
        assert.deepStrictEqual(twice.children, [inner])
        assert.strictEqual(twice.annotations.costPerCall, 0.5)
        assert.strictEqual((twice as any)[marker], "info") // `any`: a field the Primitive type does not declare
        assert.deepStrictEqual(yield* Primitive.run(twice, 1), [3, "Runtime"])
        const [, spans] = yield* Tracing.record(Primitive.run(twice, 1))
        const root = spans.find((s) => s.name === "twice(inner)")!
        assert.strictEqual(root.attributes["flowtune.primitive.kind"], "twice")
        assert.deepStrictEqual(spans.filter((s) => s.parentSpanId === root.spanId).map((s) => s.name), [
          "inner",
          "inner"
        ])
      }))
  })

  describe("sequence", () => {
    it.effect("feeds each output to the next step and flattens unnamed nested sequences", () =>
      Effect.gen(function*() {
        const inc = Primitive.fromFunction("inc", (n: number) => n + 1)
        const dbl = Primitive.fromFunction("dbl", (n: number) => n * 2)
        const nested = Primitive.sequence(inc, Primitive.sequence(dbl, inc), dbl)
        assert.deepStrictEqual(nested.children.map((c) => c.name), ["inc", "dbl", "inc", "dbl"])
        assert.strictEqual(yield* Primitive.run(nested, 1), 10)
        const named = Primitive.withName(Primitive.sequence(dbl, inc), "prepare")
        const outer = Primitive.sequence(inc, named)
        assert.deepStrictEqual(outer.children.map((c) => c.name), ["inc", "prepare"])
        assert.strictEqual(yield* Primitive.run(outer, 1), 5)
        const chained = inc.pipe(Primitive.andThen(dbl), Primitive.andThen(inc))
        assert.strictEqual(yield* Primitive.run(chained, 3), 9)
        assert.strictEqual(chained.children.length, 3)
      }))

    it.effect("stops at the first failing step", () =>
      Effect.gen(function*() {
        const calls = yield* Ref.make<Array<string>>([])
        const record = (name: string) =>
          Primitive.make(name, (n: number) => Effect.as(Ref.update(calls, (c) => [...c, name]), n))
        const fail = Primitive.make("fail", (_: number) => Effect.fail({ _tag: "Nope" as const }))
        const error = yield* Effect.flip(Primitive.run(Primitive.sequence(record("a"), fail, record("b")), 1))
        assert.deepStrictEqual(error, { _tag: "Nope" })
        assert.deepStrictEqual(yield* Ref.get(calls), ["a"])
      }))
  })

  describe("parallel", () => {
    it.effect("gives every branch the same input and returns a tuple or a record", () =>
      Effect.gen(function*() {
        const len = Primitive.fromFunction("len", (s: string) => s.length)
        const upper = Primitive.fromFunction("upper", (s: string) => s.toUpperCase())
        assert.deepStrictEqual(yield* Primitive.run(Primitive.parallel([len, upper]), "abc"), [3, "ABC"])
        assert.deepStrictEqual(yield* Primitive.run(Primitive.parallel({ len, upper }), "ab"), { len: 2, upper: "AB" })
      }))

    it.effect("fail-fast: the first failure interrupts siblings, runs their finalizers and aborts their signals", () =>
      Effect.gen(function*() {
        const finalized = yield* Deferred.make<void>()
        const aborted = yield* Deferred.make<void>()
        const guarded = Primitive.make(
          "guarded",
          (_: string) => Effect.never.pipe(Effect.ensuring(Deferred.succeed(finalized, undefined)))
        )
        const fetching = Primitive.fromPromise(
          "fetching",
          (_: string, signal: AbortSignal) =>
            new Promise<never>(() => {
              signal.addEventListener("abort", () => Effect.runSync(Deferred.succeed(aborted, undefined)))
            })
        )
        const failing = Primitive.make(
          "failing",
          (_: string) => Effect.zipRight(Effect.sleep("1 second"), Effect.fail({ _tag: "Broken" as const }))
        )
        const exit = yield* runFor(Primitive.run(Primitive.parallel([guarded, fetching, failing]), "x"), 1)
        assert.deepStrictEqual(exit, Exit.fail({ _tag: "Broken" as const }))
        // Both must already have happened when the fan-out returned.
        assert.isTrue(yield* Deferred.isDone(finalized))
        assert.isTrue(yield* Deferred.isDone(aborted))
      }))

    it.effect("interrupting the fan-out interrupts every branch before it returns", () =>
      Effect.gen(function*() {
        const finalizers = yield* Ref.make(0)
        const branch = (name: string) =>
          Primitive.make(name, (_: void) => Effect.never.pipe(Effect.ensuring(Ref.update(finalizers, (n) => n + 1))))
        const fiber = yield* Effect.fork(
          Primitive.run(Primitive.parallel([branch("a"), branch("b"), branch("c")]), undefined)
        )
        yield* TestClock.adjust("1 second")
        yield* Fiber.interrupt(fiber)
        assert.strictEqual(yield* Ref.get(finalizers), 3)
      }))

    it.effect("collect mode returns every branch's success or failure", () =>
      Effect.gen(function*() {
        const ok = slow("ok", 1, "fine")
        const bad = Primitive.make("bad", (_: unknown) => Effect.fail({ _tag: "Bad" as const }))
        const late = slow("late", 3, "late")
        const exit = yield* runFor(
          Primitive.run(Primitive.parallel({ ok, bad, late }, { mode: "collect" }), "q"),
          3
        )
        assert.isTrue(Exit.isSuccess(exit))
        const result = Exit.isSuccess(exit) ? exit.value : assert.fail("expected success")
        assert.deepStrictEqual(result.ok, Exit.succeed("fine"))
        assert.deepStrictEqual(result.bad, Exit.fail({ _tag: "Bad" as const }))
        assert.deepStrictEqual(result.late, Exit.succeed("late"))
      }))

    it.effect("the concurrency bound is never exceeded", () =>
      Effect.gen(function*() {
        const inFlight = yield* Ref.make(0)
        const maxSeen = yield* Ref.make(0)
        const branch = (i: number) =>
          Primitive.make(`b${i}`, (_: void) =>
            Effect.gen(function*() {
              const now = yield* Ref.updateAndGet(inFlight, (n) => n + 1)
              yield* Ref.update(maxSeen, (m) => Math.max(m, now))
              yield* Effect.sleep(Duration.millis(100 + i * 10))
              yield* Ref.update(inFlight, (n) => n - 1)
              return i
            }))
        const branches = Array.from({ length: 9 }, (_, i) => branch(i)) as unknown as readonly [
          Primitive.Primitive<void, number>,
          ...Array<Primitive.Primitive<void, number>>
        ]
        const exit = yield* runFor(Primitive.run(Primitive.parallel(branches, { concurrency: 3 }), undefined), 10)
        assert.deepStrictEqual(exit, Exit.succeed([0, 1, 2, 3, 4, 5, 6, 7, 8]))
        assert.strictEqual(yield* Ref.get(maxSeen), 3)
      }))

    it.effect("branches are child spans of the fan-out span", () =>
      Effect.gen(function*() {
        const parentOf = (name: string) =>
          Primitive.make(name, (_: void) =>
            Effect.map(Effect.currentSpan, (span) =>
              span.parent._tag === "Some" ? (span.parent.value as any).name : ""))
        const fanOut = Primitive.parallel([parentOf("a"), parentOf("b")], { name: "both" })
        assert.deepStrictEqual(yield* Primitive.run(fanOut, undefined), ["both", "both"])
      }).pipe(Effect.provide(Tracing.layerMemory())))
  })

  describe("forEach", () => {
    it.effect("preserves order, honours the bound and fails fast", () =>
      Effect.gen(function*() {
        const inFlight = yield* Ref.make(0)
        const maxSeen = yield* Ref.make(0)
        const work = Primitive.make("work", (n: number) =>
          Effect.gen(function*() {
            const now = yield* Ref.updateAndGet(inFlight, (k) => k + 1)
            yield* Ref.update(maxSeen, (m) => Math.max(m, now))
            // Later items finish first, so order comes from the index, not completion.
            yield* Effect.sleep(Duration.millis(1000 - n * 10))
            yield* Ref.update(inFlight, (k) => k - 1)
            return n * n
          }))
        const items = Array.from({ length: 20 }, (_, i) => i)
        const exit = yield* runFor(Primitive.run(Primitive.forEach(work, { concurrency: 4 }), items), 10)
        assert.deepStrictEqual(exit, Exit.succeed(items.map((n) => n * n)))
        assert.strictEqual(yield* Ref.get(maxSeen), 4)

        const picky = Primitive.make("picky", (n: number) => n === 3 ? Effect.fail("three") : Effect.succeed(n))
        assert.strictEqual(yield* Effect.flip(Primitive.run(Primitive.forEach(picky), items)), "three")
      }))

    it.effect("interrupting a bounded fan-out starts no new branches (collect mode too)", () =>
      Effect.gen(function*() {
        const started = yield* Ref.make(0)
        const item = (i: number) =>
          Primitive.make(`item${i}`, (_: void) =>
            Effect.zipRight(Ref.update(started, (n) => n + 1), Effect.sleep("1 second")))
        const branches = Array.from({ length: 10 }, (_, i) =>
          item(i)) as unknown as readonly [
            Primitive.Primitive<void, void>,
            ...Array<Primitive.Primitive<void, void>>
          ]
        for (const mode of ["fail-fast", "collect"] as const) {
          yield* Ref.set(started, 0)
          const fanOut: Primitive.Primitive<void, unknown> = mode === "collect"
            ? Primitive.parallel(branches, { concurrency: 2, mode })
            : Primitive.parallel(branches, { concurrency: 2, mode })
          const fiber = yield* Effect.fork(Primitive.run(fanOut, undefined))
          yield* TestClock.adjust("500 millis")
          yield* Fiber.interrupt(fiber)
          yield* TestClock.adjust("10 seconds")
          assert.strictEqual(yield* Ref.get(started), 2, mode)
        }
      }))

    it.effect("handles large lists of synchronous items without growing the stack", () =>
      Effect.gen(function*() {
        const inc = Primitive.fromFunction("inc", (n: number) => n + 1)
        const items = Array.from({ length: 50_000 }, (_, i) => i)
        const result = yield* Primitive.run(Primitive.forEach(inc, { concurrency: 8 }), items)
        assert.strictEqual(result.length, 50_000)
        assert.strictEqual(result[49_999], 50_000)
      }))
  })

  describe("retry, timeout, fallback", () => {
    it.effect("retry waits exactly the schedule's delays and only for matching errors", () =>
      Effect.gen(function*() {
        const attempts = yield* Ref.make<Array<number>>([])
        const flaky = Primitive.make("flaky", (_: void) =>
          Effect.gen(function*() {
            const now = yield* TestClock.currentTimeMillis
            const previous = yield* Ref.getAndUpdate(attempts, (a) => [...a, now])
            return previous.length < 3 ? yield* Effect.fail({ _tag: "RateLimited" as const }) : "ok"
          }))
        const retried = Primitive.retry(flaky, {
          schedule: Schedule.exponential("100 millis"),
          while: (e) => e._tag === "RateLimited"
        })
        const exit = yield* runFor(Primitive.run(retried, undefined), 1)
        assert.deepStrictEqual(exit, Exit.succeed("ok"))
        // 100 ms, 200 ms, 400 ms between attempts.
        assert.deepStrictEqual(yield* Ref.get(attempts), [0, 100, 300, 700])

        const count = yield* Ref.make(0)
        const fatal = Primitive.make("fatal", (_: void) =>
          Effect.zipRight(Ref.update(count, (n) => n + 1), Effect.fail({ _tag: "Fatal" as const })))
        const notRetried = Primitive.retry(fatal, {
          schedule: Schedule.recurs(5),
          while: (e) =>
            e._tag !== "Fatal"
        })
        assert.deepStrictEqual(yield* Effect.flip(Primitive.run(notRetried, undefined)), { _tag: "Fatal" })
        assert.strictEqual(yield* Ref.get(count), 1)
      }))

    it.effect("timeout fails with PrimitiveTimeout and interrupts the work", () =>
      Effect.gen(function*() {
        const interrupted = yield* Deferred.make<void>()
        const slowStep = Primitive.make("slowStep", (_: void) =>
          Effect.sleep("5 seconds").pipe(Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))))
        const exit = yield* runFor(Primitive.run(Primitive.timeout(slowStep, "2 seconds"), undefined), 2)
        assert.isTrue(Exit.isFailure(exit))
        const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : assert.fail("expected a failure")
        assert.strictEqual(error._tag === "Some" ? error.value._tag : "", "PrimitiveTimeout")
        assert.isTrue(yield* Deferred.isDone(interrupted))
        const fast = Primitive.timeout(slow("fast", 1, "done"), "2 seconds")
        assert.deepStrictEqual(yield* runFor(Primitive.run(fast, undefined), 1), Exit.succeed("done"))
      }))

    it.effect("fallback tries the alternatives in order", () =>
      Effect.gen(function*() {
        const tried = yield* Ref.make<Array<string>>([])
        const failing = (name: string) =>
          Primitive.make(name, (_: string) =>
            Effect.zipRight(Ref.update(tried, (t) => [...t, name]), Effect.fail({ _tag: "Down" as const, name })))
        const working = Primitive.make("backup", (s: string) =>
          Effect.as(Ref.update(tried, (t) => [...t, "backup"]), `backup:${s}`))
        const chain = Primitive.fallback(failing("primary"), [failing("secondary"), working])
        assert.strictEqual(yield* Primitive.run(chain, "q"), "backup:q")
        assert.deepStrictEqual(yield* Ref.get(tried), ["primary", "secondary", "backup"])

        const allDown = Primitive.fallback(failing("one"), [failing("two")])
        assert.deepStrictEqual(yield* Effect.flip(Primitive.run(allDown, "q")), { _tag: "Down", name: "two" })

        const selective = Primitive.fallback(failing("only"), [working], {
          when: (e) =>
            e._tag !== "Down"
        })
        assert.deepStrictEqual(yield* Effect.flip(Primitive.run(selective, "q")), { _tag: "Down", name: "only" })
      }))

    it.effect("fallback annotates its span with the hop under a recording tracer; without one nothing fails", () =>
      Effect.gen(function*() {
        const primary = Primitive.make("primary", (_: string) => Effect.fail({ _tag: "Down" as const }))
        const backup = Primitive.make("backup", (s: string) => Effect.succeed(`backup:${s}`))
        const chain = Primitive.fallback(primary, [backup], { name: "chain" })
        const hop = {
          "flowtune.fallback.from": "primary",
          "flowtune.fallback.to": "backup",
          "flowtune.fallback.error": "Down"
        }
        const recorded = yield* Effect.gen(function*() {
          assert.strictEqual(yield* Primitive.run(chain, "q"), "backup:q")
          // The primary answering: no hop, no attribute.
          yield* Primitive.run(Primitive.fallback(backup, [primary], { name: "no-hop" }), "q")
          return yield* Tracing.spans
        }).pipe(Effect.provide(Tracing.layerMemory()))
        const span = (name: string) => recorded.find((s) => s.name === name)?.attributes ?? assert.fail(name)
        assert.deepInclude(span("chain"), hop)
        assert.notProperty(span("no-hop"), "flowtune.fallback.from")
        // The hop's attributes are on the fallback's span only, not on the steps'.
        assert.notProperty(span("backup"), "flowtune.fallback.from")

        // Effect's built-in tracer (no span is opened) and tracing off: the hop still happens, nothing fails.
        assert.strictEqual(yield* Primitive.run(chain, "q"), "backup:q")
        assert.strictEqual(yield* Effect.withTracerEnabled(Primitive.run(chain, "q"), false), "backup:q")
      }))
  })

  describe("tracing", () => {
    it.effect("each run is a span named after the primitive, with its outcome", () =>
      Effect.gen(function*() {
        const spans: Array<{ name: string; parent: string | undefined; ok: boolean }> = []
        const step = (name: string, fail = false) =>
          Primitive.make(name, (_: void) =>
            Effect.flatMap(Effect.currentSpan, (span) => {
              spans.push({
                name: span.name,
                parent: span.parent._tag === "Some" ? (span.parent.value as any).name : undefined,
                ok: !fail
              })
              return fail ? Effect.fail("no") : Effect.void
            }))
        yield* Primitive.run(Primitive.withName(Primitive.sequence(step("a"), step("b")), "pipeline"), undefined)
        assert.deepStrictEqual(spans, [
          { name: "a", parent: "pipeline", ok: true },
          { name: "b", parent: "pipeline", ok: true }
        ])
        // With the tracer disabled no span is created at all.
        const noSpan = Primitive.make("quiet", (_: void) => Effect.option(Effect.currentSpan))
        const outside = yield* Primitive.run(noSpan, undefined).pipe(Effect.withTracerEnabled(false))
        assert.strictEqual(outside._tag, "None")
      }).pipe(Effect.provide(Tracing.layerMemory())))

    it.effect("under Effect's built-in tracer no span is opened (nobody could read it); a recorder sees them all", () =>
      Effect.gen(function*() {
        const probe = Primitive.make("probe", (_: void) => Effect.option(Effect.currentSpan))
        const workflow = Primitive.sequence(Primitive.fromFunction("first", (_: void) => undefined), probe)
        // `it.effect` runs with Effect's default tracer, as `Effect.runPromise` does.
        assert.strictEqual((yield* Primitive.run(workflow, undefined))._tag, "None")
        const [, spans] = yield* Tracing.record(Primitive.run(workflow, undefined))
        assert.deepStrictEqual(spans.map((s) => s.name).sort(), ["first", "probe", workflow.name].sort())
      }))
  })
})

describe("printing", () => {
  it("a primitive and a stream primitive print their name and serialize their tree", async () => {
    const FlowStream = await import("../src/Stream.js")
    const a = Primitive.make("a", (n: number) => Effect.succeed(n))
    const b = Primitive.make("b", (n: number) => Effect.succeed(n))
    const flow = Primitive.sequence(a, b)
    assert.strictEqual(String(a), "Primitive(a)")
    assert.deepStrictEqual(JSON.parse(JSON.stringify(flow)), {
      _id: "Primitive",
      name: flow.name,
      kind: "sequence",
      children: [{ _id: "Primitive", name: "a", kind: "step", children: [] }, {
        _id: "Primitive",
        name: "b",
        kind: "step",
        children: []
      }]
    })
    const s = FlowStream.fromIterable("tokens", (n: number) => [n])
    assert.strictEqual(String(s), "StreamPrimitive(tokens)")
    assert.strictEqual(JSON.parse(JSON.stringify(s))._id, "StreamPrimitive")
    assert.strictEqual(a.pipe((p) => p.name), "a")
  })
})
