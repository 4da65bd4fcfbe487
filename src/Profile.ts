/**
 * CPU profiles of a workflow run (the guide's cProfile step), through
 * Node's built-in `node:inspector`: the profile is written as a
 * `.cpuprofile` file (open it in Chrome DevTools' Performance panel or in
 * speedscope) and summarised as the functions that used the most CPU.
 *
 * A CPU profile shows where JavaScript spends CPU time: parsing, prompt
 * building, JSON, hashing. Time spent waiting on a model or a database is
 * not CPU time; for that, look at the run breakdown (`Metrics.profileRun`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Primitive, Profile } from "flowtune"
 *
 * declare const workflow: Primitive.Primitive<string, string>
 *
 * const program = Effect.gen(function*() {
 *   const { top, path } = yield* Profile.cpu(Primitive.run(workflow, "input"), { path: "run.cpuprofile" })
 *   console.log(Profile.formatSummary(top), `written to ${path}`)
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { mkdir, writeFile } from "node:fs/promises"
import { Session } from "node:inspector"
import type * as Inspector from "node:inspector"
import { dirname } from "node:path"
import * as options_ from "./internal/options.js"

/**
 * A profile as V8 reports it (the `.cpuprofile` format).
 *
 * @since 0.1.0
 * @category models
 */
export type CpuProfile = Inspector.Profiler.Profile

/**
 * The inspector refused a command, or the profile could not be written.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProfileError extends Data.TaggedError("ProfileError")<{
  readonly operation: string
  readonly cause: unknown
}> {
  override get message() {
    return `CPU profiling failed during ${this.operation}: ${String(this.cause)}`
  }
}

/**
 * Options of `cpu`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CpuOptions {
  /** Where to write the `.cpuprofile`; nothing is written without it. */
  readonly path?: string | undefined
  /** Microseconds between samples. Default 100 (V8's default is 1,000, too coarse for short runs). */
  readonly samplingIntervalMicros?: number | undefined
  /** How many functions the summary keeps. Default 15. */
  readonly top?: number | undefined
}

/**
 * CPU time of one function over the profile.
 *
 * @since 0.1.0
 * @category models
 */
export interface FunctionStat {
  readonly functionName: string
  readonly url: string
  /** 1-based line, as editors show it (of the code V8 ran: transpiled code under tsx). */
  readonly line: number
  /** 1-based column. */
  readonly column: number
  /** CPU time spent in the function itself. */
  readonly selfMillis: number
  /** CPU time spent in it and in what it called. */
  readonly totalMillis: number
  /** `selfMillis` over the profile's sampled time. */
  readonly selfShare: number
}

/**
 * What `cpu` returns.
 *
 * @since 0.1.0
 * @category models
 */
export interface CpuResult<A> {
  readonly value: A
  readonly profile: CpuProfile
  /** The file written, when a `path` was given. */
  readonly path: string | undefined
  readonly durationMillis: number
  readonly top: ReadonlyArray<FunctionStat>
}

const post = <T>(session: Session, method: string, params?: object): Effect.Effect<T, ProfileError> =>
  Effect.async<T, ProfileError>((resume) => {
    session.post(method, params ?? {}, (error: Error | null, result: unknown) => {
      resume(error ? Effect.fail(new ProfileError({ operation: method, cause: error })) : Effect.succeed(result as T))
    })
  })

const session = Effect.acquireRelease(
  Effect.try({
    try: () => {
      const s = new Session()
      s.connect()
      return s
    },
    catch: (cause) => new ProfileError({ operation: "connect", cause })
  }),
  (s) => Effect.sync(() => s.disconnect())
)

/**
 * Aggregates a profile's samples per function (name, file, line): self and
 * total CPU time, largest self time first.
 *
 * @since 0.1.0
 * @category summary
 */
