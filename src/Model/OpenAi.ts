/**
 * An `@effect/ai` `LanguageModel` for any OpenAI-compatible server, through
 * the Chat Completions API (`POST {baseUrl}/chat/completions`, with SSE
 * streaming).
 *
 * Why not `@effect/ai-openai`'s `OpenAiLanguageModel`: in 0.41 it speaks only
 * the newer Responses API (`POST /responses`), which vLLM, llama.cpp and most
 * gateways do not serve, and its generated schemas reject the looser answers
 * those servers give. Chat Completions is what "OpenAI-compatible" means in
 * practice; with OpenAI itself, both work (use `OpenAiLanguageModel` directly
 * if you need Responses-only features: the `Model` primitives run on it too).
 *
 * The API key is `Redacted` and only ever set as the `authorization` header,
 * which Effect's HTTP client redacts from errors and span attributes.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import * as OpenAi from "flowtune/Model/OpenAi"
 *
 * const ModelLive = OpenAi.layer({
 *   baseUrl: "http://localhost:11434/v1", // Ollama
 *   model: "llama3.2",
 *   apiKey: Redacted.make("unused")
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as AiTool from "@effect/ai/Tool"
import * as Sse from "@effect/experimental/Sse"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import { identity } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as EffectStream from "effect/Stream"
import * as modelContext from "../internal/modelContext.js"
import * as CheckOptions from "../internal/options.js"
import { importPeer, type MissingPeerDependency } from "../internal/peer.js"
import type * as Model from "../Model.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The API root, `/v1` included. Default: `https://api.openai.com/v1`. */
  readonly baseUrl?: string | undefined
  readonly model: string
  /** Sent as `authorization: Bearer ...`; optional for local servers. */
  readonly apiKey?: Redacted.Redacted | undefined
  /** Default `max_tokens` (a per-call `maxTokens` overrides it). */
  readonly maxTokens?: number | undefined
  /** Default `temperature`, 0 to 2 (a per-call `temperature` overrides it). */
  readonly temperature?: number | undefined
  /**
   * How structured output is asked for: `"json-schema"` sends the schema as
   * `response_format: { type: "json_schema" }` (OpenAI, vLLM, recent llama.cpp
   * and Ollama); `"instructions"` describes it in the prompt instead, for
   * servers that reject or ignore `response_format`. Either way the answer is
   * parsed and decoded by the primitive. Default: `"json-schema"`.
   */
  readonly structuredOutput?: "json-schema" | "instructions" | undefined
  /** Reuse TCP connections between requests (Node's HTTP agent). Default: true. */
  readonly keepAlive?: boolean | undefined
  /** Most concurrent connections to the server. Default: 64. */
  readonly maxSockets?: number | undefined
}

const module = "flowtune/Model/OpenAi"

const UsageSchema = Schema.Struct({
  prompt_tokens: Schema.Number,
  completion_tokens: Schema.Number,
  total_tokens: Schema.optional(Schema.Number)
})

const FinishReason = Schema.optional(Schema.NullOr(Schema.String))

