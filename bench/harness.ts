/**
 * The benchmark harness for `npm run bench`.
 *
 * How a figure is made, so that it can be trusted on a shared machine:
 * - every case runs in interleaved rounds (a round runs each case once, in an
 *   order rotated from round to round), so a burst of load from another
 *   process hits every case, not one;
 * - each round records CPU time (`process.cpuUsage`: user + system of this
 *   process, garbage collection included) and wall time, per operation;
 * - a ratio `a/b` is computed per round (a and b measured seconds apart) and
 *   reported as the median with its interquartile range, never as a ratio of
 *   two medians taken from different moments;
 * - the machine load (`os.loadavg`) is printed before and after each suite.
 * Absolute times across runs are noise on a shared machine; paired ratios
 * within one run are not.
 */
import { spawnSync } from "node:child_process"
import { availableParallelism, loadavg } from "node:os"
import { fileURLToPath } from "node:url"

/** One thing to time. `run` performs `ops` operations (default 1). */
export interface Case {
  readonly name: string
  readonly run: () => unknown
  readonly ops?: number
}

export interface MeasureOptions {
  /** Rounds over all cases; each case's figure is its median over rounds. */
  readonly rounds?: number
  /** How long each case runs per round. */
  readonly timePerRoundMs?: number
  /** Untimed warm-up per case before the first round. */
  readonly warmupMs?: number
}

/** The median of per-round ratios and its interquartile range. */
export interface Spread {
  readonly median: number
  readonly q1: number
  readonly q3: number
}

export interface SuiteResult {
  /** CPU nanoseconds per operation, or any other figure named by its key (e.g. `_bytes`). */
  readonly results: Record<string, number>
  /** Wall-clock nanoseconds per operation, for the timed cases. */
  readonly wall?: Record<string, number>
  /** Ratios between results, named `a/b` (median of the per-round CPU ratios when the rounds are known). */
  readonly ratios: Record<string, number>
  /** The spread of each ratio over rounds, when known. */
  readonly spreads?: Record<string, Spread>
  /** Extra facts worth printing (batches formed, hit rates, ...). */
  readonly notes?: ReadonlyArray<string>
}

export interface SuiteOptions {
  /** Shorter runs (CI smoke); figures are rougher. */
  readonly quick: boolean
}

export interface Suite {
  readonly name: string
  readonly description: string
  readonly run: (options: SuiteOptions) => Promise<SuiteResult>
}

/** Per-round samples of one case, in nanoseconds per operation. */
export interface Samples {
  readonly cpu: Array<number>
  readonly wall: Array<number>
}

/** The figures of one `measureAll`: medians over rounds and every round's sample. */
export interface Measured {
  readonly cpu: Record<string, number>
  readonly wall: Record<string, number>
  readonly samples: Record<string, Samples>
}

const isThenable = (u: unknown): u is PromiseLike<unknown> =>
  typeof u === "object" && u !== null && typeof (u as PromiseLike<unknown>).then === "function"

const cpuNow = () => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) * 1000
}

const timeCase = async (c: Case, durationMs: number): Promise<{ cpu: number; wall: number }> => {
  const ops = c.ops ?? 1
  const deadline = performance.now() + durationMs
  let iterations = 0
  let batch = 1
  const cpuStart = cpuNow()
  const start = process.hrtime.bigint()
  while (performance.now() < deadline) {
    for (let i = 0; i < batch; i++) {
      const r = c.run()
      if (isThenable(r)) await r
    }
    iterations += batch
    if (batch < 1024) batch *= 2
  }
  const wall = Number(process.hrtime.bigint() - start)
  const cpu = cpuNow() - cpuStart
  return { cpu: cpu / (iterations * ops), wall: wall / (iterations * ops) }
}

/** The value at quantile `q` (0..1) of a list, interpolated. */
export const quantile = (xs: ReadonlyArray<number>, q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const at = (sorted.length - 1) * q
  const lo = Math.floor(at)
  const hi = Math.ceil(at)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo)
}

const median = (xs: ReadonlyArray<number>): number => quantile(xs, 0.5)

/** The median and interquartile range of a list. */
export const spreadOf = (xs: ReadonlyArray<number>): Spread => ({
  median: median(xs),
  q1: quantile(xs, 0.25),
  q3: quantile(xs, 0.75)
})

// `measure` keeps its historical shape (a record of figures); the rounds behind
// each record are kept here so that `ratios` can pair them per round.
const roundsOf = new WeakMap<Record<string, number>, Record<string, Samples>>()

const collectGarbage = (globalThis as { readonly gc?: (options?: { readonly type?: "major" | "minor" }) => void }).gc

/** Times every case in interleaved rounds; CPU and wall medians plus every round's sample. */
export const measureAll = async (cases: ReadonlyArray<Case>, options: MeasureOptions = {}): Promise<Measured> => {
  const rounds = options.rounds ?? 5
  const timePerRound = options.timePerRoundMs ?? 300
  const samples: Record<string, Samples> = Object.fromEntries(cases.map((c) => [c.name, { cpu: [], wall: [] }]))
  for (const c of cases) await timeCase(c, options.warmupMs ?? 150)
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < cases.length; k++) {
      const c = cases[(k + round) % cases.length]!
      // A minor collection before each case (`npm run bench` runs node with
      // `--expose-gc`): otherwise a case pays for the young garbage the one
      // before it left (a stream case's debris measured 0.2x on the next
      // case's ratio). Not a full one: that also resizes the heap, and the
      // allocation-heavy cases then paid for regrowing it (fan-out ratios 2x).
      collectGarbage?.({ type: "minor" })
      const t = await timeCase(c, timePerRound)
      samples[c.name]!.cpu.push(t.cpu)
      samples[c.name]!.wall.push(t.wall)
    }
  }
  const cpu = Object.fromEntries(cases.map((c) => [c.name, median(samples[c.name]!.cpu)]))
  const wall = Object.fromEntries(cases.map((c) => [c.name, median(samples[c.name]!.wall)]))
  roundsOf.set(cpu, samples)
  return { cpu, wall, samples }
}

