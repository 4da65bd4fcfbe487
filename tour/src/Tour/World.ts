/**
 * The world the tour runs in: the simulated models (latencies and prices),
 * how the cache keys its entries, how many branches of a fan-out run at once
 * and the batch size. The guide's world is `defaultWorld`; a test hands the
 * tour a wrong one (prices x5, a late first token, a cache that never hits, a
 * sequential fan-out, batches of 1) and checks that the matching claims fail:
 * every figure the tour prints comes from what the run did in this world.
 *
 * @since 0.1.0
 */
import * as Model from "flowtune/Model"

/**
 * The simulated models of the tour, by the role they play in the guide.
 *
 * @since 0.1.0
 * @category models
 */
export interface Models {
  /** The baseline's LLM call (2.3 s, $0.01). */
  readonly llmCall: Model.Profile
  /** The cache step's expensive call (2 s, $0.01). */
  readonly expensive: Model.Profile
  /** The router's simple route (0.8 s, $0.0005). */
  readonly fast: Model.Profile
  /** The router's medium route (1.5 s, $0.005). */
  readonly balanced: Model.Profile
  /** The router's complex route, and "always the quality model" (2.5 s, $0.01). */
  readonly quality: Model.Profile
  /** The multi-model analysis (2.5 s, 2.0 s, 1.5 s). */
  readonly gpt4Like: Model.Profile
  readonly claudeLike: Model.Profile
  readonly geminiLike: Model.Profile
  /** The stream step (first token 0.3 s, complete 2.5 s). */
  readonly streaming: Model.Profile
  /** The tail step's heavy-tailed model: about 1 s, but 2% of calls stall for 10-20 s ($0.002). */
  readonly tail: Model.Profile
  /** The tail step's backend with a hidden capacity, and its budgeted model (about 1 s, $0.01). */
  readonly capped: Model.Profile
}

/**
 * The knobs of the tail step (hedging, adaptive concurrency, a budget).
 *
 * @since 0.1.0
 * @category models
 */
export interface Tail {
  /** The percentile of the model's own latencies after which a call is hedged. Default 95 (the paper's). */
  readonly hedgePercentile: number
  /** The calls the capped backend takes at once before it answers 429. Default 20. */
  readonly hiddenCapacity: number
  /** The limit in front of the capped backend: `"adaptive"` (`Concurrency`, AIMD) or a fixed one. Default adaptive. */
  readonly limit: "adaptive" | number
  /** The budget of the budget run, in US dollars. Default $0.05 (five calls of $0.01). */
  readonly budgetUsd: number
  /**
   * What the budget estimates a call at before sending it. Default: the
   * price table's price of the model (what the call will be charged).
   */
  readonly budgetEstimateUsd: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface World {
  readonly models: Models
  /** How many branches of the parallel step's fan-outs run at once. Default `"unbounded"`. */
  readonly fanOutConcurrency: number | "unbounded"
  /** The batch step's largest batch. Default 10 (the guide's). */
  readonly batchSize: number
  /**
   * The cache step's key function. Default: the cache's own (the exact text;
   * `Cache.normalizedKey` for the normalization part).
   */
  readonly cacheKey: ((input: string) => string) | undefined
  readonly tail: Tail
}

/**
 * A partial world: what a caller overrides.
 *
 * @since 0.1.0
 * @category models
 */
export interface WorldInput {
  readonly models?: Partial<Models> | undefined
  readonly fanOutConcurrency?: number | "unbounded" | undefined
  readonly batchSize?: number | undefined
  readonly cacheKey?: ((input: string) => string) | undefined
  readonly tail?: Partial<Tail> | undefined
}

/**
 * The guide's world.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultWorld: World = {
  models: {
    llmCall: { name: "llm_call", latency: "2300 millis", costPerCall: 0.01 },
    expensive: Model.profiles.expensive,
    fast: Model.profiles.fast,
    balanced: Model.profiles.balanced,
    quality: Model.profiles.quality,
    gpt4Like: Model.profiles.gpt4Like,
    claudeLike: Model.profiles.claudeLike,
    geminiLike: Model.profiles.geminiLike,
    streaming: Model.profiles.streaming,
    tail: {
      name: "tail_model",
      latency: {
        _tag: "Mixture",
        components: [
          { weight: 0.98, latency: { _tag: "LogNormal", median: "1 second", p99OverP50: 2 } },
          { weight: 0.02, latency: { _tag: "Uniform", min: "10 seconds", max: "20 seconds" } }
        ]
      },
      costPerCall: 0.002
    },
    capped: {
      name: "capped_model",
      latency: { _tag: "LogNormal", median: "1 second", p99OverP50: 2 },
      costPerCall: 0.01
    }
  },
  fanOutConcurrency: "unbounded",
  batchSize: 10,
  cacheKey: undefined,
  tail: { hedgePercentile: 95, hiddenCapacity: 20, limit: "adaptive", budgetUsd: 0.05, budgetEstimateUsd: undefined }
}

/**
 * The guide's world with `input` laid over it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (input?: WorldInput): World => ({
  models: { ...defaultWorld.models, ...input?.models },
  fanOutConcurrency: input?.fanOutConcurrency ?? defaultWorld.fanOutConcurrency,
  batchSize: input?.batchSize ?? defaultWorld.batchSize,
  cacheKey: input?.cacheKey ?? defaultWorld.cacheKey,
  tail: { ...defaultWorld.tail, ...input?.tail }
})

/**
 * The price table the model layer charges in this world: each model's
 * `costPerCall` under its name, over `Model.defaultPrices`. The tour adds up
 * the `costUsd` of the completions the run returned; this table is how a
 * profile's price reaches them (the default table already knows the guide's
 * model names, and would otherwise win over a changed profile).
 *
 * @since 0.1.0
 * @category prices
 */
export const prices = (world: World): Model.PriceTable => {
  const table: Record<string, Model.Price> = { ...Model.defaultPrices }
  // A model the guide gives no price (the multi-model analysis, the stream) costs $0 here, on purpose.
  for (const profile of Object.values(world.models)) table[profile.name] = { perCall: profile.costPerCall ?? 0 }
  return table
}

/**
 * The world's inputs as a step prints them: what the run was configured
 * with, as opposed to what it measured.
 *
 * @since 0.1.0
 * @category formatting
 */
export const describeModel = (profile: Model.Profile): string => {
  const latency = typeof profile.latency === "object" && profile.latency !== null && "_tag" in profile.latency
    ? profile.latency._tag
    : String(profile.latency)
  const first = profile.firstToken === undefined ? "" : `, first token ${String(profile.firstToken)}`
  const price = profile.costPerCall === undefined ? "" : `, $${profile.costPerCall} a call`
  return `${profile.name}: ${latency}${first}${price}`
}
