/**
 * Structured output: ask for JSON matching a schema, decode the answer, and
 * send a bad answer back with its decode error, a bounded number of times.
 *
 * Why not `LanguageModel.generateObject`: on a decode failure it returns only
 * a `MalformedOutput`, losing the raw text (which the retry feeds back and
 * `InvalidOutput` carries) and the response's usage (so a failed attempt
 * could not be charged). We call `generateText` and decode ourselves; the
 * schema reaches flowtune's layers through `CallSettings.responseFormat`.
 *
 * @internal
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as JSONSchema from "effect/JSONSchema"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import * as Model from "../Model.js"
import * as Primitive from "../Primitive.js"
import * as internal from "./model.js"
import * as modelContext from "./modelContext.js"
import * as Options from "./options.js"
import { annotateSpan } from "./tracing.js"

/** OpenAI's rule for `json_schema.name` (and tool names): `[a-zA-Z0-9_-]{1,64}`. */
const providerName = (name: string): string => name.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 64) || "object"

/**
 * The schema inline at the top (not a `$ref` to its identifier): providers
 * want an object schema at the root of `response_format`.
 */
const jsonSchemaOf = (schema: Schema.Schema.Any): object => {
  const definitions: Record<string, JSONSchema.JsonSchema7> = {}
  const root = JSONSchema.fromAST(schema.ast, { definitions, topLevelReferenceStrategy: "skip" })
  return Object.keys(definitions).length === 0 ? root : { ...root, $defs: definitions }
}

const fenced = /^```[a-zA-Z]*\s*([\s\S]*?)\s*```$/

/**
 * Decodes a raw answer: JSON (models often wrap it in a code fence, which is
 * not an error worth a paid retry), then the schema.
 *
 * @internal
 */
export const decodeAnswer = <A>(
  decode: (u: unknown) => Either.Either<A, ParseResult.ParseError>,
  text: string
): Either.Either<A, string> => {
  const trimmed = text.trim()
  const body = fenced.exec(trimmed)?.[1] ?? trimmed
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch (error) {
    return Either.left(`the answer is not JSON (${error instanceof Error ? error.message : String(error)})`)
  }
  return Either.mapLeft(
    decode(json),
    (error) => `the JSON does not match the schema:\n${ParseResult.TreeFormatter.formatErrorSync(error)}`
  )
}

const feedback = (issue: string): string =>
  `Your previous answer was rejected: ${issue}\nAnswer again with only the corrected JSON value.`

/** @internal */
export const generateObject = <A, I>(
  options: Model.ObjectOptions<A, I>
): Primitive.Primitive<
  Model.Input,
  Model.ObjectCompletion<A>,
  Model.ModelError | Model.InvalidOutput,
  LanguageModel.LanguageModel
> => {
  const config = internal.settings(options, "Model.generateObject", 2)
  const schema = options?.schema
  if (!Schema.isSchema(schema)) return Options.invalid(config.name, "schema", "a Schema", schema)
  const decodeRetries = options.decodeRetries === undefined
    ? 2
    : Options.nonNegativeInt(config.name, "decodeRetries", options.decodeRetries)
  let jsonSchema: object
  try {
    jsonSchema = jsonSchemaOf(schema)
  } catch (error) {
    return Options.invalidShape(
      config.name,
      `the schema has no JSON Schema to send to the model (${error instanceof Error ? error.message : String(error)})`
    )
  }
  const identifier = Option.getOrUndefined(SchemaAST.getIdentifierAnnotation(schema.ast))
  const name = providerName(
    options.objectName === undefined
      ? identifier ?? "object"
      : Options.nonEmptyString(config.name, "objectName", options.objectName)
  )
  const responseFormat = { name, jsonSchema, schema }
  const instructions = "Answer with only a JSON value (no prose, no code fence) that matches this JSON Schema:\n" +
    JSON.stringify(jsonSchema)
  const decode = Schema.decodeUnknownEither(schema)

  return Primitive.make(config.name, (input: Model.Input) =>
    Effect.gen(function*() {
      const provider = yield* modelContext.Provider
      const { call, prompt: base } = internal.resolveInput(config, input)
      // A layer that sends the schema to the server needs no instructions.
      let prompt = provider.structuredOutput === "json-schema" ? base : Prompt.appendSystem(base, instructions)
      const settings: modelContext.CallSettings = { ...call, responseFormat }
      let inputTokens = 0
      let outputTokens = 0
      let costUsd = 0
      for (let attempt = 1;; attempt++) {
        const { completion } = yield* internal.callOnce(config, prompt, settings)
        inputTokens += completion.usage.inputTokens
        outputTokens += completion.usage.outputTokens
        costUsd += completion.costUsd
        const decoded = decodeAnswer(decode, completion.text)
        if (Either.isRight(decoded)) {
          yield* annotateSpan({ "flowtune.model.attempts": attempt })
          return {
            value: decoded.right,
            text: completion.text,
            usage: { inputTokens, outputTokens },
            costUsd,
            model: completion.model,
            attempts: attempt
          } satisfies Model.ObjectCompletion<A>
        }
        if (attempt > decodeRetries) {
          yield* annotateSpan({ "flowtune.model.attempts": attempt, "error.type": "InvalidOutput" })
          return yield* new Model.InvalidOutput({
            model: completion.model,
            text: completion.text,
            issue: decoded.left,
            attempts: attempt
          })
        }
        prompt = Prompt.merge(prompt, [
          { role: "assistant", content: completion.text },
          { role: "user", content: feedback(decoded.left) }
        ])
      }
    }), { annotations: internal.annotations(config) })
}
