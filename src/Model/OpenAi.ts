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
import type * as Response from "@effect/ai/Response"
import * as Sse from "@effect/experimental/Sse"
import * as HttpClient from "@effect/platform/HttpClient"
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
import * as wire from "../internal/modelOpenAi.js"
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

/**
 * Builds the service on the `HttpClient` in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<LanguageModel.Service, never, HttpClient.HttpClient> => {
  const checked = wire.check(options)
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
            messages: wire.toMessages(providerOptions.prompt),
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
              tools: wire.toTools(providerOptions.tools),
              tool_choice: providerOptions.toolChoice === "required" ? "required" : "auto"
            }),
            ...(stream ? { stream: true, stream_options: { include_usage: true } } : {})
          })
        )
      })

    const decodeCompletion = Schema.decode(wire.ChatCompletion)
    const decodeChunk = Schema.decode(wire.ChatCompletionChunk)

    return yield* LanguageModel.make({
      generateText: (providerOptions) =>
        request(providerOptions, false).pipe(
          Effect.flatMap(client.execute),
          Effect.flatMap((response) => response.text),
          Effect.catchTags(wire.mapHttpErrors("generateText")),
          Effect.flatMap((body) =>
            Effect.mapError(
              decodeCompletion(body),
              (error) => AiError.MalformedOutput.fromParseError({ module: wire.module, method: "generateText", error })
            )
          ),
          Effect.flatMap((completion) => {
            const choice = completion.choices[0]
            return Effect.map(
              Effect.forEach(choice.message.tool_calls ?? [], (call) =>
                Effect.map(
                  wire.parseArguments("generateText", call.function.name, call.function.arguments),
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
                {
                  type: "finish",
                  reason: wire.finishReason(choice.finish_reason),
                  usage: wire.usageOf(completion.usage)
                }
              ]
            )
          })
        ),
      streamText: (providerOptions) =>
        EffectStream.suspend(() => {
          const id = "text-0"
          let started = false
          let reason: string | null | undefined
          let usage: typeof wire.UsageSchema.Type | null | undefined
          return request(providerOptions, true).pipe(
            Effect.flatMap(client.execute),
            Effect.map((response) => response.stream),
            EffectStream.unwrapScoped,
            EffectStream.catchTags(wire.mapHttpErrors("streamText")),
            EffectStream.decodeText(),
            EffectStream.pipeThroughChannel(Sse.makeChannel()),
            EffectStream.takeWhile((event) => event.data.trim() !== "[DONE]"),
            EffectStream.mapEffect((event) =>
              Effect.mapError(
                decodeChunk(event.data),
                (error) => AiError.MalformedOutput.fromParseError({ module: wire.module, method: "streamText", error })
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
                { type: "finish", reason: wire.finishReason(reason), usage: wire.usageOf(usage) }
              )
            ))
          )
        })
    })
  })
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
      structuredOutput: wire.check(options).structuredOutput
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
  const { keepAlive, maxSockets } = wire.check(options)
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
