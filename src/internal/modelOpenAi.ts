/**
 * The Chat Completions wire format of `Model/OpenAi`: request messages and
 * tools, response schemas, and HTTP failures as `@effect/ai` errors.
 *
 * @internal
 */
import * as AiError from "@effect/ai/AiError"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as AiTool from "@effect/ai/Tool"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as OpenAi from "../Model/OpenAi.js"
import * as CheckOptions from "./options.js"

/** @internal */
export const module = "flowtune/Model/OpenAi"

/** @internal */
export const UsageSchema = Schema.Struct({
  prompt_tokens: Schema.Number,
  completion_tokens: Schema.Number,
  total_tokens: Schema.optional(Schema.Number)
})

const FinishReason = Schema.optional(Schema.NullOr(Schema.String))

/** @internal */
export const ChatCompletion = Schema.parseJson(Schema.Struct({
  id: Schema.optional(Schema.String),
  model: Schema.optional(Schema.String),
  choices: Schema.NonEmptyArray(Schema.Struct({
    message: Schema.Struct({
      content: Schema.optional(Schema.NullOr(Schema.String)),
      tool_calls: Schema.optional(Schema.NullOr(Schema.Array(Schema.Struct({
        id: Schema.String,
        function: Schema.Struct({ name: Schema.String, arguments: Schema.String })
      }))))
    }),
    finish_reason: FinishReason
  })),
  usage: Schema.optional(Schema.NullOr(UsageSchema))
}))

/** @internal */
export const ChatCompletionChunk = Schema.parseJson(Schema.Struct({
  id: Schema.optional(Schema.String),
  model: Schema.optional(Schema.String),
  choices: Schema.Array(Schema.Struct({
    delta: Schema.optional(Schema.Struct({ content: Schema.optional(Schema.NullOr(Schema.String)) })),
    finish_reason: FinishReason
  })),
  usage: Schema.optional(Schema.NullOr(UsageSchema))
}))

/** @internal */
export const finishReason = (reason: string | null | undefined): Response.FinishReason => {
  switch (reason) {
    case "stop":
      return "stop"
    case "length":
      return "length"
    case "content_filter":
      return "content-filter"
    case "tool_calls":
    case "function_call":
      return "tool-calls"
    case null:
    case undefined:
      return "unknown"
    default:
      return "other"
  }
}

/** @internal */
export const usageOf = (usage: typeof UsageSchema.Type | null | undefined) => ({
  inputTokens: usage?.prompt_tokens,
  outputTokens: usage?.completion_tokens,
  totalTokens: usage?.total_tokens ??
    (usage ? usage.prompt_tokens + usage.completion_tokens : undefined)
})

const textOf = (parts: ReadonlyArray<{ readonly type: string }>): string =>
  parts.flatMap((part) => part.type === "text" ? [(part as Prompt.TextPart).text] : []).join("\n")

/** Text and tool calls; files and reasoning are not sent (use `OpenAiLanguageModel` for those). */
/** @internal */
export const toMessages = (prompt: Prompt.Prompt) =>
  prompt.content.flatMap((message): Array<object> => {
    switch (message.role) {
      case "system":
        return [{ role: "system", content: message.content }]
      case "user":
        return [{ role: "user", content: textOf(message.content) }]
      case "assistant": {
        const calls = message.content.flatMap((part) =>
          part.type === "tool-call"
            ? [{ id: part.id, type: "function", function: { name: part.name, arguments: JSON.stringify(part.params) } }]
            : []
        )
        const text = textOf(message.content)
        return [
          calls.length === 0
            ? { role: "assistant", content: text }
            : { role: "assistant", content: text.length === 0 ? null : text, tool_calls: calls }
        ]
      }
      case "tool":
        return message.content.map((part) => ({
          role: "tool",
          tool_call_id: part.id,
          content: typeof part.result === "string" ? part.result : JSON.stringify(part.result ?? null)
        }))
    }
  })

