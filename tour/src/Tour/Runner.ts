/**
 * Runs the tour's steps in order and writes the report.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Model from "flowtune/Model"
import * as Tour from "../Tour.js"
import { notApplicable, type Step, TourEnv } from "./Common.js"
import { counted } from "./Format.js"
import * as Report from "./Report.js"
import * as World from "./World.js"

// Each step is loaded on its own, so one module failing to load fails only its step's run.
const loaders: Record<Tour.StepId, () => Promise<{ readonly step: Step }>> = {
  baseline: () => import("./Baseline.js"),
  breakdown: () => import("./Breakdown.js"),
  parallel: () => import("./Parallel.js"),
  cache: () => import("./Cache.js"),
  router: () => import("./Router.js"),
  batch: () => import("./Batch.js"),
  stream: () => import("./Stream.js"),
  pool: () => import("./Pool.js"),
  benchmark: () => import("./Benchmark.js"),
  tail: () => import("./Tail.js")
}

const optionalUrl = (name: string) =>
  Config.option(Config.nonEmptyString(name)).pipe(
    Effect.map(Option.getOrUndefined),
    Effect.orElseSucceed(() => undefined)
  )

const realNow = Effect.sync(() => performance.now())

const stamp = (millis: number): string => new Date(millis).toISOString().replace(/[:.]/g, "-").replace(/Z$/, "")

/** @internal */
export const run = (
  options: Tour.Options = {}
): Effect.Effect<Tour.TourResult, Tour.TourError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const scale = options.scale ?? 0.1
    const world = World.make(options.world)
    // The TestClock is the only clock that can be moved by hand: in it, real work takes no time.
    const clock = yield* Effect.clock
    const virtualTime = options.virtualTime ?? "adjust" in clock
    const env: typeof TourEnv.Service = {
      scale,
      world,
      virtualTime,
      redisUrl: options.redisUrl ?? (options.embedded ? undefined : yield* optionalUrl("REDIS_URL")),
      databaseUrl: options.databaseUrl ?? (options.embedded ? undefined : yield* optionalUrl("DATABASE_URL")),
      passwordDatabaseUrl: options.passwordDatabaseUrl ??
        (options.embedded ? undefined : yield* optionalUrl("TOUR_PASSWORD_DATABASE_URL")),
      cacheTable: options.cacheTable
    }
    // The model layer prices each completion from this table: the world's prices.
    const inWorld = <A, E, R>(self: Effect.Effect<A, E, R>) =>
      self.pipe(Effect.provideService(Model.Prices, World.prices(world)))
    const startedAt = yield* Clock.currentTimeMillis
    const realStart = yield* realNow
    const wanted = new Set(options.steps ?? Tour.stepIds)
    if (options.warmup ?? scale < 1) {
      // Real time only: the first runs of the span, fiber and model code paths are several
      // milliseconds slower (JIT), which at scale 0.1 reads as tens of guide milliseconds.
      yield* Effect.forEach(["baseline", "parallel", "router", "batch", "stream", "benchmark"] as const, (id) =>
        Effect.promise(() =>
          loaders[id]()
        ).pipe(
          Effect.flatMap(({ step }) => step.run),
          Effect.scoped,
          inWorld,
          Effect.provideService(TourEnv, { ...env, scale: scale / 100 }),
          Effect.ignore
        ))
    }
    const steps: Array<Tour.StepResult> = []
    for (const id of Tour.stepIds) {
      if (!wanted.has(id)) continue
      const failed = (cause: unknown) => new Tour.TourStepFailed({ step: id, cause })
      const { step } = yield* Effect.tryPromise({ try: () => loaders[id](), catch: failed })
      if (options.onStart) yield* options.onStart({ id, title: step.title, section: step.section })
      const t0 = yield* realNow
      const output = yield* step.run.pipe(
        Effect.scoped,
        inWorld,
        Effect.provideService(TourEnv, env),
        Effect.catchAllCause((cause) => Effect.fail(failed(Cause.squash(cause))))
      )
      const result: Tour.StepResult = {
        id,
        title: step.title,
        section: step.section,
        ...output,
        claims: virtualTime ? output.claims.map(notApplicable) : output.claims,
        realMs: (yield* realNow) - t0
      }
      steps.push(result)
      if (options.onStep) yield* options.onStep(result)
    }
    const partial: Tour.TourResult = {
      steps,
      scale,
      startedAt,
      realMs: (yield* realNow) - realStart,
      reportPath: undefined,
      virtualTime,
      ok: steps.every((s) => s.claims.every((c) => c.ok || !counted(c)))
    }
    if (options.report === false) return partial
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const dir = path.resolve(options.reportDir ?? "reports")
    const file = path.join(dir, `tour-${stamp(startedAt)}.html`)
    const final = { ...partial, reportPath: file, realMs: (yield* realNow) - realStart }
    yield* Effect.gen(function*() {
      yield* fs.makeDirectory(dir, { recursive: true })
      yield* fs.writeFileString(file, Report.render(final))
    }).pipe(Effect.mapError((cause) => new Tour.ReportWriteFailed({ path: file, cause })))
    return final
  })
