/**
 * The rate-limit store on Redis: every process pointing at the same Redis
 * (and `prefix`) shares one limit. Needs the optional peer `ioredis`.
 *
 * @example
 * ```ts
 * import * as RateLimitRedis from "flowtune/RateLimit/Redis"
 *
 * const shared = RateLimitRedis.layer({ host: "127.0.0.1", port: 6379, prefix: "myapp:ratelimit:" })
 * ```
 *
 * @since 0.2.0
 */
import * as RateLimiter from "@effect/experimental/RateLimiter"
import * as RedisStore from "@effect/experimental/RateLimiter/Redis"
import * as Layer from "effect/Layer"
import * as Check from "../internal/options.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  readonly host?: string | undefined
  readonly port?: number | undefined
  /** Prefix of the keys the limiter writes (default `"flowtune:ratelimit:"`). */
  readonly prefix?: string | undefined
  /** Give up connecting after this many milliseconds (default 1000). */
  readonly connectTimeout?: number | undefined
}

/**
 * A `RateLimiter` whose counts live in Redis.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<RateLimiter.RateLimiter> => {
  const owner = "RateLimit/Redis.layer"
  const host = options.host === undefined ? "127.0.0.1" : Check.nonEmptyString(owner, "host", options.host)
  const port = options.port === undefined
    ? 6379
    : Check.number(owner, "port", options.port, { integer: true, min: 1, max: 65535 })
  const prefix = options.prefix === undefined
    ? "flowtune:ratelimit:"
    : Check.nonEmptyString(owner, "prefix", options.prefix)
  const connectTimeout = Check.numberOr(owner, "connectTimeout", options.connectTimeout, 1000, {
    integer: true,
    min: 1
  })
  return RateLimiter.layer.pipe(
    Layer.provide(
      RedisStore.layerStore({ host, port, keyPrefix: undefined, prefix, connectTimeout, maxRetriesPerRequest: 1 })
    )
  )
}
