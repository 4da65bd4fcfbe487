/**
 * Every option of every public constructor, given the values a careless
 * caller passes (0, -1, NaN, Infinity, "-5 millis", the wrong type) where each
 * is invalid: the call that gives the option throws `Primitive.InvalidPrimitive`
 * naming it (issue 12 defect 7, issue 15's one construction-error policy).
 * Nothing is run: a constructor that returns an Effect or a Layer must throw
 * when it is called, not when it is run.
 *
 * The table is the list of options: a new option gets a row.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as EffectStream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import * as Advisor from "flowtune/Advisor"
import * as Batch from "flowtune/Batch"
import * as Benchmark from "flowtune/Benchmark"
import * as Cache from "flowtune/Cache"
import * as CacheRedis from "flowtune/Cache/Redis"
import * as CacheSql from "flowtune/Cache/Sql"
import * as Database from "flowtune/Database"
import * as DurableBatch from "flowtune/Durable/Batch"
import * as DurablePg from "flowtune/Durable/Pg"
import * as Metrics from "flowtune/Metrics"
import * as Model from "flowtune/Model"
import * as Primitive from "flowtune/Primitive"
import * as Profile from "flowtune/Profile"
import * as Router from "flowtune/Router"
import * as FlowStream from "flowtune/Stream"
import * as Tracing from "flowtune/Tracing"

// -----------------------------------------------------------------------------
// the bad values, by the kind of option
// -----------------------------------------------------------------------------

const wrongType = { wrong: "type" }

const bad = {
  /** A duration that must be > 0 and finite (a timeout, an interval). */
  positiveDuration: [0, -1, NaN, Infinity, "-5 millis", "soon", wrongType],
  /** A duration that may be 0 but not infinite (a window, a pace). */
  nonNegativeDuration: [-1, NaN, Infinity, "-5 millis", "soon", wrongType],
  /** A duration that may be infinite ("never") but not 0 (a TTL). */
  ttl: [0, -1, NaN, "-5 millis", "soon", wrongType],
  positiveInt: [0, -1, NaN, Infinity, 1.5, "3", wrongType],
  /** A concurrency: a positive integer; `Infinity` reads as "unbounded". */
  concurrency: [0, -1, NaN, 1.5, "3", wrongType],
  /** A cap that may be 0 ("never wait") or infinite ("always wait"). */
  cap: [-1, NaN, "-5 millis", "soon", wrongType],
  nonNegativeInt: [-1, NaN, Infinity, 1.5, "3", wrongType],
  /** A price, a weight, a count of milliseconds. */
  nonNegativeNumber: [-1, NaN, Infinity, "1", wrongType],
  /** A share or a rate, 0..1. */
  share: [-1, NaN, Infinity, 2, "0.5", wrongType],
  positiveNumber: [0, -1, NaN, Infinity, "1", wrongType],
  string: ["", 5, wrongType],
  boolean: ["yes", 0, wrongType],
  func: ["f", 0, wrongType]
} as const

type Kind = keyof typeof bad

interface Row {
  readonly ctor: string
  readonly option: string
  readonly kind: Kind
  /** Extra bad values for this option (an enum's unknown member...). */
  readonly extra?: ReadonlyArray<unknown>
  /** Values of the kind that are valid for this option. */
  readonly except?: ReadonlyArray<unknown>
  // `any`: the point is to pass what the types forbid.
  readonly build: (value: any) => unknown
}

const row = (
  ctor: string,
  option: string,
  kind: Kind,
  build: (value: any) => unknown,
  extra?: ReadonlyArray<unknown>,
  except?: ReadonlyArray<unknown>
) => ({ ctor, option, kind, build, ...(extra ? { extra } : {}), ...(except ? { except } : {}) }) satisfies Row

// -----------------------------------------------------------------------------
// fixtures (valid everywhere else)
// -----------------------------------------------------------------------------

const p = Primitive.make("p", (n: number) => Effect.succeed(n))
const s = FlowStream.fromIterable("s", (n: number) => [n])
const routes = { simple: p, complex: p }
const batchBase = {
  name: "b",
  run: (items: ReadonlyArray<number>) => Effect.succeed(items),
  maxBatchSize: 10,
  window: "10 millis" as const
}
const durableBatchBase = {
  item: Schema.Number,
  result: Schema.Number,
  run: (items: ReadonlyArray<number>) => Effect.succeed(items),
  maxBatchSize: 10,
  window: "10 millis" as const
}
const profile = Model.profiles.fast
const tracer = Tracer.make({ span: () => undefined as never, context: (f) => f() })

