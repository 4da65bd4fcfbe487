import * as Context from "effect/Context"
import type * as Schema from "effect/Schema"
import type * as Model from "../Model.js"
import type * as Simulated from "../Model/Simulated.js"
import { profiles } from "./modelProfiles.js"

/** @internal */
export const defaultPrices: Model.PriceTable = {
  ...Object.fromEntries(
    (Object.values(profiles) as ReadonlyArray<Simulated.Profile>).flatMap((p) =>
      p.costPerCall === undefined ? [] : [[p.name, { perCall: p.costPerCall }]]
    )
  ),
  // List prices per 1K tokens (2025); users override them with `layerPrices`.
  "gpt-4o": { inputPer1K: 0.0025, outputPer1K: 0.01 },
  "gpt-4o-mini": { inputPer1K: 0.00015, outputPer1K: 0.0006 },
  "gpt-4.1": { inputPer1K: 0.002, outputPer1K: 0.008 },
  "gpt-4.1-mini": { inputPer1K: 0.0004, outputPer1K: 0.0016 },
  "gpt-4-turbo": { inputPer1K: 0.01, outputPer1K: 0.03 },
  "gpt-4": { inputPer1K: 0.03, outputPer1K: 0.06 },
  "gpt-3.5-turbo": { inputPer1K: 0.0005, outputPer1K: 0.0015 }
}

/** @internal */
export const Prices = Context.Reference<Model.Prices>()("flowtune/Model/Prices", {
  defaultValue: (): Model.PriceTable => defaultPrices
})

/** @internal */
export const Provider = Context.Reference<Model.Provider>()("flowtune/Model/Provider", {
  defaultValue: (): Model.ProviderInfo => ({ system: "unknown", model: "unknown" })
})

/**
 * Models already reported as missing from the price table: one warning per
 * model per table (`layerPrices` starts a new set), however many calls.
 *
 * @internal
 */
export const UnpricedModels = Context.Reference<UnpricedModels>()("flowtune/Model/UnpricedModels", {
  defaultValue: (): Set<string> => new Set()
})

/** @internal */
export interface UnpricedModels {
  readonly _: unique symbol
}

/**
 * What one call asks of the provider beyond its prompt: the per-call options,
 * and for structured output the schema of the answer. The primitives set it
 * around the `LanguageModel` call; flowtune's layers read it to build the
 * request (a provider that does not read it still gets the prompt, which
 * carries the instructions for structured output).
 *
 * @internal
 */
export interface CallSettings extends Model.CallOptions {
  readonly responseFormat?: {
    readonly name: string
    readonly jsonSchema: object
    readonly schema: Schema.Schema<any, any> // `any`: decoded by the caller, only sampled by the simulated model
  } | undefined
}

/** @internal */
export const CallSettings = Context.Reference<CallSettingsTag>()("flowtune/Model/CallSettings", {
  defaultValue: (): CallSettings => ({})
})

/** @internal */
export interface CallSettingsTag {
  readonly _: unique symbol
}
