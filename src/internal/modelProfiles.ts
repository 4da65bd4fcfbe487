/**
 * The guide's simulated model profiles, in a module of their own: the default
 * price table (`modelContext`) reads them, and the simulated model imports
 * `modelContext`, so keeping them in `modelSimulated` made an import cycle
 * that failed when `modelSimulated` was loaded first.
 *
 * @internal
 */
import type * as Simulated from "../Model/Simulated.js"

/** @internal */
export const profiles = {
  fast: { name: "fast", latency: "800 millis", costPerCall: 0.0005 },
  balanced: { name: "balanced", latency: "1500 millis", costPerCall: 0.005 },
  quality: { name: "quality", latency: "2500 millis", costPerCall: 0.01 },
  expensive: { name: "expensive", latency: "2 seconds", costPerCall: 0.01 },
  batchCall: { name: "batch-call", latency: "500 millis" },
  gpt4Like: { name: "gpt-4-like", latency: "2500 millis" },
  claudeLike: { name: "claude-like", latency: "2 seconds" },
  geminiLike: { name: "gemini-like", latency: "1500 millis" },
  streaming: { name: "streaming", latency: "2500 millis", firstToken: "300 millis" }
} satisfies Record<string, Simulated.Profile>