const ChatCompletion = Schema.parseJson(Schema.Struct({
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

const ChatCompletionChunk = Schema.parseJson(Schema.Struct({
  id: Schema.optional(Schema.String),
  model: Schema.optional(Schema.String),
  choices: Schema.Array(Schema.Struct({
    delta: Schema.optional(Schema.Struct({ content: Schema.optional(Schema.NullOr(Schema.String)) })),
    finish_reason: FinishReason
  })),
  usage: Schema.optional(Schema.NullOr(UsageSchema))
}))

const finishReason = (reason: string | null | undefined): Response.FinishReason => {
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

const usageOf = (usage: typeof UsageSchema.Type | null | undefined) => ({
  inputTokens: usage?.prompt_tokens,
  outputTokens: usage?.completion_tokens,
  totalTokens: usage?.total_tokens ??
    (usage ? usage.prompt_tokens + usage.completion_tokens : undefined)
})

const textOf = (parts: ReadonlyArray<{ readonly type: string }>): string =>
  parts.flatMap((part) => part.type === "text" ? [(part as Prompt.TextPart).text] : []).join("\n")

/** Text and tool calls; files and reasoning are not sent (use `OpenAiLanguageModel` for those). */
const toMessages = (prompt: Prompt.Prompt) =>
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

const toTools = (tools: ReadonlyArray<AiTool.Any>) =>
  tools.map((tool) => ({
    type: "function",
    function: {
      name: tool.name,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      parameters: AiTool.getJsonSchemaFromSchemaAst(tool.parametersSchema.ast)
    }
  }))

/** A tool call's arguments: JSON text the model wrote, so possibly not JSON. */
const parseArguments = (method: string, name: string, text: string) =>
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

const mapHttpErrors = (method: string) => ({
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

/**
 * Builds the service on the `HttpClient` in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<LanguageModel.Service, never, HttpClient.HttpClient> => {
  const checked = check(options)
  return Effect.gen(function*() {
    const baseUrl = checked.baseUrl
    const structuredOutput = checked.structuredOutput
    const client = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest((request) =>
        request.pipe(
          HttpClientRequest.prependUrl(baseUrl),
          options.apiKey === undefined ? identity : HttpClientRequest.bearerToken(options.apiKey),
          HttpClientRequest.acceptJson
        )
      ),
      HttpClient.filterStatusOk
    )

    const request = (providerOptions: LanguageModel.ProviderOptions, stream: boolean) =>
      Effect.map(modelContext.CallSettings, (call) => {
        const model = call.model ?? options.model
        const maxTokens = call.maxTokens ?? options.maxTokens
        const temperature = call.temperature ?? options.temperature
        providerOptions.span.attribute("gen_ai.system", "openai")
        providerOptions.span.attribute("gen_ai.request.model", model)
        const format = call.responseFormat
        return HttpClientRequest.post("/chat/completions").pipe(
          HttpClientRequest.bodyUnsafeJson({
            model,
            messages: toMessages(providerOptions.prompt),
            ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }),
            ...(temperature === undefined ? {} : { temperature }),
            ...(call.stop === undefined ? {} : { stop: call.stop }),
            ...(call.seed === undefined ? {} : { seed: call.seed }),
            ...(format === undefined || structuredOutput !== "json-schema" ? {} : {
              response_format: {
                type: "json_schema",
                // Not `strict`: OpenAI's strict mode rejects optional fields,
                // and the primitive decodes (and retries) the answer anyway.
                json_schema: { name: format.name, schema: format.jsonSchema, strict: false }
              }
            }),
            ...(providerOptions.tools.length === 0 ? {} : {
              tools: toTools(providerOptions.tools),
              tool_choice: providerOptions.toolChoice === "required" ? "required" : "auto"
            }),
            ...(stream ? { stream: true, stream_options: { include_usage: true } } : {})
          })
        )
      })

    const decodeCompletion = Schema.decode(ChatCompletion)
    const decodeChunk = Schema.decode(ChatCompletionChunk)

    return yield* LanguageModel.make({
      generateText: (providerOptions) =>
        request(providerOptions, false).pipe(
          Effect.flatMap(client.execute),
          Effect.flatMap((response) => response.text),
          Effect.catchTags(mapHttpErrors("generateText")),
          Effect.flatMap((body) =>
            Effect.mapError(
              decodeCompletion(body),
              (error) => AiError.MalformedOutput.fromParseError({ module, method: "generateText", error })
            )
          ),
          Effect.flatMap((completion) => {
            const choice = completion.choices[0]
            return Effect.map(
              Effect.forEach(choice.message.tool_calls ?? [], (call) =>
                Effect.map(
                  parseArguments("generateText", call.function.name, call.function.arguments),
                  (params): Response.PartEncoded => ({
                    type: "tool-call",
                    id: call.id,
                    name: call.function.name,
                    params
                  })
                )),
              (calls): Array<Response.PartEncoded> => [
                { type: "response-metadata", id: completion.id, modelId: completion.model, timestamp: undefined },
                { type: "text", text: choice.message.content ?? "" },
                ...calls,
                { type: "finish", reason: finishReason(choice.finish_reason), usage: usageOf(completion.usage) }
              ]
            )
          })
        ),
      streamText: (providerOptions) =>
        EffectStream.suspend(() => {
          const id = "text-0"
          let started = false
          let reason: string | null | undefined
          let usage: typeof UsageSchema.Type | null | undefined
          return request(providerOptions, true).pipe(
            Effect.flatMap(client.execute),
            Effect.map((response) => response.stream),
            EffectStream.unwrapScoped,
            EffectStream.catchTags(mapHttpErrors("streamText")),
            EffectStream.decodeText(),
            EffectStream.pipeThroughChannel(Sse.makeChannel()),
            EffectStream.takeWhile((event) => event.data.trim() !== "[DONE]"),
            EffectStream.mapEffect((event) =>
              Effect.mapError(
                decodeChunk(event.data),
                (error) => AiError.MalformedOutput.fromParseError({ module, method: "streamText", error })
              )
            ),
            EffectStream.mapConcat((chunk): Array<Response.StreamPartEncoded> => {
              const parts: Array<Response.StreamPartEncoded> = []
              if (!started) {
                started = true
                parts.push(
                  { type: "response-metadata", id: chunk.id, modelId: chunk.model, timestamp: undefined },
                  { type: "text-start", id }
                )
              }
              for (const choice of chunk.choices) {
                const delta = choice.delta?.content
                if (delta) parts.push({ type: "text-delta", id, delta })
                if (choice.finish_reason) reason = choice.finish_reason
              }
              if (chunk.usage) usage = chunk.usage
              return parts
            }),
            EffectStream.concat(EffectStream.suspend(() =>
              EffectStream.make<Array<Response.StreamPartEncoded>>(
                { type: "text-end", id },
                { type: "finish", reason: finishReason(reason), usage: usageOf(usage) }
              )
            ))
          )
        })
    })
  })
}

/** Validates every option where it is given (see `internal/options.ts`). */
const check = (options: Options) => {
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

/**
 * The service on a caller-supplied `HttpClient` (fetch, undici, a proxy...).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithoutHttpClient = (
  options: Options
): Layer.Layer<LanguageModel.LanguageModel | Model.Provider, never, HttpClient.HttpClient> =>
  Layer.merge(
    Layer.effect(LanguageModel.LanguageModel, make(options)),
    Layer.succeed(modelContext.Provider, {
      system: "openai",
      model: options.model,
      structuredOutput: check(options).structuredOutput
    })
  )

/**
 * The service on Node's HTTP client, with a keep-alive agent by default.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<LanguageModel.LanguageModel | Model.Provider, MissingPeerDependency> => {
  const { keepAlive, maxSockets } = check(options)
  // Node's HTTP client is an optional peer (@effect/platform-node), loaded when the layer is built, so importing
  // flowtune never loads it; `layerWithoutHttpClient` takes any other HttpClient (fetch, in a browser).
  const http = Layer.unwrapEffect(Effect.map(
    importPeer("@effect/platform-node", "Model.layerOpenAi", () => import("@effect/platform-node/NodeHttpClient")),
    (NodeHttpClient) =>
      NodeHttpClient.layerWithoutAgent.pipe(Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive, maxSockets })))
  ))
  return layerWithoutHttpClient(options).pipe(Layer.provide(http))
}

/**
 * `layer` configured from `OPENAI_BASE_URL` (default
 * `https://api.openai.com/v1`), `OPENAI_MODEL` and `OPENAI_API_KEY`
 * (optional, read as a secret).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options?: Partial<Omit<Options, "baseUrl" | "model" | "apiKey">>
): Layer.Layer<LanguageModel.LanguageModel | Model.Provider, ConfigError.ConfigError | MissingPeerDependency> =>
  Layer.unwrapEffect(
    Effect.map(
      Config.all({
        baseUrl: Config.string("OPENAI_BASE_URL").pipe(Config.withDefault("https://api.openai.com/v1")),
        model: Config.string("OPENAI_MODEL"),
        apiKey: Config.option(Config.redacted("OPENAI_API_KEY"))
      }),
      (config) => layer({ ...options, ...config, apiKey: Option.getOrUndefined(config.apiKey) })
    )
  )
