/**
 * Provider failures as `Model.ModelError`s: HTTP statuses, transport
 * failures and undecodable answers, with what the server said.
 *
 * @internal
 */
import * as AiError from "@effect/ai/AiError"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Model from "../Model.js"

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

const modelErrorTags = new Set([
  "RateLimited",
  "ModelTimeout",
  "ModelUnavailable",
  "MalformedResponse",
  "ConnectionFailed",
  "RequestRejected"
])

const isModelError = (u: unknown): u is Model.ModelError =>
  typeof u === "object" && u !== null && "_tag" in u && modelErrorTags.has(u._tag as string) && "model" in u

const parseRetryAfter = (
  headers: Readonly<Record<string, string>>,
  now: number | undefined
): Duration.Duration | undefined => {
  const ms = Number(headers["retry-after-ms"])
  if (headers["retry-after-ms"] !== undefined && Number.isFinite(ms) && ms >= 0) return Duration.millis(ms)
  const value = headers["retry-after"]
  if (value === undefined) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return Duration.seconds(seconds)
  // An HTTP date: relative to `now` (Effect's `Clock`, see `fromAiErrorWithClock`). Only the public
  // synchronous `Model.fromAiError`, called outside any Effect, has no Clock and falls back to the wall clock.
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Duration.millis(Math.max(0, at - (now ?? Date.now())))
}

/**
 * What the server said, from an error body: OpenAI's `{ error: { message } }`,
 * or `{ message }`, `{ detail }`, `{ error: "..." }`, or the text itself.
 */
const serverMessage = (body: unknown): string | undefined => {
  if (typeof body !== "string" || body.trim().length === 0) return undefined
  const text = body.trim()
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return text.length > 500 ? `${text.slice(0, 497)}...` : text
  }
  const pick = (u: unknown): string | undefined => {
    if (typeof u === "string") return u
    if (typeof u !== "object" || u === null) return undefined
    const record = u as Record<string, unknown>
    return pick(record["error"]) ?? pick(record["message"]) ?? pick(record["detail"])
  }
  return pick(parsed)
}

const statusDescription = (status: number, body: unknown): string => {
  const message = serverMessage(body)
  return message === undefined ? `HTTP ${status}` : `HTTP ${status}: ${message}`
}

/**
 * `now`: the current time in epoch milliseconds, for a `retry-after` given as
 * an HTTP date; library code passes Effect's `Clock` (`fromAiErrorWithClock`).
 *
 * @internal
 */
export const fromAiError = (error: unknown, model: string, now?: number): Model.ModelError => {
  if (isModelError(error)) return error
  if (!AiError.isAiError(error)) {
    return new Model.ModelUnavailable({ model, description: `unexpected provider failure: ${String(error)}` })
  }
  switch (error._tag) {
    case "HttpResponseError": {
      if (error.reason !== "StatusCode") {
        return new Model.MalformedResponse({
          model,
          description: `the response body could not be read (${error.reason})`
        })
      }
      const status = error.response.status
      if (status === 429) {
        const retryAfter = parseRetryAfter(error.response.headers, now)
        return new Model.RateLimited(retryAfter === undefined ? { model } : { model, retryAfter })
      }
      if (status >= 500 || status === 408) {
        return new Model.ModelUnavailable({ model, status, description: statusDescription(status, error.body) })
      }
      return new Model.RequestRejected({ model, status, description: statusDescription(status, error.body) })
    }
    case "HttpRequestError":
      return error.reason === "Transport"
        ? new Model.ConnectionFailed({ model, description: error.description ?? "transport error" })
        : new Model.RequestRejected({ model, description: `the request could not be sent (${error.reason})` })
    case "MalformedOutput":
      return new Model.MalformedResponse({ model, description: error.description ?? "the response did not decode" })
    case "MalformedInput":
      return new Model.RequestRejected({ model, description: error.description ?? "the prompt was rejected" })
    case "UnknownError":
      return new Model.ModelUnavailable({ model, description: error.description ?? "unknown provider error" })
  }
}

/**
 * `fromAiError` with the time read from Effect's `Clock` (so an HTTP-date
 * `retry-after` is exact under the `TestClock`).
 *
 * @internal
 */
export const fromAiErrorWithClock = (error: unknown, model: string): Effect.Effect<Model.ModelError> =>
  Effect.map(Clock.currentTimeMillis, (now) => fromAiError(error, model, now))
