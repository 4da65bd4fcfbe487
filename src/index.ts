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
 * Routing inputs to primitives: selectors, the guide's complexity scorer, per-route cost and latency.
 *
 * @since 0.1.0
 */
export * as Router from "./Router.js"