const rows: ReadonlyArray<Row> = [
  // Primitive
  row("Primitive.make", "name", "string", (v) => Primitive.make(v, () => Effect.void)),
  row("Primitive.make", "f", "func", (v) => Primitive.make("x", v)),
  row(
    "Primitive.make",
    "costPerCall",
    "nonNegativeNumber",
    (v) => Primitive.make("x", () => Effect.void, { annotations: { costPerCall: v } })
  ),
  row("Primitive.fromFunction", "name", "string", (v) => Primitive.fromFunction(v, (n: number) => n)),
  row("Primitive.fromFunction", "f", "func", (v) => Primitive.fromFunction("x", v)),
  row("Primitive.fromPromise", "f", "func", (v) => Primitive.fromPromise("x", v)),
  row("Primitive.fromPromise", "catch", "func", (v) => Primitive.fromPromise("x", async () => 1, { catch: v })),
  row("Primitive.makeWith", "name", "string", (v) => Primitive.makeWith({ name: v, run: () => Effect.void })),
  row("Primitive.makeWith", "run", "func", (v) => Primitive.makeWith({ name: "x", run: v })),
  row("Primitive.withName", "name", "string", (v) => Primitive.withName(p, v)),
  row("Primitive.annotate", "costPerCall", "nonNegativeNumber", (v) => Primitive.annotate(p, { costPerCall: v })),
  row("Primitive.parallel", "concurrency", "concurrency", (v) => Primitive.parallel([p, p], { concurrency: v })),
  row("Primitive.parallel", "mode", "string", (v) => Primitive.parallel([p, p], { mode: v }), ["fast"]),
  row("Primitive.parallel", "name", "string", (v) => Primitive.parallel([p, p], { name: v })),
  row("Primitive.forEach", "concurrency", "concurrency", (v) => Primitive.forEach(p, { concurrency: v })),
  row("Primitive.forEach", "name", "string", (v) => Primitive.forEach(p, { name: v })),
  row("Primitive.retry", "schedule", "func", (v) => Primitive.retry(p, { schedule: v })),
  row("Primitive.retry", "while", "func", (v) => Primitive.retry(p, { schedule: Schedule.recurs(1), while: v })),
  row("Primitive.retry", "name", "string", (v) => Primitive.retry(p, { schedule: Schedule.recurs(1), name: v })),
  row("Primitive.timeout", "duration", "positiveDuration", (v) => Primitive.timeout(p, v)),
  row("Primitive.fallback", "when", "func", (v) => Primitive.fallback(p, [p], { when: v })),
  row("Primitive.fallback", "name", "string", (v) => Primitive.fallback(p, [p], { name: v })),

  // Cache
  row("Cache.memory", "capacity", "positiveInt", (v) => Cache.memory({ capacity: v })),
  row("Cache.layerMemory", "capacity", "positiveInt", (v) => Cache.layerMemory({ capacity: v })),
  row("Cache.wrap", "ttl", "ttl", (v) => Cache.wrap(p, { ttl: v })),
  row("Cache.wrap", "capacity", "positiveInt", (v) => Cache.wrap(p, { capacity: v })),
  row("Cache.wrap", "tierTimeout", "positiveDuration", (v) => Cache.wrap(p, { tierTimeout: v })),
  row("Cache.wrap", "namespace", "string", (v) => Cache.wrap(p, { namespace: v })),
  row("Cache.wrap", "key", "func", (v) => Cache.wrap(p, { key: v })),
  row("Cache.wrap", "cacheFailures", "boolean", (v) => Cache.wrap(p, { cacheFailures: v })),
  row("Cache.wrap", "lease", "boolean", (v) => Cache.wrap(p, { lease: v })),
  row("Cache.wrap", "checkpoints", "boolean", (v) => Cache.wrap(p, { checkpoints: v })),
  row("Cache.makeStore", "ttl", "ttl", (v) => Cache.makeStore({ namespace: "n", schema: Schema.String, ttl: v })),
  row(
    "Cache.makeStore",
    "capacity",
    "positiveInt",
    (v) => Cache.makeStore({ namespace: "n", schema: Schema.String, capacity: v })
  ),
  row(
    "Cache.makeStore",
    "tierTimeout",
    "positiveDuration",
    (v) => Cache.makeStore({ namespace: "n", schema: Schema.String, tierTimeout: v })
  ),
  row(
    "Cache.makeStore",
    "costPerCall",
    "nonNegativeNumber",
    (v) => Cache.makeStore({ namespace: "n", schema: Schema.String, costPerCall: v })
  ),
  row("Cache.makeStore", "namespace", "string", (v) => Cache.makeStore({ namespace: v, schema: Schema.String })),
  row("CacheRedis.layer", "timeout", "positiveDuration", (v) => CacheRedis.layer({ timeout: v })),
  row("CacheRedis.layer", "connectTimeout", "positiveDuration", (v) => CacheRedis.layer({ connectTimeout: v })),
  row("CacheRedis.layer", "lease.ttl", "positiveDuration", (v) => CacheRedis.layer({ lease: { ttl: v } })),
  row("CacheRedis.layer", "lease.poll", "positiveDuration", (v) => CacheRedis.layer({ lease: { poll: v } })),
  row("CacheRedis.layer", "prefix", "string", (v) => CacheRedis.layer({ prefix: v })),
  row("CacheRedis.layer", "required", "boolean", (v) => CacheRedis.layer({ required: v })),
  row("CacheRedis.tier", "timeout", "positiveDuration", (v) => CacheRedis.tier({ timeout: v })),
  row("CacheSql.layer", "purgeInterval", "positiveDuration", (v) => CacheSql.layer({ purgeInterval: v })),
  row("CacheSql.layer", "timeout", "positiveDuration", (v) => CacheSql.layer({ timeout: v })),
  row("CacheSql.layer", "table", "string", (v) => CacheSql.layer({ table: v })),
  row("CacheSql.tier", "purgeInterval", "positiveDuration", (v) => CacheSql.tier({ purgeInterval: v })),

  // Batch
  row("Batch.make", "maxBatchSize", "positiveInt", (v) => Batch.make({ ...batchBase, maxBatchSize: v })),
  // DurableBatch (issue 17): its own options, and Batch's through it
  row("DurableBatch.make", "name", "string", (v) => DurableBatch.make(v, durableBatchBase)),
  row("DurableBatch.make", "item", "func", (v) => DurableBatch.make("d", { ...durableBatchBase, item: v })),
  row("DurableBatch.make", "result", "func", (v) => DurableBatch.make("d", { ...durableBatchBase, result: v })),
  row("DurableBatch.make", "key", "func", (v) => DurableBatch.make("d", { ...durableBatchBase, key: v })),
  row("DurableBatch.make", "spread", "positiveInt", (v) => DurableBatch.make("d", { ...durableBatchBase, spread: v })),
  row(
    "DurableBatch.make",
    "maxIdleTime",
    "positiveDuration",
    (v) => DurableBatch.make("d", { ...durableBatchBase, maxIdleTime: v })
  ),
  row(
    "DurableBatch.make",
    "maxBatchSize",
    "positiveInt",
    (v) => DurableBatch.make("d", { ...durableBatchBase, maxBatchSize: v })
  ),
  row(
    "DurableBatch.make",
    "window",
    "nonNegativeDuration",
    (v) => DurableBatch.make("d", { ...durableBatchBase, window: v })
  ),
  row("Batch.make", "window", "nonNegativeDuration", (v) => Batch.make({ ...batchBase, window: v })),
  row("Batch.make", "concurrency", "concurrency", (v) => Batch.make({ ...batchBase, concurrency: v })),
  row("Batch.make", "name", "string", (v) => Batch.make({ ...batchBase, name: v })),
  row("Batch.make", "run", "func", (v) => Batch.make({ ...batchBase, run: v })),
  row("Batch.make", "dedupe", "func", (v) => Batch.make({ ...batchBase, dedupe: v })),
  row(
    "Batch.chunked",
    "size",
    "positiveInt",
    (v) => Batch.chunked(Primitive.make("all", (xs: ReadonlyArray<number>) => Effect.succeed(xs)), { size: v })
  ),
  row(
    "Batch.chunked",
    "concurrency",
    "concurrency",
    (v) =>
      Batch.chunked(Primitive.make("all", (xs: ReadonlyArray<number>) => Effect.succeed(xs)), {
        size: 2,
        concurrency: v
      })
  ),

  // Router
  row("Router.make", "name", "string", (v) => Router.make({ name: v, routes, select: () => "simple" })),
  row("Router.make", "select", "func", (v) => Router.make({ routes, select: v })),
  row("Router.make", "retryable", "func", (v) => Router.make({ routes, select: () => "simple", retryable: v })),
  row("Router.make", "default", "string", (v) => Router.make({ routes, select: () => "simple", default: v }), [
    "medium"
  ]),
  row(
    "Router.make",
    "costs.simple",
    "nonNegativeNumber",
    (v) => Router.make({ routes, select: () => "simple", costs: { simple: v } }),
    [],
    [wrongType]
  ),
  row(
    "Router.make",
    "costs.simple.per1kInputTokens",
    "nonNegativeNumber",
    (v) => Router.make({ routes, select: () => "simple", costs: { simple: { per1kInputTokens: v } } })
  ),
  row(
    "Router.complexity",
    "weights.keyword",
    "nonNegativeNumber",
    (v) => Router.complexity({ weights: { keyword: v } })
  ),
  row("Router.complexity", "weights.code", "nonNegativeNumber", (v) => Router.complexity({ weights: { code: v } })),
  row(
    "Router.complexity",
    "thresholds.complex",
    "nonNegativeNumber",
    (v) => Router.complexity({ thresholds: { complex: v } })
  ),
  row("Router.complexity", "keywordMatch", "string", (v) => Router.complexity({ keywordMatch: v }), ["regex"]),
  row("Router.complexity", "text", "func", (v) => Router.complexity({ text: v })),
  row("Router.complexity", "routes.simple", "string", (v) => Router.complexity({ routes: { simple: v } })),
  row(
    "Router.scorer",
    "lengthBands[0].above",
    "nonNegativeNumber",
    (v) => Router.scorer({ lengthBands: [{ above: v, weight: 0.1 }] })
  ),
  row(
    "Router.scorer",
    "lengthBands[0].weight",
    "nonNegativeNumber",
    (v) => Router.scorer({ lengthBands: [{ above: 10, weight: v }] })
  ),

  // Stream
  row("Stream.make", "name", "string", (v) => FlowStream.make(v, () => EffectStream.empty)),
  row("Stream.make", "f", "func", (v) => FlowStream.make("x", v)),
  row("Stream.fromIterable", "f", "func", (v) => FlowStream.fromIterable("x", v)),
  row(
    "Stream.fromAsyncIterable",
    "bufferSize",
    "positiveInt",
    (v) => FlowStream.fromAsyncIterable("x", async function*() {}, { bufferSize: v })
  ),
  row(
    "Stream.fromAsyncIterable",
    "catch",
    "func",
    (v) => FlowStream.fromAsyncIterable("x", async function*() {}, { catch: v })
  ),
  row("Stream.buffer", "capacity", "positiveInt", (v) => FlowStream.buffer(s, { capacity: v })),
  row("Stream.withName", "name", "string", (v) => FlowStream.withName(s, v)),
  row("Stream.map", "f", "func", (v) => FlowStream.map(s, v)),
  row("Stream.mapChunks", "f", "func", (v) => FlowStream.mapChunks(s, v)),
  row("Stream.pipeThrough", "f", "func", (v) => FlowStream.pipeThrough(s, v)),
  row("Stream.toPrimitive", "f", "func", (v) => FlowStream.toPrimitive(s, v)),
  row("Stream.after", "that", "func", (v) => FlowStream.after(p, v)),
  row(
    "Stream.collectText",
    "separator",
    "func",
    (v) => FlowStream.collectText(FlowStream.fromIterable("t", (q: string) => [q]), { separator: v }),
    [],
    ["f"]
  ),
  row("Stream.share", "key", "func", (v) => FlowStream.share(s, { key: v })),
  row("Stream.share", "name", "string", (v) => FlowStream.share(s, { key: String, name: v })),
  row(
    "Stream.cached",
    "pace",
    "nonNegativeDuration",
    (v) => FlowStream.cached(s, { key: String, store: { get: () => Effect.never, set: () => Effect.void }, pace: v })
  ),
  row("Stream.cached", "store", "func", (v) => FlowStream.cached(s, { key: String, store: v })),

  // Model
  row("Model.generate", "timeout", "positiveDuration", (v) => Model.generate({ timeout: v })),
  row("Model.generate", "maxRetryAfter", "cap", (v) => Model.generate({ maxRetryAfter: v })),
  row("Model.generate", "retries", "nonNegativeInt", (v) => Model.generate({ retries: v })),
  row("Model.generate", "costPerCall", "nonNegativeNumber", (v) => Model.generate({ costPerCall: v })),
  row("Model.generate", "name", "string", (v) => Model.generate({ name: v })),
  row("Model.streamText", "timeout", "positiveDuration", (v) => Model.streamText({ timeout: v })),
  row("Model.simulated", "scale", "nonNegativeNumber", (v) => Model.simulated(profile, { scale: v })),
  row(
    "Model.simulated",
    "failures.rate",
    "share",
    (v) => Model.simulated(profile, { failures: { rate: v, kind: "unavailable" } })
  ),
  row(
    "Model.simulated",
    "capacity.concurrency",
    "concurrency",
    (v) => Model.simulated(profile, { capacity: { concurrency: v } })
  ),
  row("Model.layerSimulated", "scale", "nonNegativeNumber", (v) => Model.layerSimulated(profile, { scale: v })),
  row(
    "Model.layerSimulated",
    "capacity.retryAfter",
    "positiveDuration",
    (v) => Model.layerSimulated(profile, { capacity: { concurrency: 1, retryAfter: v } })
  ),
  row("Model.layerOpenAi", "model", "string", (v) => Model.layerOpenAi({ model: v })),
  row("Model.layerOpenAi", "maxTokens", "positiveInt", (v) => Model.layerOpenAi({ model: "m", maxTokens: v })),
  row(
    "Model.layerOpenAi",
    "temperature",
    "nonNegativeNumber",
    (v) => Model.layerOpenAi({ model: "m", temperature: v }),
    [3]
  ),
  row("Model.layerOpenAi", "maxSockets", "positiveInt", (v) => Model.layerOpenAi({ model: "m", maxSockets: v })),
  row(
    "Model.layerOpenAi",
    "structuredOutput",
    "string",
    (v) => Model.layerOpenAi({ model: "m", structuredOutput: v }),
    ["xml"]
  ),

  // Database
  row("Database.query", "name", "string", (v) => Database.query(v, (_: void, sql) => sql`select 1`)),
  row(
    "Database.query",
    "costPerCall",
    "nonNegativeNumber",
    (v) => Database.query("q", (_: void, sql) => sql`select 1`, { costPerCall: v })
  ),
  row(
    "Database.query",
    "retryOnConnectionLoss",
    "boolean",
    (v) => Database.query("q", (_: void, sql) => sql`select 1`, { retryOnConnectionLoss: v })
  ),
  row("Database.layerPg", "max", "positiveInt", (v) => Database.layerPg({ url: "postgres://localhost/x", max: v })),
  row("Database.layerPg", "min", "nonNegativeInt", (v) => Database.layerPg({ url: "postgres://localhost/x", min: v })),
  // Infinity is accepted on purpose: no server-side timeout (PostgreSQL's 0), said explicitly.
  row(
    "Database.layerPg",
    "statementTimeout",
    "positiveDuration",
    (v) => Database.layerPg({ url: "postgres://localhost/x", statementTimeout: v }),
    [],
    [Infinity]
  ),
  row(
    "Database.layerPg",
    "acquireTimeout",
    "positiveDuration",
    (v) => Database.layerPg({ url: "postgres://localhost/x", acquireTimeout: v })
  ),
  row(
    "Database.layerPg",
    "connectTimeout",
    "positiveDuration",
    (v) => Database.layerPg({ url: "postgres://localhost/x", connectTimeout: v })
  ),
  row(
    "Database.layerPg",
    "idleTimeout",
    "positiveDuration",
    (v) => Database.layerPg({ url: "postgres://localhost/x", idleTimeout: v })
  ),
  row(
    "Database.layerPg",
    "applicationName",
    "string",
    (v) => Database.layerPg({ url: "postgres://localhost/x", applicationName: v })
  ),
  row("Database.layerSqlite", "filename", "string", (v) => Database.layerSqlite({ filename: v })),
  row(
    "Database.layerFromSqlClient",
    "maxConnections",
    "positiveInt",
    (v) => Database.layerFromSqlClient({ maxConnections: v })
  ),
  row(
    "Database.layerFromSqlClient",
    "acquireTimeout",
    "positiveDuration",
    (v) => Database.layerFromSqlClient({ acquireTimeout: v })
  ),

  // Tracing
  row("Tracing.layerMemory", "maxSpans", "positiveInt", (v) => Tracing.layerMemory({ maxSpans: v })),
  row("Tracing.makeRecorder", "maxSpans", "positiveInt", (v) => Tracing.makeRecorder(tracer, { maxSpans: v })),
  row("Tracing.record", "maxSpans", "positiveInt", (v) => Tracing.record(Effect.void, { maxSpans: v })),
  row("Tracing.layerOtlp", "endpoint", "string", (v) => Tracing.layerOtlp({ endpoint: v })),
  row(
    "Tracing.layerOtlp",
    "exportInterval",
    "positiveDuration",
    (v) => Tracing.layerOtlp({ endpoint: "http://localhost:4318", exportInterval: v })
  ),
  row(
    "Tracing.layerOtlp",
    "maxBatchSize",
    "positiveInt",
    (v) => Tracing.layerOtlp({ endpoint: "http://localhost:4318", maxBatchSize: v })
  ),
  row(
    "Tracing.layerOtlp",
    "shutdownTimeout",
    "positiveDuration",
    (v) => Tracing.layerOtlp({ endpoint: "http://localhost:4318", shutdownTimeout: v })
  ),
  row(
    "Tracing.layerConsole",
    "metricsInterval",
    "positiveDuration",
    (v) => Tracing.layerConsole({ metrics: true, metricsInterval: v })
  ),

  // Benchmark
  row("Benchmark.latency", "runs", "positiveInt", (v) => Benchmark.latency(p, [1], { runs: v })),
  row("Benchmark.latency", "warmup", "nonNegativeInt", (v) => Benchmark.latency(p, [1], { warmup: v })),
  row("Benchmark.latency", "name", "string", (v) => Benchmark.latency(p, [1], { name: v })),
  row("Benchmark.latency", "progress", "boolean", (v) => Benchmark.latency(p, [1], { progress: v })),
  row("Benchmark.throughput", "duration", "positiveDuration", (v) => Benchmark.throughput(p, 1, { duration: v })),
  row("Benchmark.throughput", "count", "positiveInt", (v) => Benchmark.throughput(p, 1, { count: v })),
  row(
    "Benchmark.throughput",
    "concurrency",
    "concurrency",
    (v) => Benchmark.throughput(p, 1, { count: 1, concurrency: v })
  ),
  row("Benchmark.throughput", "warmup", "nonNegativeInt", (v) => Benchmark.throughput(p, 1, { count: 1, warmup: v })),
  row("Benchmark.percentile", "p", "nonNegativeNumber", (v) => Benchmark.percentile([1], v), [101]),

  // Metrics, Advisor, Profile
  row("Metrics.instrument", "fingerprint", "boolean", (v) => Metrics.instrument(p, { fingerprint: v })),
  row("Metrics.breakdown", "bottleneckThreshold", "share", (v) => Metrics.breakdown([], { bottleneckThreshold: v })),
  row("Metrics.breakdown", "root", "string", (v) => Metrics.breakdown([], { root: v })),
  row(
    "Metrics.profileRun",
    "bottleneckThreshold",
    "share",
    (v) => Metrics.profileRun(Effect.void, { bottleneckThreshold: v })
  ),
  row("Advisor.analyze", "dominantShare", "share", (v) => Advisor.analyze([], { dominantShare: v }), [0]),
  row("Advisor.analyze", "minRepeatRate", "share", (v) => Advisor.analyze([], { minRepeatRate: v })),
  row("Advisor.analyze", "minBatchCalls", "positiveInt", (v) => Advisor.analyze([], { minBatchCalls: v })),
  row("Advisor.analyze", "batchSize", "positiveInt", (v) => Advisor.analyze([], { batchSize: v })),
  row(
    "Advisor.analyze",
    "streamAfterMillis",
    "nonNegativeNumber",
    (v) => Advisor.analyze([], { streamAfterMillis: v })
  ),
  row("Advisor.analyze", "lateFirstOutputShare", "share", (v) => Advisor.analyze([], { lateFirstOutputShare: v })),
  row("Advisor.analyze", "parallelizeMinShare", "share", (v) => Advisor.analyze([], { parallelizeMinShare: v })),
  row("Advisor.adviseRun", "dominantShare", "share", (v) => Advisor.adviseRun(Effect.void, { dominantShare: v })),
  row(
    "Profile.cpu",
    "samplingIntervalMicros",
    "positiveInt",
    (v) => Profile.cpu(Effect.void, { samplingIntervalMicros: v })
  ),
  row("Profile.cpu", "top", "nonNegativeInt", (v) => Profile.cpu(Effect.void, { top: v })),
  row("Profile.cpu", "path", "string", (v) => Profile.cpu(Effect.void, { path: v }))
]

