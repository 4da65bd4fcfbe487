/**
 * The text a shared tier holds for one entry: the value encoded with the
 * primitive's schema, its expiry, and what computing it took (time and
 * money), so a hit in another process counts what it really saved.
 *
 * `{"v": <encoded value>, "e": <expiresAt ms | null>, "d": <compute ms>, "c": <cost USD>}`
 * (`c` is absent in entries written by older versions: their hits fall back
 * to the primitive's `costPerCall`).
 *
 * @internal
 */
import * as Either from "effect/Either"

/** @internal */
export interface Codec {
  readonly encode: (value: unknown) => Either.Either<unknown, unknown>
  readonly decode: (value: unknown) => Either.Either<unknown, unknown>
}

/** @internal */
export interface Found {
  readonly value: unknown
  readonly expiresAt: number
  readonly computeMs: number
  /** US dollars; `undefined` when the entry does not say. */
  readonly cost: number | undefined
  readonly payload: string
}

/** @internal */
export const encode = (
  codec: Codec,
  value: unknown,
  expiresAt: number,
  computeMs: number,
  cost: number
): string | undefined => {
  const encoded = codec.encode(value)
  if (Either.isLeft(encoded)) return undefined
  return JSON.stringify({
    v: encoded.right,
    e: expiresAt === Infinity ? null : expiresAt,
    d: Math.round(computeMs),
    c: cost
  })
}

/** @internal */
export type Decoded = Found | "corrupt" | "expired"

/** @internal */
export const decode = (codec: Codec, payload: string, now: number): Decoded => {
  let parsed: unknown
  try {
    parsed = JSON.parse(payload)
  } catch {
    return "corrupt"
  }
  if (typeof parsed !== "object" || parsed === null || !("v" in parsed) || !("e" in parsed)) return "corrupt"
  const { c, d, e } = parsed as { e: unknown; d?: unknown; c?: unknown }
  if (e !== null && typeof e !== "number") return "corrupt"
  const expiresAt = e === null ? Infinity : e
  if (expiresAt <= now) return "expired"
  const decoded = codec.decode((parsed as { v: unknown }).v)
  if (Either.isLeft(decoded)) return "corrupt"
  return {
    value: decoded.right,
    expiresAt,
    computeMs: typeof d === "number" && d >= 0 ? d : 0,
    cost: typeof c === "number" && c >= 0 && Number.isFinite(c) ? c : undefined,
    payload
  }
}
