/**
 * What every model call records: its cost (from the price table, charged to
 * the open cost ledgers), tokens, latency, outcome metrics and GenAI span
 * attributes.
 *
 * @internal
 */
import type * as Response from "@effect/ai/Response"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import type * as Model from "../Model.js"
import * as CostLedger from "./costLedger.js"
import * as modelContext from "./modelContext.js"
import { annotateSpan } from "./tracing.js"

// -----------------------------------------------------------------------------
// metrics
// -----------------------------------------------------------------------------

const latencyBoundaries = MetricBoundaries.exponential({ start: 10, factor: 2, count: 14 })

/** @internal */
export const metrics = {
  calls: Metric.counter("flowtune_model_calls_total", { description: "Model calls, by outcome" }),
  inputTokens: Metric.counter("flowtune_model_input_tokens_total", { description: "Prompt tokens" }),
  outputTokens: Metric.counter("flowtune_model_output_tokens_total", { description: "Completion tokens" }),
  costUsd: Metric.counter("flowtune_model_cost_usd_total", { description: "Cost of model calls in US dollars" }),
  retries: Metric.counter("flowtune_model_retries_total", { description: "Retried model attempts" }),
  unpricedCalls: Metric.counter("flowtune_model_unpriced_calls_total", {
    description: "Model calls whose model is not in the price table (counted as $0)"
  }),
  latencyMs: Metric.histogram("flowtune_model_latency_ms", latencyBoundaries, "Model call latency (ms)"),
  timeToFirstTokenMs: Metric.histogram(
    "flowtune_model_time_to_first_token_ms",
    latencyBoundaries,
    "Time to the first streamed token (ms)"
  )
}

/** @internal */
// `any`: a metric of any kind: `M` carries the kind back to the caller
export const tags = (primitive: string, model: string) => <M extends Metric.Metric<any, any, any>>(metric: M): M =>
  // `tagged` keeps the metric's kind but its signature forgets it.
  metric.pipe(Metric.tagged("primitive", primitive), Metric.tagged("model", model)) as M

// The tagged metrics of one (primitive, model, outcome), built once: tagging
// allocates label arrays and wrapper metrics on every call otherwise.
interface Tagged {
  readonly calls: typeof metrics.calls
  readonly inputTokens: typeof metrics.inputTokens
  readonly outputTokens: typeof metrics.outputTokens
  readonly costUsd: typeof metrics.costUsd
  readonly latencyMs: typeof metrics.latencyMs
}
const tagged = new Map<string, Tagged>()
const taggedFor = (primitive: string, model: string, outcome: string): Tagged => {
  const key = `${primitive}\u0000${model}\u0000${outcome}`
  let found = tagged.get(key)
  if (found === undefined) {
    const tag = tags(primitive, model)
    found = {
      calls: Metric.tagged(tag(metrics.calls), "outcome", outcome) as typeof metrics.calls,
      inputTokens: tag(metrics.inputTokens),
      outputTokens: tag(metrics.outputTokens),
      costUsd: tag(metrics.costUsd),
      latencyMs: tag(metrics.latencyMs)
    }
    tagged.set(key, found)
  }
  return found
}

/** @internal */
export const recordSuccess = (
  primitive: string,
  system: string,
  requested: string,
  completion: Model.Completion,
  latencyMs: number
) => {
  const m = taggedFor(primitive, completion.model, "success")
  return Effect.all([
    CostLedger.charge({
      costUsd: completion.costUsd,
      inputTokens: completion.usage.inputTokens,
      outputTokens: completion.usage.outputTokens
    }),
    Metric.increment(m.calls),
    Metric.incrementBy(m.inputTokens, completion.usage.inputTokens),
    Metric.incrementBy(m.outputTokens, completion.usage.outputTokens),
    Metric.incrementBy(m.costUsd, completion.costUsd),
    Metric.update(m.latencyMs, latencyMs),
    annotateSpan(() => ({
      "gen_ai.operation.name": "chat",
      "gen_ai.system": system,
      "gen_ai.request.model": requested,
      "gen_ai.response.model": completion.model,
      "gen_ai.usage.input_tokens": completion.usage.inputTokens,
      "gen_ai.usage.output_tokens": completion.usage.outputTokens,
      "flowtune.cost_usd": completion.costUsd
    }))
  ], { discard: true })
}

/** @internal */
export const recordFailure = (primitive: string, system: string, model: string, error: Model.ModelError) =>
  Effect.zipRight(
    Metric.increment(taggedFor(primitive, model, error._tag).calls),
    annotateSpan(() => ({
      "gen_ai.operation.name": "chat",
      "gen_ai.system": system,
      "gen_ai.request.model": model,
      "error.type": error._tag
    }))
  )

// -----------------------------------------------------------------------------
// prices
// -----------------------------------------------------------------------------

/** @internal */
export const defaultPrices = modelContext.defaultPrices

/** @internal */
export const layerPrices = (prices: Model.PriceTable): Layer.Layer<never> =>
  Layer.merge(
    Layer.succeed(modelContext.Prices, { ...modelContext.defaultPrices, ...prices }),
    // A new table starts its own "already warned" set.
    Layer.sync(modelContext.UnpricedModels, () => new Set<string>())
  ) as Layer.Layer<never>

/**
 * Dated snapshots share their family's price: `gpt-4o-mini-2024-07-18` and
 * `gpt-4-0613` are priced as `gpt-4o-mini` and `gpt-4`.
 */
const datedSuffix = /-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4})$/

/** @internal */
export const priceOf = (prices: Model.PriceTable, model: string): Model.Price | undefined => {
  const exact = prices[model]
  if (exact !== undefined) return exact
  const undated = model.replace(datedSuffix, "")
  return undated === model ? undefined : prices[undated]
}

const costWith = (price: Model.Price, usage: Model.Usage): number =>
  (price.perCall ?? 0) +
  (usage.inputTokens / 1000) * (price.inputPer1K ?? 0) +
  (usage.outputTokens / 1000) * (price.outputPer1K ?? 0)

/** @internal */
export const cost = (prices: Model.PriceTable, model: string, usage: Model.Usage): number => {
  const price = priceOf(prices, model)
  return price === undefined ? 0 : costWith(price, usage)
}

const providerCost = (finish: Response.FinishPart | undefined): number | undefined => {
  const reported = finish?.metadata?.["flowtune"]?.["costUsd"]
  return typeof reported === "number" ? reported : undefined
}

/** The cost of a call, or `undefined` when neither the table nor the provider prices it. */
/** @internal */
export const priceCall = (
  prices: Model.PriceTable,
  model: string,
  usage: Model.Usage,
  finish: Response.FinishPart | undefined
): number | undefined => {
  const price = priceOf(prices, model)
  return price !== undefined ? costWith(price, usage) : providerCost(finish)
}

/**
 * An unpriced call costs $0 in the books, so it is never silent: it is
 * counted every time, and logged once per model (per price table).
 */
/** @internal */
export const recordUnpriced = (primitive: string, model: string) =>
  Effect.flatMap(modelContext.UnpricedModels, (warned) =>
    Effect.zipRight(
      Metric.increment(tags(primitive, model)(metrics.unpricedCalls)),
      Effect.suspend(() => {
        if (warned.has(model)) return Effect.void
        warned.add(model)
        return Effect.logWarning(
          `flowtune: no price for model "${model}": its calls are counted as $0 ` +
            `(flowtune_model_unpriced_calls_total); add it with Model.layerPrices`
        )
      })
    ))