const show = (value: unknown): string =>
  typeof value === "string" ? JSON.stringify(value) : typeof value === "object" ? JSON.stringify(value) : String(value)

/** The option's name, as the error names it: exactly, or as the last segment(s) of a longer path. */
const names = (error: Primitive.InvalidPrimitive, option: string): boolean =>
  error.option === option || (error.option?.endsWith(`.${option}`) ?? false)

describe("every option is checked where it is given", () => {
  for (const r of rows) {
    describe(`${r.ctor} ${r.option}`, () => {
      for (const value of [...bad[r.kind], ...(r.extra ?? [])].filter((v) => !(r.except ?? []).includes(v))) {
        it(`rejects ${show(value)}`, () => {
          let thrown: unknown
          try {
            r.build(value)
          } catch (error) {
            thrown = error
          }
          assert.isDefined(thrown, `${r.ctor} accepted ${r.option} = ${show(value)} (nothing thrown where it is given)`)
          assert.instanceOf(thrown, Primitive.InvalidPrimitive, String(thrown))
          const error = thrown as Primitive.InvalidPrimitive
          assert.isTrue(
            names(error, r.option),
            `the error names option ${JSON.stringify(error.option)}, not "${r.option}": ${error.message}`
          )
          // The message says what was received.
          assert.include(error.reason, typeof value === "object" ? "{" : String(value === "" ? "\"\"" : value))
        })
      }
    })
  }
})

