/**
 * The benchmark harness for `npm run bench`: interleaved rounds of timed
 * cases, reported as nanoseconds per operation and as ratios to a baseline
 * measured in the same run (absolute times across runs are noise on shared
 * machines; ratios within one run are not).
 */

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

export interface SuiteResult {
  /** Nanoseconds per operation, or any other figure named by its key (e.g. `_bytes`). */
  readonly results: Record<string, number>
  /** Ratios between results, named `a/b`. */
  readonly ratios: Record<string, number>
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

const isThenable = (u: unknown): u is PromiseLike<unknown> =>
  typeof u === "object" && u !== null && typeof (u as PromiseLike<unknown>).then === "function"

const timeCase = async (c: Case, durationMs: number): Promise<number> => {
  const ops = c.ops ?? 1
  const deadline = performance.now() + durationMs
  let iterations = 0
  let batch = 1
  const start = process.hrtime.bigint()
  while (performance.now() < deadline) {
    for (let i = 0; i < batch; i++) {
      const r = c.run()
      if (isThenable(r)) await r
    }
    iterations += batch
    if (batch < 1024) batch *= 2
  }
  const elapsed = Number(process.hrtime.bigint() - start)
  return elapsed / (iterations * ops)
}

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Times every case in interleaved rounds and returns the median ns/op of each. */
export const measure = async (
  cases: ReadonlyArray<Case>,
  options: MeasureOptions = {}
): Promise<Record<string, number>> => {
  const rounds = options.rounds ?? 5
  const timePerRound = options.timePerRoundMs ?? 300
  const samples = new Map<string, Array<number>>(cases.map((c) => [c.name, []]))
  for (const c of cases) await timeCase(c, options.warmupMs ?? 150)
  for (let round = 0; round < rounds; round++) {
    for (const c of cases) samples.get(c.name)!.push(await timeCase(c, timePerRound))
  }
  return Object.fromEntries(cases.map((c) => [c.name, median(samples.get(c.name)!)]))
}

/** `ratios(results, [["flowtune", "plain"]])` -> `{ "flowtune/plain": ... }`. */
export const ratios = (
  results: Record<string, number>,
  pairs: ReadonlyArray<readonly [string, string]>
): Record<string, number> => Object.fromEntries(pairs.map(([a, b]) => [`${a}/${b}`, results[a]! / results[b]!]))

/** Rounds/time settings for a suite, shorter under `--quick`. */
export const settings = (options: SuiteOptions): MeasureOptions =>
  options.quick ? { rounds: 3, timePerRoundMs: 60, warmupMs: 30 } : { rounds: 7, timePerRoundMs: 300, warmupMs: 200 }

const formatNs = (ns: number): string =>
  ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} us` : `${ns.toFixed(1)} ns`

/** A plain-text table of a suite's results. */
export const formatTable = (suite: string, result: SuiteResult): string => {
  const lines = [`## ${suite}`, "", "| case | per op |", "|---|---|"]
  for (const [name, value] of Object.entries(result.results)) {
    lines.push(`| ${name} | ${name.startsWith("_") ? value.toLocaleString("en-US") : formatNs(value)} |`)
  }
  if (Object.keys(result.ratios).length > 0) {
    lines.push("", "| ratio | x |", "|---|---|")
    for (const [name, value] of Object.entries(result.ratios)) lines.push(`| ${name} | ${value.toFixed(2)} |`)
  }
  for (const note of result.notes ?? []) lines.push("", note)
  return lines.join("\n")
}
