/**
 * The Redis tier (L2) through `ioredis`: entries with server-side expiry
 * (`SET ... PX`), namespace clearing by `SCAN` (never `KEYS`), and the lease
 * (`SET NX PX`, renewed while its holder computes) that lets one process
 * compute a missing key while the others wait for its result.
 *
 * The client is built to fail fast when Redis is away (no offline queue), so
 * a cached call degrades to the next tier at once and the tier is used again
 * as soon as the client has reconnected.
 *
 * @example
 * ```ts
 * import { Cache } from "flowtune"
 * import * as CacheRedis from "flowtune/Cache/Redis"
 *
 * const Tiers = Cache.layer(Cache.memory({ capacity: 10_000 }), CacheRedis.tier({ url: "redis://127.0.0.1:6379" }))
 * ```
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { Redis } from "ioredis"
import * as Cache from "../Cache.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Where to connect; ignored when `client` is given. Default: redis://127.0.0.1:6379. */
  readonly url?: string | Redacted.Redacted<string> | undefined
  /** Use this client (not closed with the layer) instead of connecting. */
  readonly client?: Redis | undefined
  /** Prefix of every key. Default: "flowtune:cache:". */
  readonly prefix?: string | undefined
  /** Per-operation timeout. Default: 100 millis. */
  readonly timeout?: Duration.DurationInput | undefined
  /** The tier's name in stats and metrics. Default: "redis". */
  readonly name?: string | undefined
  /** The cross-process lease, or `false` for none. Defaults: ttl 10 seconds, poll 20 millis. */
  readonly lease?:
    | false
    | { readonly ttl?: Duration.DurationInput | undefined; readonly poll?: Duration.DurationInput | undefined }
    | undefined
}

const renewScript =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
const releaseScript =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"

const globEscape = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`)

// Raw NUL never appears in a cache key (the default key is JSON-escaped text),
// so a lease key cannot collide with an entry.
const leaseSuffix = "\u0000lease"

const connect = (url: string): Effect.Effect<Redis, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const client = new Redis(url, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        retryStrategy: (times) => Math.min(times * 50, 1000)
      })
      // Without a listener ioredis reports every failed reconnection as an
      // unhandled error; the tier counts failures per operation instead.
      client.on("error", () => {})
      return client
    }),
    (client) => Effect.sync(() => client.disconnect())
  ).pipe(
    // Wait (bounded) for the first connection or its failure, so the first
    // calls do not count spurious errors; a Redis that is down only delays
    // startup by one refused connection.
    Effect.tap((client) =>
      Effect.async<void>((resume) => {
        if (client.status === "ready") return resume(Effect.void)
        const done = () => {
          client.off("ready", done)
          client.off("error", done)
          resume(Effect.void)
        }
        client.once("ready", done)
        client.once("error", done)
        return Effect.sync(() => {
          client.off("ready", done)
          client.off("error", done)
        })
      }).pipe(Effect.timeout("2 seconds"), Effect.ignore)
    )
  )

/**
 * The Redis tier, for `Cache.layer(...)`.
 *
 * @since 0.1.0
 * @category tiers
 */
export const tier = (options: Options = {}): Effect.Effect<Cache.RemoteTier, never, Scope.Scope> =>
  Effect.gen(function*() {
    const url = options.url === undefined
      ? "redis://127.0.0.1:6379"
      : Redacted.isRedacted(options.url)
      ? Redacted.value(options.url)
      : options.url
    const client = options.client ?? (yield* connect(url))
    const name = options.name ?? "redis"
    const prefix = options.prefix ?? "flowtune:cache:"
    const timeout = Duration.decode(options.timeout ?? "100 millis")
    const attempt = <A>(operation: string, f: () => Promise<A>) =>
      Effect.tryPromise({ try: f, catch: (cause) => new Cache.CacheTierError({ tier: name, operation, cause }) })

    const clear = (keyPrefix: string) =>
      Effect.gen(function*() {
        const pattern = `${globEscape(prefix + keyPrefix)}*`
        let cursor = "0"
        do {
          const [next, keys] = yield* attempt("clear", () => client.scan(cursor, "MATCH", pattern, "COUNT", 500))
          if (keys.length > 0) yield* attempt("clear", () => client.unlink(...keys))
          cursor = next
        } while (cursor !== "0")
      })

    const lease: Cache.Lease | undefined = options.lease === false ? undefined : {
      ttl: Duration.decode(options.lease?.ttl ?? "10 seconds"),
      poll: Duration.decode(options.lease?.poll ?? "20 millis"),
      acquire: (key, token, ttlMillis) =>
        Effect.map(
          attempt("lease", () => client.set(prefix + key + leaseSuffix, token, "PX", Math.ceil(ttlMillis), "NX")),
          (reply) => reply === "OK"
        ),
      renew: (key, token, ttlMillis) =>
        Effect.map(
          attempt("lease", () => client.eval(renewScript, 1, prefix + key + leaseSuffix, token, Math.ceil(ttlMillis))),
          (reply) => reply === 1
        ),
      release: (key, token) =>
        Effect.asVoid(attempt("lease", () => client.eval(releaseScript, 1, prefix + key + leaseSuffix, token)))
    }

    const remote: Cache.RemoteTier = {
      _tag: "Remote",
      name,
      timeout,
      get: (key) => Effect.map(attempt("get", () => client.get(prefix + key)), Option.fromNullable),
      set: (key, payload, expiresAt, now) => {
        if (expiresAt === Infinity) return Effect.asVoid(attempt("set", () => client.set(prefix + key, payload)))
        const ms = Math.ceil(expiresAt - now)
        if (ms <= 0) return Effect.void
        return Effect.asVoid(attempt("set", () => client.set(prefix + key, payload, "PX", ms)))
      },
      delete: (key) => Effect.asVoid(attempt("delete", () => client.del(prefix + key))),
      clear,
      lease
    }
    return remote
  })

/**
 * A one-tier stack: Redis only.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Cache.CacheTiers> => Cache.layer(tier(options))