describe("valid options are accepted", () => {
  it("the fixtures themselves are valid (a row fails for its bad value, not its base)", () => {
    Router.make({ routes, select: () => "simple", costs: { simple: 0.5 } })
    Cache.wrap(p, { ttl: "1 hour", capacity: 10, tierTimeout: "100 millis" })
    Batch.make(batchBase)
    FlowStream.cached(s, { key: String, store: { get: () => Effect.never, set: () => Effect.void }, pace: 0 })
    Benchmark.throughput(p, 1, { duration: "1 second", concurrency: 2 })
    Advisor.analyze([], { dominantShare: 1, minRepeatRate: 0 })
    Model.generate({ timeout: "30 seconds", retries: 0 })
    Database.layerPg({ url: "postgres://localhost/x", max: 20, statementTimeout: "1 second" })
  })
})

describe("Concurrency.make: the adaptive algorithm's options (issue 18)", () => {
  // Loaded here, not in the imports above: this block is the whole of issue 18's part of this file.
  const make = async (options: Record<string, unknown>) =>
    // `any`: the point is to pass what the types forbid.
    (await import("flowtune/Concurrency")).make({ name: "limiter", ...options } as any)
  const cases: ReadonlyArray<readonly [string, Kind, (v: unknown) => Record<string, unknown>, ReadonlyArray<unknown>]> =
    [
      ["algorithm", "string", (v) => ({ algorithm: v }), ["vegas"]],
      ["smoothing", "share", (v) => ({ algorithm: "gradient", smoothing: v }), [0]],
      ["headroom", "positiveNumber", (v) => ({ algorithm: "gradient", headroom: v }), []],
      ["latencyTolerance", "positiveNumber", (v) => ({ algorithm: "gradient", latencyTolerance: v }), [1]]
    ]
  for (const [option, kind, options, extra] of cases) {
    for (const value of [...bad[kind], ...extra]) {
      it(`${option}: rejects ${show(value)} (${JSON.stringify(options(value))})`, async () => {
        let thrown: unknown
        try {
          await make(options(value))
        } catch (error) {
          thrown = error
        }
        assert.instanceOf(thrown, Primitive.InvalidPrimitive, String(thrown))
        assert.isTrue(names(thrown as Primitive.InvalidPrimitive, option), String(thrown))
      })
    }
  }
  it("refuses the gradient-only options with AIMD rather than ignoring them", async () => {
    const aimd = [["smoothing", { smoothing: 0.5 }], ["headroom", { algorithm: "aimd", headroom: 2 }]] as const
    for (const [option, options] of aimd) {
      const thrown = await make(options).then(() => undefined, (error: unknown) => error)
      assert.instanceOf(thrown, Primitive.InvalidPrimitive, `${option}: ${String(thrown)}`)
      assert.isTrue(names(thrown as Primitive.InvalidPrimitive, option), String(thrown))
    }
  })
  it("accepts the gradient's options", async () => {
    await make({ algorithm: "gradient", smoothing: 1, headroom: 0.5, latencyTolerance: 1.1 })
    await make({ algorithm: "aimd" })
  })
})

