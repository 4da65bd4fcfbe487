// A durable workflow shared by the runner processes and the test that drives them:
// three steps in sequence, each logging its start to a file and taking `STEP_MS`.
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { appendFileSync } from "node:fs"
import * as Durable from "../../src/Durable.js"
import * as Primitive from "../../src/Primitive.js"

export const stepMs = Number(process.env.STEP_MS ?? 1000)

const step = (i: number) =>
  Primitive.make(`step${i}`, (input: string) =>
    Effect.sync(() => {
      const log = process.env.DURABLE_LOG
      if (log) appendFileSync(log, `${input} start ${i} ${process.pid}\n`)
    }).pipe(Effect.zipRight(Effect.sleep(stepMs)), Effect.as(`${input}+${i}`))).pipe(
      Durable.activity({ success: Schema.String })
    )

export const threeSteps = Durable.workflow(Primitive.sequence(step(1), step(2), step(3)), {
  name: "three-steps",
  payload: Schema.String,
  success: Schema.String,
  error: Schema.instanceOf(Durable.UnkeyableInput),
  idempotencyKey: (input) => input
})
