// Durable workflows shared by the runner processes and the test that drives them:
// - `threeSteps`: three steps in sequence, each logging its start to a file and taking `STEP_MS`;
// - `approval`: a logged draft step, then a wait for the `approved` signal (a `DurableDeferred`),
//   then a logged publish step.
import * as DurableDeferred from "@effect/workflow/DurableDeferred"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { appendFileSync } from "node:fs"
import * as Durable from "../../src/Durable.js"
import * as Primitive from "../../src/Primitive.js"

export const stepMs = Number(process.env.STEP_MS ?? 1000)

const logLine = (line: string) =>
  Effect.sync(() => {
    const log = process.env.DURABLE_LOG
    if (log) appendFileSync(log, `${line} ${process.pid}\n`)
  })

const step = (i: number) =>
  Primitive.make(
    `step${i}`,
    (input: string) =>
      logLine(`${input} start ${i}`).pipe(Effect.zipRight(Effect.sleep(stepMs)), Effect.as(`${input}+${i}`))
  ).pipe(
    Durable.activity({ success: Schema.String })
  )

export const threeSteps = Durable.workflow(Primitive.sequence(step(1), step(2), step(3)), {
  name: "three-steps",
  payload: Schema.String,
  success: Schema.String,
  error: Schema.instanceOf(Durable.UnkeyableInput),
  idempotencyKey: (input) => input
})

/** The signal `approval` waits for. */
export const approved = DurableDeferred.make("approved", { success: Schema.Boolean })

const logged = (name: string) =>
  Primitive.make(name, (input: string) => Effect.as(logLine(`${input} ${name}`), `${input}+${name}`)).pipe(
    Durable.activity({ success: Schema.String })
  )

export const approval = Durable.workflow(
  Primitive.sequence(
    logged("draft"),
    Primitive.make(
      "await approval",
      (draft: string) => Effect.map(DurableDeferred.await(approved), (ok) => ok ? draft : `${draft}+rejected`)
    ),
    logged("publish")
    // The body runs inside the workflow, where the engine and the instance `DurableDeferred.await` needs are provided.
  ) as Primitive.Primitive<string, string, Durable.UnkeyableInput, never>,
  {
    name: "approval",
    payload: Schema.String,
    success: Schema.String,
    error: Schema.instanceOf(Durable.UnkeyableInput),
    idempotencyKey: (input) => input
  }
)
