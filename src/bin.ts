/**
 * The `flowtune` command line: `tour`, `bench`, `profile`.
 *
 * `npm start` runs `flowtune tour`; `npx flowtune --help` lists the commands.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as PlatformCommand from "@effect/platform/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { availableParallelism, loadavg } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import * as Profile from "./Profile.js"
import * as Tour from "./Tour.js"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")

const scale = Options.float("scale").pipe(
  Options.withDescription("Real seconds per guide second (0.1: a 2.5 s model call takes 250 ms)."),
  Options.withDefault(0.1)
)

const steps = Options.text("steps").pipe(
  Options.withDescription(`Comma-separated steps to run (default: all): ${Tour.stepIds.join(",")}.`),
  Options.optional
)

const noReport = Options.boolean("no-report").pipe(Options.withDescription("Do not write the HTML report."))

const out = Options.directory("out").pipe(
  Options.withDescription("Where the HTML report goes."),
  Options.withDefault("reports")
)

const embedded = Options.boolean("embedded").pipe(
  Options.withDescription("Ignore REDIS_URL and DATABASE_URL: in-memory cache + SQLite only.")
)

const json = Options.boolean("json").pipe(Options.withDescription("Print the result as JSON instead of tables."))

const parseSteps = (text: Option.Option<string>) =>
  Effect.gen(function*() {
    if (Option.isNone(text)) return undefined
    const wanted = text.value.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
    const unknown = wanted.filter((s) => !(Tour.stepIds as ReadonlyArray<string>).includes(s))
    if (unknown.length > 0) {
      return yield* Effect.fail(`Unknown step(s): ${unknown.join(", ")}. Steps: ${Tour.stepIds.join(", ")}`)
    }
    return wanted as ReadonlyArray<Tour.StepId>
  })

const tour = Command.make("tour", { scale, steps, noReport, out, json, embedded }, (options) =>
  Effect.gen(function*() {
    const selected = yield* parseSteps(options.steps)
    const quiet = options.json
    if (!quiet) {
      yield* Console.log(
        [
          "flowtune tour: the performance-tuning guide, run on flowtune's own code.",
          `Simulated models with the guide's latencies and prices, scaled by ${options.scale} ` +
          `(1 guide second = ${Math.round(options.scale * 1000)} ms). Figures below are in guide time.`
        ].join("\n")
      )
    }
    const result = yield* Tour.run({
      scale: options.scale,
      steps: selected,
      report: !options.noReport,
      reportDir: options.out,
      embedded: options.embedded,
      onStart: (step) => quiet ? Effect.void : Console.log(`\n▸ ${step.title} …`),
      onStep: (step) => quiet ? Effect.void : Console.log(Tour.formatStep(step))
    })
    if (quiet) {
      yield* Console.log(JSON.stringify(result, null, 2))
      return
    }
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
  }).pipe(
    Effect.catchAll((error) => Effect.zipRight(Console.error(String(error)), Effect.sync(() => process.exitCode = 1)))
  ))
  .pipe(Command.withDescription("Walk the whole performance-tuning guide on real code, with a visual report."))

const suite = Args.text({ name: "suite" }).pipe(
  Args.withDescription("Benchmark suites (files in bench/); none runs them all."),
  Args.repeated
)

const bench = Command.make("bench", {
  suite,
  quick: Options.boolean("quick").pipe(Options.withDescription("Shorter runs, rougher figures.")),
  json: Options.boolean("json").pipe(Options.withDescription("One JSON line per suite."))
}, ({ json, quick, suite }) =>
  Effect.gen(function*() {
    const args = [...suite, ...(quick ? ["--quick"] : []), ...(json ? ["--json"] : [])]
    const code = yield* PlatformCommand.make(
      process.execPath,
      "--import",
      "tsx",
      join(root, "bench", "index.ts"),
      ...args
    )
      .pipe(
        PlatformCommand.workingDirectory(root),
        PlatformCommand.stdin("inherit"),
        PlatformCommand.stdout("inherit"),
        PlatformCommand.stderr("inherit"),
        PlatformCommand.exitCode
      )
    if (code !== 0) process.exitCode = code
  })).pipe(Command.withDescription("Run benchmark suites (npm run bench): flowtune bench primitive --quick"))

const profile = Command.make("profile", {
  scale,
  steps,
  out: Options.file("out").pipe(
    Options.withDescription("Where the .cpuprofile goes (open it in Chrome DevTools or speedscope)."),
    Options.withDefault("reports/flowtune.cpuprofile")
  ),
  top: Options.integer("top").pipe(Options.withDescription("Functions to list."), Options.withDefault(15))
}, (options) =>
  Effect.gen(function*() {
    const selected = yield* parseSteps(options.steps)
    yield* Console.log(`Profiling the tour (${selected?.join(", ") ?? "all steps"}) under the V8 CPU profiler…`)
    const result = yield* Profile.cpu(Tour.run({ scale: options.scale, steps: selected, report: false }), {
      path: resolve(options.out),
      top: options.top
    })
    yield* Console.log(Profile.formatSummary(result.top))
    yield* Console.log(`\n  CPU profile: ${result.path} (${(result.durationMillis / 1000).toFixed(1)} s)\n`)
  }).pipe(
    Effect.catchAll((error) => Effect.zipRight(Console.error(String(error)), Effect.sync(() => process.exitCode = 1)))
  )).pipe(Command.withDescription("Run the tour under the V8 CPU profiler and write a .cpuprofile."))

const flowtune = Command.make("flowtune").pipe(
  Command.withDescription("flowtune: fast, cheap AI workflows on Effect."),
  Command.withSubcommands([tour, bench, profile])
)

const cli = Command.run(flowtune, { name: "flowtune", version: "0.1.0" })

cli(process.argv).pipe(Effect.provide(NodeContext.layer), NodeRuntime.runMain)
