/**
 * flowtune: fast, cheap AI workflows on Effect.
 *
 * @since 0.1.0
 */

/**
 * Typed workflow steps and their composition: sequence, parallel, forEach, retry, timeout, fallback.
 *
 * @since 0.1.0
 */
export * as Primitive from "./Primitive.js"

/**
 * The per-run context: run and correlation ids, metadata, checkpoints on a timeline.
 *
 * @since 0.1.0
 */
export * as WorkflowContext from "./WorkflowContext.js"

/**
 * Run breakdowns, metrics tagged by primitive, and a snapshot of every flowtune metric.
 *
 * @since 0.1.0
 */
export * as Metrics from "./Metrics.js"

/**
 * Latency percentiles (p50/p95/p99), throughput, and baseline-vs-optimized comparisons.
 *
 * @since 0.1.0
 */
export * as Benchmark from "./Benchmark.js"

/**
 * Findings about what to optimize (parallelize, cache, batch, stream), from a run's spans.
 *
 * @since 0.1.0
 */
export * as Advisor from "./Advisor.js"

/**
 * CPU profiles of a run, written as .cpuprofile files, with a top-functions summary.
 *
 * @since 0.1.0
 */
export * as Profile from "./Profile.js"

/**
 * Span recording and OpenTelemetry export: OTLP, console, in-memory.
 *
 * @since 0.1.0
 */
export * as Tracing from "./Tracing.js"

/**
 * Caching a primitive: LRU + TTL memory tier, Redis and SQL tiers with backfill, key normalization, single-flight.
 * The Redis and SQL tiers are imported from `flowtune/Cache/Redis` and `flowtune/Cache/Sql`.
 *
 * @since 0.1.0
 */
export * as Cache from "./Cache.js"

/**
 * Routing inputs to primitives: selectors, the guide's complexity scorer, per-route cost and latency.
 *
 * @since 0.1.0
 */
export * as Router from "./Router.js"

/**
 * Streaming primitives: time to first token, collecting, cached replay, shared upstreams, cancellation.
 *
 * @since 0.1.0
 */
export * as Stream from "./Stream.js"

/**
 * Request batching: concurrent per-item calls coalesced into batched backend calls (max size + time window).
 *
 * @since 0.1.0
 */
export * as Batch from "./Batch.js"

/**
 * Language-model calls as primitives: OpenAI-compatible and simulated layers, prices, GenAI telemetry.
 *
 * @since 0.1.0
 */
export * as Model from "./Model.js"

/**
 * Pooled SQL queries as primitives: a PostgreSQL pool and SQLite.
 *
 * @since 0.1.0
 */
export * as Database from "./Database.js"

/**
 * The Promise entry: a runtime built once from layers, `run` -> Promise, `stream` -> async iterable, `dispose`.
 *
 * @since 0.1.0
 */
export * as Runtime from "./Runtime.js"

/**
 * Hedged calls ("The Tail at Scale"): a second attempt after a delay or a latency percentile, the loser interrupted.
 *
 * @since 0.1.0
 */
export * as Hedge from "./Hedge.js"

/**
 * Adaptive concurrency per backend (AIMD): the limit follows 429s, timeouts and latency; a bounded wait queue.
 *
 * @since 0.1.0
 */
export * as Concurrency from "./Concurrency.js"

/**
 * Cost budgets in dollars or tokens per run, tenant key or time window: refused before sending, charged after.
 *
 * @since 0.1.0
 */
export * as Budget from "./Budget.js"

/**
 * What a run cost: the model calls inside an effect, measured from what each call actually cost.
 *
 * @since 0.1.0
 */
export * as Cost from "./Cost.js"

/**
 * A rate limit for any primitive, shared by every process on the same store
 * (memory or Redis). Durable workflows live in `flowtune/Durable` (not
 * re-exported here: they need the optional peer `@effect/workflow`).
 *
 * @since 0.2.0
 */
export * as RateLimit from "./RateLimit.js"