describe("DurablePg.layer: retention (issue 17)", () => {
  const runner = { host: "127.0.0.1", port: 34431 }
  const url = "postgres://localhost/x"
  const cases = [
    ["retention.completedAfter", (v: unknown) => ({ completedAfter: v })],
    ["retention.every", (v: unknown) => ({ completedAfter: "1 day", every: v })]
  ] as const
  for (const [option, retention] of cases) {
    for (const value of bad.positiveDuration) {
      it(`${option}: rejects ${show(value)}`, () => {
        let thrown: unknown
        try {
          DurablePg.layer({ url, runner, retention: retention(value) as never })
        } catch (error) {
          thrown = error
        }
        assert.instanceOf(thrown, Primitive.InvalidPrimitive, String(thrown))
        assert.isTrue(names(thrown as Primitive.InvalidPrimitive, option), String(thrown))
      })
    }
  }
  it("rejects a retention that is not an object, and one without runner (a client sweeps nothing)", () => {
    for (const options of [{ runner, retention: 5 }, { retention: { completedAfter: "1 day" } }]) {
      assert.throws(() => DurablePg.layer({ url, ...options } as never), Primitive.InvalidPrimitive)
    }
  })
  it("accepts a valid retention", () => {
    DurablePg.layer({ url, runner, retention: { completedAfter: "7 days", every: "10 minutes" } })
    DurablePg.layer({ url, runner, retention: { completedAfter: 1000 } })
  })
})