export const summarize = (profile: CpuProfile, top = 15): ReadonlyArray<FunctionStat> => {
  options_.nonNegativeInt("Profile.summarize", "top", top)
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const keyOf = (id: number) => {
    const frame = nodes.get(id)!.callFrame
    return `${frame.functionName}\u0000${frame.url}\u0000${frame.lineNumber}\u0000${frame.columnNumber}`
  }
  const selfTime = new Map<string, number>()
  const totalTime = new Map<string, number>()
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  let sampled = 0
  for (let i = 0; i < samples.length; i++) {
    // A sample's time is the gap to the next sample (the last one gets the mean gap).
    const micros = deltas[i + 1] ?? (samples.length > 1 ? (profile.endTime - profile.startTime) / samples.length : 0)
    const id = samples[i]!
    sampled += micros
    const own = keyOf(id)
    selfTime.set(own, (selfTime.get(own) ?? 0) + micros)
    const onPath = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) onPath.add(keyOf(at))
    for (const key of onPath) totalTime.set(key, (totalTime.get(key) ?? 0) + micros)
  }
  return [...selfTime.entries()]
    .map(([key, micros]) => {
      const [functionName, url, line, column] = key.split("\u0000") as [string, string, string, string]
      return {
        functionName: functionName === "" ? "(anonymous)" : functionName,
        url,
        line: Number(line) + 1,
        column: Number(column) + 1,
        selfMillis: micros / 1000,
        totalMillis: (totalTime.get(key) ?? micros) / 1000,
        selfShare: sampled > 0 ? micros / sampled : 0
      }
    })
    .sort((a, b) => b.selfMillis - a.selfMillis)
    .slice(0, top)
}

/**
 * The top functions as a printable table (the guide's `pstats` output).
 *
 * @since 0.1.0
 * @category summary
 */
export const formatSummary = (stats: ReadonlyArray<FunctionStat>): string => {
  const lines = ["| self | self % | total | function | location |", "|---|---|---|---|---|"]
  for (const s of stats) {
    const location = s.url === "" ? "(native)" : `${s.url.replace(/^file:\/\//, "")}:${s.line}:${s.column}`
    lines.push(
      `| ${s.selfMillis.toFixed(1)}ms | ${(s.selfShare * 100).toFixed(1)}% | ${
        s.totalMillis.toFixed(1)
      }ms | ${s.functionName} | ${location} |`
    )
  }
  return lines.join("\n")
}

/**
 * Runs an effect under the V8 CPU profiler and returns its value with the
 * profile, written to `path` when given. The profiler stops (and the file is
 * written) even when the effect fails; its failure is then returned.
 *
 * @since 0.1.0
 * @category profiling
 */
export const cpu = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  options?: CpuOptions
): Effect.Effect<CpuResult<A>, E | ProfileError, R> => {
  // Checked where the options are given, like every option in the library.
  const owner = "Profile.cpu"
  const interval = options?.samplingIntervalMicros === undefined
    ? 100
    : options_.positiveInt(owner, "samplingIntervalMicros", options.samplingIntervalMicros)
  const top = options?.top === undefined ? 15 : options_.nonNegativeInt(owner, "top", options.top)
  const path = options?.path === undefined ? undefined : options_.nonEmptyString(owner, "path", options.path)
  return Effect.scoped(Effect.gen(function*() {
    const inspector = yield* session
    yield* post(inspector, "Profiler.enable")
    yield* post(inspector, "Profiler.setSamplingInterval", { interval })
    yield* post(inspector, "Profiler.start")
    const exit = yield* Effect.exit(self)
    const { profile } = yield* post<{ profile: CpuProfile }>(inspector, "Profiler.stop")
    yield* post(inspector, "Profiler.disable")
    if (path !== undefined) {
      yield* Effect.tryPromise({
        try: async (signal) => {
          await mkdir(dirname(path), { recursive: true })
          await writeFile(path, JSON.stringify(profile), { signal })
        },
        catch: (cause) => new ProfileError({ operation: `write ${path}`, cause })
      })
    }
    if (Exit.isFailure(exit)) return yield* Effect.failCause(exit.cause)
    const result: CpuResult<A> = {
      value: exit.value,
      profile,
      path,
      durationMillis: (profile.endTime - profile.startTime) / 1000,
      top: summarize(profile, top)
    }
    return result
  })).pipe(Effect.withSpan("Profile.cpu"))
}
