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
import * as Sse from "@effect/experimental/Sse"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
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
  readonly maxTokens?: number | undefined
  readonly temperature?: number | undefined
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
    message: Schema.Struct({ content: Schema.optional(Schema.NullOr(Schema.String)) }),
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

/** Text-only conversion: tool calls and files are not sent (use `OpenAiLanguageModel` for those). */
const toMessages = (prompt: Prompt.Prompt) =>
  prompt.content.flatMap((message) => {
    switch (message.role) {
      case "system":
        return [{ role: "system", content: message.content }]
      case "user":
        return [{ role: "user", content: textOf(message.content) }]
      case "assistant":
        return [{ role: "assistant", content: textOf(message.content) }]
      case "tool":
        return []
    }
  })

const mapHttpErrors = (method: string) => ({
  RequestError: (error: HttpClientError.RequestError) =>
    Effect.fail(AiError.HttpRequestError.fromRequestError({ module, method, error })),
  ResponseError: (error: HttpClientError.ResponseError) =>
    error.reason === "StatusCode"
      ? AiError.HttpResponseError.fromResponseError({ module, method, error })
      // `fromResponseError` re-reads an unreadable body and can throw while
      // formatting it (platform-node 0.108), so a bad body is reported here.
      : Effect.fail(
        new AiError.MalformedOutput({
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
export const make = (options: Options): Effect.Effect<LanguageModel.Service, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const baseUrl = (options.baseUrl ?? "https://api.openai.com/v1").replace(/\/+$/, "")
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

    const request = (providerOptions: LanguageModel.ProviderOptions, stream: boolean) => {
      providerOptions.span.attribute("gen_ai.system", "openai")
      providerOptions.span.attribute("gen_ai.request.model", options.model)
      return HttpClientRequest.post("/chat/completions").pipe(
        HttpClientRequest.bodyUnsafeJson({
          model: options.model,
          messages: toMessages(providerOptions.prompt),
          ...(options.maxTokens === undefined ? {} : { max_tokens: options.maxTokens }),
          ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
          ...(stream ? { stream: true, stream_options: { include_usage: true } } : {})
        })
      )
    }

    const decodeCompletion = Schema.decode(ChatCompletion)
    const decodeChunk = Schema.decode(ChatCompletionChunk)

    return yield* LanguageModel.make({
      generateText: (providerOptions) =>
        client.execute(request(providerOptions, false)).pipe(
          Effect.flatMap((response) => response.text),
          Effect.catchTags(mapHttpErrors("generateText")),
          Effect.flatMap((body) =>
            Effect.mapError(
              decodeCompletion(body),
              (error) => AiError.MalformedOutput.fromParseError({ module, method: "generateText", error })
            )
          ),
          Effect.map((completion): Array<Response.PartEncoded> => {
            const choice = completion.choices[0]
            return [
              { type: "response-metadata", id: completion.id, modelId: completion.model, timestamp: undefined },
              { type: "text", text: choice.message.content ?? "" },
              { type: "finish", reason: finishReason(choice.finish_reason), usage: usageOf(completion.usage) }
            ]
          })
        ),
      streamText: (providerOptions) =>
        EffectStream.suspend(() => {
          const id = "text-0"
          let started = false
          let reason: string | null | undefined
          let usage: typeof UsageSchema.Type | null | undefined
          return client.execute(request(providerOptions, true)).pipe(
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
    Layer.succeed(modelContext.Provider, { system: "openai", model: options.model })
  )

/**
 * The service on Node's HTTP client, with a keep-alive agent by default.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<LanguageModel.LanguageModel | Model.Provider> =>
  layerWithoutHttpClient(options).pipe(
    Layer.provide(NodeHttpClient.layerWithoutAgent),
    Layer.provide(NodeHttpClient.makeAgentLayer({
      keepAlive: options.keepAlive ?? true,
      maxSockets: options.maxSockets ?? 64
    }))
  )

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
): Layer.Layer<LanguageModel.LanguageModel | Model.Provider, ConfigError.ConfigError> =>
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
