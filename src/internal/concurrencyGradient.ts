/**
 * The gradient algorithm of `Concurrency` (after Netflix concurrency-limits'
 * `Gradient2Limit`): the limit follows the ratio of a long-run round-trip
 * time to the recent one, so it stops growing, and shrinks, as soon as the
 * backend's latency grows, before the backend answers 429.
 *
 * Each successful call's latency goes into a short window of about one round
 * trip (`max(10, limit)` calls). When a window closes, its mean is the short
 * RTT; the long RTT is an exponential average of the short ones with a time
 * constant of ten minutes (Netflix: 600 windows of one second), after a
 * plain average of the first ten windows. Then
 *
 *     gradient = clamp(tolerance * long / short, 0.5, 1)
 *     limit    = (1 - smoothing) * limit + smoothing * (limit * gradient + headroom)
 *
 * With latency flat the gradient is 1 and the limit grows by
 * `smoothing * headroom` per round trip; once the short RTT exceeds
 * `tolerance` times the long one it shrinks in proportion, at most by half
 * (times `smoothing`) per round trip. The 429 and timeout cuts are the
 * limiter's, shared with AIMD (src/internal/concurrency.ts).
 *
 * @internal
 */
import * as opts from "./options.js"

/** The long RTT's time constant (Netflix: 600 windows of one second). */
const LONG_MS = 600_000
/** Windows averaged plainly before the exponential average starts. */
const WARMUP = 10
/** The fewest calls in a window. */
const MIN_SAMPLES = 10

/** @internal */
export interface Config {
  readonly tolerance: number
  readonly smoothing: number
  readonly headroom: number
}

/** @internal */
export interface State {
  sum: number
  count: number
  windows: number
  longMs: number
  /** When the last window closed. */
  closedAt: number
}

/**
 * Reads the gradient's options (`smoothing`, `headroom`, and
 * `latencyTolerance` with the gradient's default of 1.5); they are refused
 * with the AIMD algorithm, which has no use for them.
 *
 * @internal
 */
export const config = (
  owner: string,
  algorithm: "aimd" | "gradient",
  options: { readonly smoothing?: unknown; readonly headroom?: unknown; readonly latencyTolerance?: unknown }
): Config | undefined => {
  if (algorithm === "aimd") {
    for (const option of ["smoothing", "headroom"] as const) {
      if (options[option] !== undefined) {
        opts.invalid(owner, option, "given only with algorithm \"gradient\"", options[option])
      }
    }
    return undefined
  }
  return {
    tolerance: opts.numberOr(owner, "latencyTolerance", options.latencyTolerance, 1.5, { min: 1, minExclusive: true }),
    smoothing: opts.numberOr(owner, "smoothing", options.smoothing, 0.2, { min: 0, minExclusive: true, max: 1 }),
    headroom: opts.numberOr(owner, "headroom", options.headroom, 4, { min: 0, minExclusive: true })
  }
}

/** @internal */
export const make = (): State => ({ sum: 0, count: 0, windows: 0, longMs: 0, closedAt: 0 })

/**
 * One successful call's latency; returns the new (fractional, unclamped)
 * limit. `busy`: the calls in flight when this one ended, itself included;
 * `now`: the clock's time in milliseconds.
 *
 * @internal
 */
export const onSuccess = (
  config: Config,
  state: State,
  limit: number,
  busy: number,
  latencyMs: number,
  now: number
): number => {
  state.sum += latencyMs
  state.count++
  if (state.count < Math.max(MIN_SAMPLES, Math.floor(limit))) return limit
  const shortMs = Math.max(state.sum / state.count, 1e-3)
  state.sum = 0
  state.count = 0
  state.windows++
  state.longMs = state.windows <= WARMUP
    ? state.longMs + (shortMs - state.longMs) / state.windows
    : state.longMs + (shortMs - state.longMs) * (1 - Math.exp(-(now - state.closedAt) / LONG_MS))
  state.closedAt = now
  // After a long overload the long RTT is high: let it come back down faster.
  if (state.longMs / shortMs > 2) state.longMs *= 0.95
  // An idle limiter proves nothing.
  if (busy * 2 < limit) return limit
  const gradient = Math.max(0.5, Math.min(1, config.tolerance * state.longMs / shortMs))
  return limit * (1 - config.smoothing) + (limit * gradient + config.headroom) * config.smoothing
}