describe("DurablePg.layer: prefix, runner, locks and intervals", () => {
  const runner = { host: "127.0.0.1", port: 34431 }
  const url = "postgres://localhost/x"
  const rejects = (option: string, options: Record<string, unknown>) => {
    let thrown: unknown
    try {
      DurablePg.layer({ url, runner, ...options } as never)
    } catch (error) {
      thrown = error
    }
    assert.instanceOf(thrown, Primitive.InvalidPrimitive, String(thrown))
    assert.isTrue(names(thrown as Primitive.InvalidPrimitive, option), String(thrown))
  }
  for (const option of ["pollInterval", "shardLockExpiration", "shardLockRefreshInterval"]) {
    for (const value of bad.positiveDuration) {
      it(`${option}: rejects ${show(value)}`, () => rejects(option, { [option]: value }))
    }
  }
  it("rejects a lock refresh that is not shorter than the lock's expiration (two owners of a shard)", () => {
    rejects("shardLockRefreshInterval", { shardLockExpiration: "3 seconds", shardLockRefreshInterval: "3 seconds" })
    // The engine's refresh (10 s) against a shorter expiration: the expiration is the option at fault.
    rejects("shardLockExpiration", { shardLockExpiration: "5 seconds" })
  })
  it("rejects a bad prefix, runner host or port, and advisoryLocks that is not a boolean", () => {
    rejects("prefix", { prefix: "Bad-Prefix" })
    rejects("runner.host", { runner: { host: "", port: 1 } })
    for (const port of [0, -1, 65536, 1.5, Number.NaN]) rejects("runner.port", { runner: { host: "h", port } })
    rejects("advisoryLocks", { advisoryLocks: "yes" })
  })
  it("accepts valid options", () => {
    DurablePg.layer({ url, runner, shardLockExpiration: "3 seconds", shardLockRefreshInterval: "1 second" })
    DurablePg.layer({ url, prefix: "app_1", pollInterval: 50, advisoryLocks: false })
  })
})
