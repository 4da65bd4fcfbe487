import * as Context from "effect/Context"
import type * as Model from "../Model.js"
import type * as Simulated from "../Model/Simulated.js"
import { profiles } from "./modelSimulated.js"

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
