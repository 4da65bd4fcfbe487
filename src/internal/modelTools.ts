/**
 * The call-tool-answer loop: the model is offered tools (an `@effect/ai`
 * toolkit built from their parameter schemas, so any provider can describe
 * them), the calls of one answer run in parallel as flowtune primitives, and
 * their results go back to the model, up to a bound on rounds.
 *
 * Why our own loop rather than `@effect/ai`'s tool resolution: there it runs
 * one round and calls handlers, while a workflow needs the tools to be
 * primitives (traced, cached, routed), every round priced, and a bound.
 *
 * @internal
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as AiTool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Model from "../Model.js"
import * as Primitive from "../Primitive.js"
import * as internal from "./model.js"
import * as Options from "./options.js"
import { annotateSpan } from "./tracing.js"

/** Names the providers accept for tools (OpenAI's rule). */
const toolName = /^[a-zA-Z0-9_-]{1,64}$/

type AnyTool = Model.Tool<any, any, any, any> // `any`: each tool has its own types; the loop only routes by name

/** @internal */
export const generateWithTools = <const Tools extends Record<string, AnyTool>>(
  options: Model.ToolsOptions<Tools>
): Primitive.Primitive<
  Model.Input,
  Model.ToolsCompletion,
  Model.ModelError | Model.ToolFailed | Model.ToolRoundsExceeded,
  // `any`: a record of tools of any types: each tool's own types are read back with `infer`
  LanguageModel.LanguageModel | (Tools[keyof Tools] extends Model.Tool<any, any, any, infer R> ? R : never)
> => {
  const config = internal.settings(options, "Model.generateWithTools", 2)
  const maxRounds = options?.maxRounds === undefined
    ? 5
    : Options.positiveInt(config.name, "maxRounds", options.maxRounds)
  const tools: Record<string, AnyTool> = options?.tools ??
    Options.invalid(config.name, "tools", "a record of tools", undefined)
  const entries = Object.entries(tools)
  if (entries.length === 0) Options.invalidShape(config.name, "option \"tools\" must offer at least one tool")
  const aiTools = entries.map(([name, tool]) => {
    if (!toolName.test(name)) Options.invalid(config.name, `tools.${name}`, "named with [a-zA-Z0-9_-]{1,64}", name)
    if (!Schema.isSchema(tool?.parameters) || !("fields" in tool.parameters)) {
      Options.invalid(config.name, `tools.${name}.parameters`, "a Schema.Struct", tool?.parameters)
    }
    if (!Primitive.isPrimitive(tool.primitive)) {
      Options.invalid(config.name, `tools.${name}.primitive`, "a Primitive", tool.primitive)
    }
    return AiTool.make(name, {
      description: tool.description,
      parameters: tool.parameters.fields,
      success: Schema.Unknown
    })
  })
  const toolkit = Toolkit.make(...aiTools)
  // Tool calls are resolved by the loop below, never by `@effect/ai`.
  // `any`: @effect/ai's toolkit parameter: calls with and without tools share this code
  const withHandler: Toolkit.WithHandler<any> = {
    tools: toolkit.tools,
    handle: () => Effect.dieMessage("flowtune runs tool calls itself")
  }

  const runTool =
    (round: number) => (call: { readonly id: string; readonly name: string; readonly params: unknown }) => {
      const tool = tools[call.name]!
      return tool.primitive.run(call.params).pipe(
        Effect.mapError((error) => new Model.ToolFailed({ tool: call.name, params: call.params, error })),
        Effect.flatMap((result) =>
          Effect.all({
            // The prompt carries encoded values (JSON), as the model wrote and reads them.
            params: Schema.encodeUnknown(tool.parameters)(call.params),
            result: tool.success === undefined ? Effect.succeed(result) : Schema.encodeUnknown(tool.success)(result)
          }).pipe(
            Effect.orDie,
            Effect.map((encoded) => ({
              call,
              encoded,
              record: { round, name: call.name, params: call.params, result }
            }))
          )
        )
      )
    }

  return Primitive.make(config.name, (input: Model.Input) =>
    Effect.gen(function*() {
      const { call, prompt: base } = internal.resolveInput(config, input)
      let prompt = base
      let inputTokens = 0
      let outputTokens = 0
      let costUsd = 0
      const toolCalls: Array<Model.ToolCall> = []
      for (let round = 1;; round++) {
        const { completion, response } = yield* internal.callOnce(config, prompt, call, withHandler)
        inputTokens += completion.usage.inputTokens
        outputTokens += completion.usage.outputTokens
        costUsd += completion.costUsd
        const calls = response.toolCalls.filter((part) => !part.providerExecuted)
        if (calls.length === 0) {
          yield* annotateSpan({
            "flowtune.model.rounds": round,
            "flowtune.model.tool_calls": toolCalls.length
          })
          return {
            text: completion.text,
            usage: { inputTokens, outputTokens },
            costUsd,
            model: completion.model,
            modelCalls: round,
            toolCalls
          } satisfies Model.ToolsCompletion
        }
        if (round > maxRounds) {
          return yield* new Model.ToolRoundsExceeded({ model: completion.model, maxRounds })
        }
        const results = yield* Effect.forEach(calls, runTool(round), { concurrency: "unbounded" })
        for (const result of results) toolCalls.push(result.record)
        prompt = Prompt.merge(prompt, [
          {
            role: "assistant",
            content: [
              ...(completion.text.length > 0 ? [{ type: "text" as const, text: completion.text }] : []),
              ...results.map(({ call, encoded }) => ({
                type: "tool-call" as const,
                id: call.id,
                name: call.name,
                params: encoded.params
              }))
            ]
          },
          {
            role: "tool",
            content: results.map(({ call, encoded }) => ({
              type: "tool-result" as const,
              id: call.id,
              name: call.name,
              isFailure: false,
              result: encoded.result,
              providerExecuted: false
            }))
          }
        ])
      }
    }), { annotations: internal.annotations(config) }) as any // `any`: R is the union of the tools' requirements, which the body's inference cannot name
}
