// A runner process: executes `threeSteps` and `approval` on PostgreSQL until it is killed.
// env: DATABASE_URL, DURABLE_PREFIX, DURABLE_PORT, DURABLE_LOG, STEP_MS, DURABLE_POLL_MS (default 100),
//      DURABLE_ADVISORY ("true" for advisory shard locks; default off, so that other clusters
//      on the same database, e.g. other test files, never hold our shards)
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as DurablePg from "../../src/Durable/Pg.js"
import { approval, threeSteps } from "./durableWorkflow.js"

const engine = DurablePg.layer({
  prefix: process.env.DURABLE_PREFIX ?? "flowtune_test",
  runner: { host: "127.0.0.1", port: Number(process.env.DURABLE_PORT) },
  pollInterval: Number(process.env.DURABLE_POLL_MS ?? 100),
  shardLockExpiration: "3 seconds",
  shardLockRefreshInterval: "1 second",
  advisoryLocks: process.env.DURABLE_ADVISORY === "true"
})

const main = Layer.launch(Layer.merge(threeSteps.layer, approval.layer).pipe(Layer.provide(engine))).pipe(
  Effect.zipLeft(Effect.sync(() => console.log("runner up")))
)
console.log("runner starting")
NodeRuntime.runMain(main)