/** @internal */
export const toTools = (tools: ReadonlyArray<AiTool.Any>) =>
  tools.map((tool) => ({
    type: "function",
    function: {
      name: tool.name,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      parameters: AiTool.getJsonSchemaFromSchemaAst(tool.parametersSchema.ast)
    }
  }))

/** A tool call's arguments: JSON text the model wrote, so possibly not JSON. */
/** @internal */
export const parseArguments = (method: string, name: string, text: string) =>
  Effect.try({
    try: () => (text.trim().length === 0 ? {} : JSON.parse(text)) as unknown,
    catch: () =>
      new AiError.MalformedOutput({
        module,
        method,
        description: `the arguments of the call of tool "${name}" are not JSON: ${text.slice(0, 200)}`
      })
  })

/** The error's cause chain, as text, for the description of a transport failure. */
const causeText = (cause: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = cause
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth++) {
    const error = current as { readonly message?: unknown; readonly code?: unknown; readonly cause?: unknown }
    if (typeof error.code === "string") parts.push(error.code)
    if (typeof error.message === "string" && error.message.length > 0) parts.push(error.message)
    current = error.cause
  }
  return parts.length === 0 ? "" : `: ${parts.join(" ")}`
}

/** @internal */
export const mapHttpErrors = (method: string) => ({
  RequestError: (error: HttpClientError.RequestError) =>
    Effect.fail(AiError.HttpRequestError.fromRequestError({ module, method, error })),
  ResponseError: (error: HttpClientError.ResponseError) =>
    error.reason === "StatusCode"
      ? AiError.HttpResponseError.fromResponseError({ module, method, error })
      // We read the body as text (JSON is decoded afterwards, by schema), and
      // decoding bytes as UTF-8 cannot fail: a body read that fails is the
      // connection dropping mid-answer (reset, closed, aborted), a transport
      // failure, not a malformed answer. (`fromResponseError` would re-read
      // the broken body, and can throw formatting it: platform-node 0.108.)
      : Effect.fail(
        error.reason === "Decode"
          ? new AiError.HttpRequestError({
            module,
            method,
            reason: "Transport",
            request: {
              method: error.request.method,
              url: error.request.url,
              urlParams: error.request.urlParams,
              hash: error.request.hash,
              headers: {}
            },
            description: `the connection failed while reading the response${causeText(error.cause)}`
          })
          : new AiError.MalformedOutput({
            module,
            method,
            description: `the response body could not be read (${error.reason})`
          })
      )
})

/** Validates every option where it is given (see `internal/options.ts`). */
/** @internal */
export const check = (options: OpenAi.Options) => {
  const owner = "Model.layerOpenAi"
  if (typeof options !== "object" || options === null) {
    return CheckOptions.invalid(owner, "options", "an object", options)
  }
  const baseUrl = options.baseUrl === undefined
    ? "https://api.openai.com/v1"
    : CheckOptions.nonEmptyString(owner, "baseUrl", options.baseUrl)
  if (!URL.canParse(baseUrl) || !/^https?:$/.test(new URL(baseUrl).protocol)) {
    CheckOptions.invalid(owner, "baseUrl", "an http(s) URL", baseUrl)
  }
  CheckOptions.nonEmptyString(owner, "model", options.model)
  if (options.maxTokens !== undefined) CheckOptions.positiveInt(owner, "maxTokens", options.maxTokens)
  if (options.temperature !== undefined) {
    CheckOptions.number(owner, "temperature", options.temperature, { min: 0, max: 2 })
  }
  return {
    baseUrl: baseUrl.replace(/\/+$/, ""),
    structuredOutput: options.structuredOutput === undefined
      ? "json-schema" as const
      : CheckOptions.oneOf(
        owner,
        "structuredOutput",
        options.structuredOutput,
        ["json-schema", "instructions"] as const
      ),
    keepAlive: CheckOptions.booleanOr(owner, "keepAlive", options.keepAlive, true),
    maxSockets: CheckOptions.numberOr(owner, "maxSockets", options.maxSockets, 64, { integer: true, min: 1 })
  }
}
