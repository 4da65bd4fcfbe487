/**
 * Small figures computed in several modules, written once (issue 15: the
 * percentile, the interval union and the error tag each existed two or three
 * times).
 *
 * @internal
 */

/**
 * Nearest-rank percentile of sorted values: the smallest value with at least
 * `p`% of the values at or below it. `NaN` for no values. `p` is trusted
 * (0..100); public entry points check it.
 *
 * @internal
 */
export const percentile = (sorted: ReadonlyArray<number>, p: number): number => {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.max(rank, 1) - 1]!
}

/**
 * The length of the union of `[start, end]` intervals (nanoseconds), overlaps
 * counted once: how long at least one of them was running.
 *
 * @internal
 */
export const unionLength = (intervals: ReadonlyArray<readonly [bigint, bigint]>): bigint => {
  const sorted = [...intervals].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  let covered = 0n
  let current: [bigint, bigint] | undefined
  for (const [start, end] of sorted) {
    if (current === undefined || start > current[1]) {
      if (current) covered += current[1] - current[0]
      current = [start, end]
    } else if (end > current[1]) {
      current[1] = end
    }
  }
  if (current) covered += current[1] - current[0]
  return covered
}

/**
 * A failure's tag for span attributes: its `_tag`, else its text.
 *
 * @internal
 */
export const errorTag = (error: unknown): string =>
  typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : String(error)
