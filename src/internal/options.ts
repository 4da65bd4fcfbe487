/**
 * The one place where constructor options are checked.
 *
 * Policy: a bad option is a bug in the program, so it is reported where the
 * option is given (the call that builds the primitive, layer or benchmark),
 * by throwing `Primitive.InvalidPrimitive` whose `reason` names the option,
 * the value received and the range allowed. Nothing is silently clamped.
 *
 * `Duration.decode` turns negative numbers, `NaN` and `"-5 millis"` into
 * zero, so durations are checked on their input before they are decoded.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import { InvalidPrimitive } from "../Primitive.js"

/** @internal */
export const show = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "bigint") return `${value}n`
  if (typeof value === "number" || typeof value === "boolean" || value === undefined || value === null) {
    return String(value)
  }
  if (Duration.isDuration(value)) return Duration.format(value)
  if (typeof value === "function") return "a function"
  try {
    const json = JSON.stringify(value)
    return json === undefined ? typeof value : json.length > 80 ? `${json.slice(0, 77)}...` : json
  } catch {
    return typeof value
  }
}

/**
 * Throws the construction error. `owner` is what is being built
 * (`"cache(answers)"`, `"Database.layerPg"`), `option` the option's name.
 *
 * @internal
 */
export const invalid = (owner: string, option: string, expected: string, value: unknown): never => {
  throw new InvalidPrimitive({
    primitive: owner,
    option,
    reason: `option "${option}" must be ${expected}, got ${show(value)}`
  })
}

/**
 * Throws a construction error that is not about one option's range
 * (an empty sequence, a selector that is not a function of the routes...).
 *
 * @internal
 */
export const invalidShape = (owner: string, reason: string): never => {
  throw new InvalidPrimitive({ primitive: owner, reason })
}

/** @internal */
export interface DurationRange {
  /** Zero is allowed (default: false). */
  readonly zero?: boolean | undefined
  /** `Duration.infinity` / `Infinity` is allowed (default: false). */
  readonly infinite?: boolean | undefined
}

