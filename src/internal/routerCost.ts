/**
 * A route's price: per call and per 1,000 tokens, from the `costs` option or
 * the route's annotations (split from `router.ts`, issue 15).
 *
 * @internal
 */
import type * as Primitive from "../Primitive.js"
import type * as Router from "../Router.js"
import * as options_ from "./options.js"

// ---------------------------------------------------------------------------
// cost

/** @internal */
export type CostOf = (output: unknown) => number

const finiteCost = (router: string, option: string, x: unknown): number | undefined =>
  x === undefined ? undefined : options_.number(router, option, x, { min: 0 })

const defaultUsage = (output: unknown): Router.Usage | undefined => {
  if (typeof output !== "object" || output === null) return undefined
  const usage = (output as { readonly usage?: unknown }).usage
  return typeof usage === "object" && usage !== null ? usage as Router.Usage : undefined
}

const tokens = (x: unknown): number => (typeof x === "number" && Number.isFinite(x) && x > 0 ? x : 0)

/** @internal */
export const makeCostOf = (
  router: string,
  route: string,
  primitive: Primitive.Primitive.Any,
  // `any`: the route's input type is erased in the router's implementation
  option: number | Router.RouteCost<any> | undefined
): CostOf => {
  // Without a `costs` entry the costs come from the route's annotations.
  const at = option === undefined ? `annotations of route "${route}".` : `costs.${route}.`
  if (option !== undefined && typeof option !== "number" && (typeof option !== "object" || option === null)) {
    options_.invalid(router, `costs.${route}`, "a number or { perCall, per1kInputTokens, per1kOutputTokens }", option)
  }
  if (typeof option === "object" && option.usage !== undefined) {
    options_.func(router, `costs.${route}.usage`, option.usage)
  }
  // `any`: the route's input type is erased in the router's implementation
  const spec: Router.RouteCost<any> = option === undefined
    ? {
      perCall: primitive.annotations.costPerCall,
      per1kInputTokens: primitive.annotations["costPer1kInputTokens"] as number | undefined,
      per1kOutputTokens: primitive.annotations["costPer1kOutputTokens"] as number | undefined
    }
    : typeof option === "number"
    ? { perCall: option }
    : option
  const perCall = finiteCost(
    router,
    typeof option === "number" ? `costs.${route}` : `${at}${option === undefined ? "costPerCall" : "perCall"}`,
    spec.perCall
  ) ?? 0
  const perIn = finiteCost(
    router,
    `${at}${option === undefined ? "costPer1kInputTokens" : "per1kInputTokens"}`,
    spec.per1kInputTokens
  ) ?? 0
  const perOut = finiteCost(
    router,
    `${at}${option === undefined ? "costPer1kOutputTokens" : "per1kOutputTokens"}`,
    spec.per1kOutputTokens
  ) ?? 0
  if (perIn === 0 && perOut === 0) return () => perCall
  const usageOf = spec.usage ?? defaultUsage
  return (output) => {
    const usage = usageOf(output)
    if (usage === undefined) return perCall
    return perCall + (tokens(usage.inputTokens) * perIn + tokens(usage.outputTokens) * perOut) / 1000
  }
}