/** Times every case in interleaved rounds and returns the median CPU ns/op of each. */
export const measure = async (
  cases: ReadonlyArray<Case>,
  options: MeasureOptions = {}
): Promise<Record<string, number>> => (await measureAll(cases, options)).cpu

/** The per-round CPU ratios `a/b` of a measurement, as median and IQR. */
export const pairedRatios = (
  measured: Pick<Measured, "samples">,
  pairs: ReadonlyArray<readonly [string, string]>
): { ratios: Record<string, number>; spreads: Record<string, Spread> } => {
  const spreads: Record<string, Spread> = {}
  for (const [a, b] of pairs) {
    const sa = measured.samples[a]!.cpu
    const sb = measured.samples[b]!.cpu
    spreads[`${a}/${b}`] = spreadOf(sa.map((x, i) => x / sb[i]!))
  }
  return { ratios: Object.fromEntries(Object.entries(spreads).map(([k, s]) => [k, s.median])), spreads }
}

/**
 * `ratios(results, [["flowtune", "plain"]])` -> `{ "flowtune/plain": ... }`:
 * the median of per-round ratios when `results` came from `measure`, else the
 * ratio of the two figures.
 */
export const ratios = (
  results: Record<string, number>,
  pairs: ReadonlyArray<readonly [string, string]>
): Record<string, number> => {
  const samples = roundsOf.get(results)
  return Object.fromEntries(pairs.map(([a, b]) => {
    const sa = samples?.[a]?.cpu
    const sb = samples?.[b]?.cpu
    const value = sa && sb ? median(sa.map((x, i) => x / sb[i]!)) : results[a]! / results[b]!
    return [`${a}/${b}`, value]
  }))
}

/** Rounds/time settings for a suite, shorter under `--quick`. */
export const settings = (options: SuiteOptions): MeasureOptions =>
  options.quick ? { rounds: 3, timePerRoundMs: 60, warmupMs: 30 } : { rounds: 9, timePerRoundMs: 150, warmupMs: 200 }

/** The 1-minute load average and the core count, for the report. */
/**
 * The absolute path of a file of the repository (a test support script a
 * suite spawns), from the sources (`bench/`) or compiled (`.bench/bench/`).
 */
export const repoFile = (relative: string): string =>
  fileURLToPath(new URL((import.meta.url.endsWith(".ts") ? "../" : "../../") + relative, import.meta.url))

/** The heap in use after full collections, in a process started with `--expose-gc` (see `runChild`). */
export const settledHeap = (): number => {
  const gc = (globalThis as { readonly gc?: () => void }).gc!
  for (let i = 0; i < 4; i++) gc()
  return process.memoryUsage().heapUsed
}

/**
 * Runs a suite's own module again in a child process with `--expose-gc` (through
 * tsx when it is TypeScript, with plain node when compiled) and `env` added;
 * returns its standard output parsed as JSON, or throws with why it failed.
 */
export const runChild = (moduleUrl: string, env: Record<string, string>, timeoutMs: number): unknown => {
  const file = fileURLToPath(moduleUrl)
  const loader = file.endsWith(".ts") ? ["--import", "tsx"] : []
  const child = spawnSync(process.execPath, ["--expose-gc", ...loader, file], {
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: timeoutMs,
    maxBuffer: 1 << 20
  })
  try {
    return JSON.parse(child.stdout)
  } catch {
    throw new Error(`failed (${child.status ?? child.signal}): ${child.stderr.slice(0, 200)}`)
  }
}

export const load = (): string => `load ${loadavg()[0]!.toFixed(2)} on ${navigatorCores()} cores`

const navigatorCores = () => availableParallelism()

/** Nanoseconds as a short human figure. */
export const formatNs = (ns: number): string =>
  ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} us` : `${ns.toFixed(1)} ns`

/** A plain-text table of a suite's results. */
export const formatTable = (suite: string, result: SuiteResult): string => {
  const wall = result.wall ?? {}
  const lines = [`## ${suite}`, "", "| case | CPU per op | wall per op |", "|---|---|---|"]
  for (const [name, value] of Object.entries(result.results)) {
    const figure = name.startsWith("_") ? value.toLocaleString("en-US") : formatNs(value)
    lines.push(`| ${name} | ${figure} | ${wall[name] === undefined ? "" : formatNs(wall[name])} |`)
  }
  if (Object.keys(result.ratios).length > 0) {
    lines.push("", "| ratio (CPU, median of rounds) | x | IQR |", "|---|---|---|")
    for (const [name, value] of Object.entries(result.ratios)) {
      const s = result.spreads?.[name]
      lines.push(`| ${name} | ${value.toFixed(2)} | ${s ? `${s.q1.toFixed(2)}-${s.q3.toFixed(2)}` : ""} |`)
    }
  }
  for (const note of result.notes ?? []) lines.push("", note)
  return lines.join("\n")
}
