/**
 * The Redis tier (L2) through `ioredis`: entries with server-side expiry
 * (`SET ... PX`), namespace clearing by `SCAN` (never `KEYS`), and the lease
 * (`SET NX PX`, renewed while its holder computes) that lets one process
 * compute a missing key while the others wait for its result.
 *
 * The client is built to fail fast when Redis is away (no offline queue), so
 * a cached call degrades to the next tier at once; the cache then skips the
 * tier (one warning per outage) until a background probe gets an answer.
 * A malformed, unresolvable or refused URL is such an outage, unless
 * `required: true` makes it fail the layer at start.
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
import * as Opts from "../internal/options.js"

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
  /**
   * The longest one cached call spends on this tier in all: reads, lease and
   * writes share it (see `Cache.RemoteTier`). Default: 200 millis.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * Fail the layer when Redis cannot be reached at start (within
   * `connectTimeout`), instead of starting with the tier skipped. Default: false.
   */
  readonly required?: boolean | undefined
  /** How long `required` waits for the first connection. Default: 5 seconds. */
  readonly connectTimeout?: Duration.DurationInput | undefined
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
// A lease with no expiry (-1), or one longer than any holder sets, has no live
// holder: replace it. An absent one (-2) is simply acquired.
const takeOverScript = [
  "local t = redis.call('pttl', KEYS[1])",
  "if t == -2 then if redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 else return 0 end end",
  "if t == -1 or t > tonumber(ARGV[2]) then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end",
  "return 0"
].join("\n")

const globEscape = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`)

// Raw NUL never appears in a cache key (the default key is JSON-escaped text),
// so a lease key cannot collide with an entry.
const leaseSuffix = "\u0000lease"

const owner = "CacheRedis.tier"

const connect = (url: string, timeoutMs: number, waitMs: number): Effect.Effect<Redis, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const client = new Redis(url, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        // Commands the cache gave up on (timeout) are dropped by the client
        // too, so a frozen server does not pile them up without bound.
        commandTimeout: Math.max(1_000, 10 * timeoutMs),
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
      }).pipe(Effect.timeout(Duration.millis(waitMs)), Effect.ignore)
    )
  )

/** `redis://`, `rediss://` or `unix://` with a host or path; anything else is refused before connecting. */
const checkUrl = (url: string): string | undefined => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return `malformed Redis URL ${JSON.stringify(url.replace(/\/\/[^@/]*@/, "//***@"))}`
  }
  if (!["redis:", "rediss:", "unix:"].includes(parsed.protocol)) {
    return `unsupported Redis URL scheme ${JSON.stringify(parsed.protocol)} (redis:, rediss: or unix:)`
  }
  if (parsed.protocol !== "unix:" && parsed.hostname === "") return "Redis URL without a host"
  return undefined
}

/** A tier that cannot work (a malformed URL): every operation fails, so the cache skips it after one warning. */
const broken = (name: string, reason: string, timeout: Duration.Duration): Cache.RemoteTier => {
  const fail = (operation: string) => Effect.fail(new Cache.CacheTierError({ tier: name, operation, cause: reason }))
  return {
    _tag: "Remote",
    name,
    timeout,
    get: () => fail("get"),
    set: () => fail("set"),
    delete: () => fail("delete"),
    clear: () => fail("clear")
  }
}

/**
 * The Redis tier, for `Cache.layer(...)`. Options are checked when it is
 * called; with `required: true` the layer fails (`CacheTierError`) when
 * Redis cannot be reached at start.
 *
 * @since 0.1.0
 * @category tiers
 */
export const tier: {
  (options: Options & { readonly required: true }): Effect.Effect<Cache.RemoteTier, Cache.CacheTierError, Scope.Scope>
  (options?: Options): Effect.Effect<Cache.RemoteTier, never, Scope.Scope>
} = ((options: Options = {}): Effect.Effect<Cache.RemoteTier, Cache.CacheTierError, Scope.Scope> => {
  if (typeof options !== "object" || options === null) Opts.invalidShape(owner, "options must be an object")
  const rawUrl = options.url === undefined
    ? "redis://127.0.0.1:6379"
    : Redacted.isRedacted(options.url)
    ? Redacted.value(options.url)
    : options.url
  if (typeof rawUrl !== "string") Opts.invalid(owner, "url", "a string or a Redacted string", rawUrl)
  const name = options.name === undefined ? "redis" : Opts.nonEmptyString(owner, "name", options.name)
  const prefix = options.prefix === undefined ? "flowtune:cache:" : Opts.nonEmptyString(owner, "prefix", options.prefix)
  const timeout = Opts.durationOr(owner, "timeout", options.timeout, "200 millis")
  const required = Opts.booleanOr(owner, "required", options.required, false)
  const connectTimeout = Opts.durationOr(owner, "connectTimeout", options.connectTimeout, "5 seconds")
  if (options.client !== undefined && !(options.client instanceof Redis)) {
    Opts.invalid(owner, "client", "an ioredis client", options.client)
  }
  const leaseOptions = options.lease === undefined ? {} : options.lease
  if (leaseOptions !== false && (typeof leaseOptions !== "object" || leaseOptions === null)) {
    Opts.invalid(owner, "lease", "false or { ttl?, poll? }", leaseOptions)
  }
  const leaseTtl = leaseOptions === false
    ? undefined
    : Opts.durationOr(owner, "lease.ttl", leaseOptions.ttl, "10 seconds")
  const leasePoll = leaseOptions === false
    ? undefined
    : Opts.durationOr(owner, "lease.poll", leaseOptions.poll, "20 millis")
  if (leaseTtl !== undefined && leasePoll !== undefined && Duration.greaterThanOrEqualTo(leasePoll, leaseTtl)) {
    Opts.invalid(owner, "lease.poll", `shorter than lease.ttl (${Duration.format(leaseTtl)})`, leasePoll)
  }
  const urlProblem = options.client === undefined ? checkUrl(rawUrl) : undefined
  const url = rawUrl
  return Effect.gen(function*() {
    if (urlProblem !== undefined) {
      if (required) return yield* new Cache.CacheTierError({ tier: name, operation: "connect", cause: urlProblem })
      return broken(name, urlProblem, timeout)
    }
    const client = options.client ??
      (yield* connect(url, Duration.toMillis(timeout), required ? Duration.toMillis(connectTimeout) : 1_000))
    if (required && client.status !== "ready") {
      return yield* new Cache.CacheTierError({
        tier: name,
        operation: "connect",
        cause: `no connection to Redis within ${Duration.format(connectTimeout)} (status ${client.status})`
      })
    }
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

    const lease: Cache.Lease | undefined = leaseTtl === undefined || leasePoll === undefined ? undefined : {
      ttl: leaseTtl,
      poll: leasePoll,
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
        Effect.asVoid(attempt("lease", () => client.eval(releaseScript, 1, prefix + key + leaseSuffix, token))),
      takeOver: (key, token, ttlMillis) =>
        Effect.map(
          attempt(
            "lease",
            () => client.eval(takeOverScript, 1, prefix + key + leaseSuffix, token, Math.ceil(ttlMillis))
          ),
          (reply) => reply === 1
        )
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
  // `any`: only `required: true` can fail, which the overloads say; the implementation has one signature.
}) as any

/**
 * A one-tier stack: Redis only.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: {
  (options: Options & { readonly required: true }): Layer.Layer<Cache.CacheTiers, Cache.CacheTierError>
  (options?: Options): Layer.Layer<Cache.CacheTiers>
} = (options: Options = {}) => Cache.layer(tier(options))