const unitPattern =
  /^\s*(-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s+(nanos?|micros?|millis?|seconds?|minutes?|hours?|days?|weeks?)\s*$/i

/** Reads the sign of a DurationInput without decoding it (decode maps < 0 and NaN to 0). */
const rawSign = (input: unknown): number | undefined => {
  if (typeof input === "number") return input
  if (typeof input === "bigint") return input < 0n ? -1 : input === 0n ? 0 : 1
  if (typeof input === "string") {
    if (/^\s*infinity\s*$/i.test(input)) return Infinity
    const match = unitPattern.exec(input)
    return match ? Number(match[1]) : undefined
  }
  if (Array.isArray(input)) {
    if (input.length !== 2 || typeof input[0] !== "number" || typeof input[1] !== "number") return undefined
    const [s, n] = input as [number, number]
    if (Number.isNaN(s) || Number.isNaN(n) || s < 0 || n < 0) return -1
    return s === 0 && n === 0 ? 0 : s + n
  }
  if (Duration.isDuration(input)) return Duration.isZero(input) ? 0 : Duration.isFinite(input) ? 1 : Infinity
  return undefined
}

const durationExpected = (range: DurationRange): string =>
  `a ${range.zero ? "non-negative" : "positive"}${range.infinite ? "" : " finite"} duration (e.g. 100, "2 seconds")`

/**
 * Checks and decodes a duration option.
 *
 * @internal
 */
export const duration = (
  owner: string,
  option: string,
  input: unknown,
  range: DurationRange = {}
): Duration.Duration => {
  const sign = rawSign(input)
  const expected = durationExpected(range)
  if (sign === undefined || Number.isNaN(sign)) return invalid(owner, option, expected, input)
  if (sign < 0 || (sign === 0 && !range.zero)) return invalid(owner, option, expected, input)
  if (sign === Infinity && !range.infinite) return invalid(owner, option, expected, input)
  const decoded = Duration.decodeUnknown(input)
  if (Option.isNone(decoded)) return invalid(owner, option, expected, input)
  if (!range.infinite && !Duration.isFinite(decoded.value)) return invalid(owner, option, expected, input)
  return decoded.value
}

/**
 * Like {@link duration}, with a default when the option is absent.
 *
 * @internal
 */
export const durationOr = (
  owner: string,
  option: string,
  input: unknown,
  fallback: Duration.DurationInput,
  range: DurationRange = {}
): Duration.Duration => input === undefined ? Duration.decode(fallback) : duration(owner, option, input, range)

/** @internal */
export interface NumberRange {
  readonly min?: number | undefined
  /** `min` itself is excluded (default: included). */
  readonly minExclusive?: boolean | undefined
  readonly max?: number | undefined
  readonly integer?: boolean | undefined
  /** `Infinity` is allowed (default: false). */
  readonly infinite?: boolean | undefined
}

const numberExpected = (range: NumberRange): string => {
  const kind = range.integer ? "an integer" : "a number"
  const parts: Array<string> = []
  if (range.min !== undefined) parts.push(`${range.minExclusive ? ">" : ">="} ${range.min}`)
  if (range.max !== undefined) parts.push(`<= ${range.max}`)
  return parts.length === 0 ? `a finite ${kind.slice(kind.indexOf(" ") + 1)}` : `${kind} ${parts.join(" and ")}`
}

/**
 * Checks a numeric option: a real number (never `NaN`), finite unless
 * `infinite`, within `[min, max]`.
 *
 * @internal
 */
export const number = (owner: string, option: string, value: unknown, range: NumberRange = {}): number => {
  const expected = numberExpected(range) + (range.infinite ? " (or Infinity)" : "")
  if (typeof value !== "number" || Number.isNaN(value)) return invalid(owner, option, expected, value)
  if (!Number.isFinite(value) && !(range.infinite && value === Infinity)) return invalid(owner, option, expected, value)
  if (range.integer && Number.isFinite(value) && !Number.isInteger(value)) {
    return invalid(owner, option, expected, value)
  }
  if (range.min !== undefined && (range.minExclusive ? value <= range.min : value < range.min)) {
    return invalid(owner, option, expected, value)
  }
  if (range.max !== undefined && value > range.max) return invalid(owner, option, expected, value)
  return value
}

/**
 * Like {@link number}, with a default when the option is absent.
 *
 * @internal
 */
export const numberOr = (owner: string, option: string, value: unknown, fallback: number, range: NumberRange = {}) =>
  value === undefined ? fallback : number(owner, option, value, range)

/** A positive integer (>= 1). @internal */
export const positiveInt = (owner: string, option: string, value: unknown): number =>
  number(owner, option, value, { integer: true, min: 1 })

/** A non-negative integer (>= 0). @internal */
export const nonNegativeInt = (owner: string, option: string, value: unknown): number =>
  number(owner, option, value, { integer: true, min: 0 })

/** @internal */
export const boolean = (owner: string, option: string, value: unknown): boolean =>
  typeof value === "boolean" ? value : invalid(owner, option, "true or false", value)

/** @internal */
export const booleanOr = (owner: string, option: string, value: unknown, fallback: boolean): boolean =>
  value === undefined ? fallback : boolean(owner, option, value)

/** @internal */
export const nonEmptyString = (owner: string, option: string, value: unknown): string =>
  typeof value === "string" && value.trim().length > 0 ? value : invalid(owner, option, "a non-empty string", value)

/** @internal */
export const oneOf = <const A extends ReadonlyArray<string | number | boolean>>(
  owner: string,
  option: string,
  value: unknown,
  allowed: A
): A[number] =>
  allowed.includes(value as A[number])
    ? value as A[number]
    : invalid(owner, option, `one of ${allowed.map(show).join(", ")}`, value)

/** @internal */
export const func = <F extends (...args: ReadonlyArray<never>) => unknown>(
  owner: string,
  option: string,
  value: unknown
): F => typeof value === "function" ? value as F : invalid(owner, option, "a function", value)
