/**
 * The simulated model's option checks, and its answers to what the model
 * primitives ask beyond text: structured output (canned or schema-generated
 * objects, a seeded share of invalid answers), tool calls (a script of the
 * calls to make), and per-call options (passed to `respond`).
 *
 * @internal
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Arbitrary from "effect/Arbitrary"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import type * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import type * as Model from "../Model.js"
import type * as Simulated from "../Model/Simulated.js"
import * as modelContext from "./modelContext.js"
import * as Options from "./options.js"

const failureKinds = ["rate-limited", "unavailable", "malformed", "connection", "timeout"] as const

const checkLatency = (owner: string, option: string, latency: Simulated.Latency): void => {
  if (typeof latency !== "object" || latency === null || !("_tag" in latency)) {
    Options.duration(owner, option, latency, { zero: true })
    return
  }
  switch (latency._tag) {
    case "Uniform": {
      const min = Options.duration(owner, `${option}.min`, latency.min, { zero: true })
      const max = Options.duration(owner, `${option}.max`, latency.max, { zero: true })
      if (Duration.lessThan(max, min)) {
        Options.invalid(owner, `${option}.max`, "a duration >= latency.min", latency.max)
      }
      return
    }
    case "Normal":
      Options.duration(owner, `${option}.mean`, latency.mean, { zero: true })
      Options.duration(owner, `${option}.stddev`, latency.stddev, { zero: true })
      return
    default:
      // LogNormal and Mixture are checked where they are built.
      return
  }
}

/**
 * Checks a profile and the options of a simulated model.
 *
 * @internal
 */
export const check = (profile: Simulated.Profile, options: Simulated.Options | undefined): void => {
  const owner = `Model.simulated(${String(profile?.name)})`
  Options.nonEmptyString(owner, "name", profile?.name)
  checkLatency(owner, "latency", profile.latency)
  if (profile.firstToken !== undefined) Options.duration(owner, "firstToken", profile.firstToken, { zero: true })
  if (profile.tokensPerSecond !== undefined) {
    Options.number(owner, "tokensPerSecond", profile.tokensPerSecond, { min: 0, minExclusive: true })
  }
  if (profile.outputTokens !== undefined) Options.nonNegativeInt(owner, "outputTokens", profile.outputTokens)
  if (profile.costPerCall !== undefined) Options.number(owner, "costPerCall", profile.costPerCall, { min: 0 })
  if (profile.respond !== undefined) Options.func(owner, "respond", profile.respond)
  Options.numberOr(owner, "scale", options?.scale, 1, { min: 0 })
  Options.numberOr(owner, "seed", options?.seed, 42, {})
  const failures = options?.failures ?? profile.failures
  if (failures !== undefined) {
    Options.number(owner, "failures.rate", failures.rate, { min: 0, max: 1 })
    const kinds: ReadonlyArray<unknown> = Array.isArray(failures.kind) ? failures.kind : [failures.kind]
    if (kinds.length === 0) Options.invalid(owner, "failures.kind", "at least one failure kind", failures.kind)
    for (const kind of kinds) Options.oneOf(owner, "failures.kind", kind, failureKinds)
    if (failures.retryAfter !== undefined) {
      Options.duration(owner, "failures.retryAfter", failures.retryAfter, { zero: true })
    }
  }
  const structured = options?.structured
  if (structured !== undefined) {
    Options.numberOr(owner, "structured.invalidRate", structured.invalidRate, 0, { min: 0, max: 1 })
    const objects: unknown = structured.objects
    if (objects !== undefined && typeof objects !== "function" && (!Array.isArray(objects) || objects.length === 0)) {
      Options.invalid(owner, "structured.objects", "a non-empty array or a function", objects)
    }
  }
  if (options?.tools !== undefined) Options.func(owner, "tools", options.tools)
}

/** A canned string is the answer's raw text (so a test can send broken JSON); anything else is sent as JSON. */
const raw = (value: unknown): string => typeof value === "string" ? value : JSON.stringify(value)

const userText = (message: Prompt.Message): string =>
  message.role === "user"
    ? message.content.flatMap((part) => part.type === "text" ? [part.text] : []).join("\n")
    : ""

/**
 * The text answer, or the tool calls, of one `generateText` call. `random`
 * is the service's seeded generator, so invalid answers and generated
 * objects are the same in every run.
 *
 * @internal
 */
export const responder = (
  profile: Simulated.Profile,
  options: Simulated.Options | undefined,
  random: Random.Random
) => {
  const respond = profile.respond ?? ((prompt: string) => `${profile.name}: ${prompt}`)
  const invalidRate = options?.structured?.invalidRate ?? 0
  const objects = options?.structured?.objects
  let served = 0

  const object = (
    users: ReadonlyArray<string>,
    format: NonNullable<modelContext.CallSettings["responseFormat"]>
  ): Effect.Effect<unknown> => {
    if (typeof objects === "function") return Effect.sync(() => objects(users.at(-1) ?? "", users))
    if (objects !== undefined) return Effect.sync(() => objects[served++ % objects.length])
    // Generated from the schema, seeded from the service's generator.
    // Encoded, as a model writes JSON (a `Date` field is an ISO string).
    return Effect.map(
      random.nextIntBetween(0, 2 ** 31 - 1),
      (seed) =>
        Schema.encodeSync(format.schema)(FastCheck.sample(Arbitrary.make(format.schema), { numRuns: 1, seed })[0])
    )
  }

  return (
    providerOptions: LanguageModel.ProviderOptions
  ): Effect.Effect<{ readonly text: string; readonly parts: ReadonlyArray<Response.PartEncoded> }> =>
    Effect.gen(function*() {
      const call = yield* modelContext.CallSettings
      const messages = providerOptions.prompt.content
      const users = messages.flatMap((message) => message.role === "user" ? [userText(message)] : [])
      const last = users.at(-1) ?? ""

      if (options?.tools !== undefined && providerOptions.tools.length > 0) {
        const results = messages.flatMap((message) =>
          message.role === "tool" ? message.content.map((part) => ({ name: part.name, result: part.result })) : []
        )
        const round = messages.filter((message) => message.role === "tool").length + 1
        const calls = options.tools({
          prompt: last,
          round,
          tools: providerOptions.tools.map((tool) => tool.name),
          results
        })
        if (calls.length > 0) {
          return {
            text: JSON.stringify(calls),
            parts: calls.map((c, i): Response.PartEncoded => ({
              type: "tool-call",
              id: `sim-${round}-${i}`,
              name: c.name,
              params: c.params
            }))
          }
        }
      }

      const format = call.responseFormat
      if (format === undefined) {
        const text = respond(last, call as Model.CallOptions)
        return { text, parts: [{ type: "text", text }] }
      }
      const u = invalidRate > 0 ? yield* random.next : 1
      const text = u < invalidRate / 2
        ? "Sure! Here is the JSON you asked for: {"
        : u < invalidRate
        ? JSON.stringify({ unexpected: "shape" })
        : raw(yield* object(users, format))
      return { text, parts: [{ type: "text", text }] }
    })
}
