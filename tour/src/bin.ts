/**
 * The `flowtune` command line: `tour`, `bench`, `profile`.
 *
 * `npm start` runs `flowtune tour`; `npx flowtune --help` lists the commands.
 * The grammar, the help and the errors live in `bin/cli.js` (plain
 * JavaScript, answered before any TypeScript loads); this file runs a parsed
 * command, and loads the tour (and its chart library) only then.
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as PlatformCommand from "@effect/platform/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { availableParallelism, loadavg } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import * as Cli from "../bin/cli.js"
import type * as TourModule from "./Tour.js"

// The repository root (tour/src/.. /..): bench/ lives there, beside the library it measures.
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..")

type Options = Extract<Cli.Parsed, { readonly _tag: "Run" }>["options"]

const loadTour = Effect.promise(() => import("./Tour.js"))

const stepsOf = (options: Options) => options["steps"] as ReadonlyArray<TourModule.StepId> | undefined

const failed = (error: unknown) =>
  Effect.zipRight(
    Console.error(`${Cli.name}: ${error instanceof Error ? error.message : String(error)}`),
    Effect.sync(() => process.exitCode = 1)
  )

const tour = (options: Options) =>
  Effect.gen(function*() {
    const Tour = yield* loadTour
    const scale = options["scale"] as number
    const quiet = options["json"] === true
    if (!quiet) {
      yield* Console.log(
        [
          "flowtune tour: the performance-tuning guide, run on flowtune's own code.",
          `Simulated models with the guide's latencies and prices, scaled by ${scale} ` +
          `(1 guide second = ${Math.round(scale * 1000)} ms). Figures below are in guide time.`
        ].join("\n")
      )
    }
    const result = yield* Tour.run({
      scale,
      steps: stepsOf(options),
      report: options["no-report"] !== true,
      reportDir: options["out"] as string,
      embedded: options["embedded"] === true,
      onStart: (step) => quiet ? Effect.void : Console.log(`\n▸ ${step.title} …`),
      onStep: (step) => quiet ? Effect.void : Console.log(Tour.formatStep(step))
    })
    if (quiet) return yield* Console.log(JSON.stringify(result, null, 2))
    yield* Console.log(Tour.formatSummary(result))
    if (!result.ok) {
      const [load] = loadavg()
      yield* Console.log(
        `  Real-time figures carry timer and scheduler noise (load average ${
          load?.toFixed(1)
        } on ${availableParallelism()} cores);\n  a larger --scale reduces it, and the test suite checks every claim in virtual time (TestClock).`
      )
    }
    if (result.reportPath !== undefined) yield* Console.log(`\n  Report: ${result.reportPath}\n`)
  }).pipe(Effect.catchAll(failed))

const bench = (options: Options, suites: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const args = [...suites, ...(options["quick"] === true ? ["--quick"] : []), ...(options["json"] ? ["--json"] : [])]
    const code = yield* PlatformCommand.make(
      process.execPath,
      "--import",
      "tsx",
      "--conditions=@flowtune/source",
      join(root, "bench", "index.ts"),
      ...args
    ).pipe(
      PlatformCommand.workingDirectory(root),
      PlatformCommand.stdin("inherit"),
      PlatformCommand.stdout("inherit"),
      PlatformCommand.stderr("inherit"),
      PlatformCommand.exitCode
    )
    if (code !== 0) process.exitCode = code
  }).pipe(Effect.catchAll(failed))

const profile = (options: Options) =>
  Effect.gen(function*() {
    const [Tour, Profile] = yield* Effect.all([loadTour, Effect.promise(() => import("flowtune/Profile"))])
    const steps = stepsOf(options)
    yield* Console.log(`Profiling the tour (${steps?.join(", ") ?? "all steps"}) under the V8 CPU profiler…`)
    const result = yield* Profile.cpu(
      Tour.run({ scale: options["scale"] as number, steps, report: false }),
      { path: resolve(options["out"] as string), top: options["top"] as number }
    )
    yield* Console.log(Profile.formatSummary(result.top))
    yield* Console.log(`\n  CPU profile: ${result.path} (${(result.durationMillis / 1000).toFixed(1)} s)\n`)
  }).pipe(Effect.catchAll(failed))

const command = Cli.answer(process.argv.slice(2))
if (command !== undefined) {
  const program: Effect.Effect<unknown, never, NodeContext.NodeContext> = command.command === "tour"
    ? tour(command.options)
    : command.command === "bench"
    ? bench(command.options, command.args)
    : profile(command.options)
  program.pipe(Effect.provide(NodeContext.layer), NodeRuntime.runMain)
}
