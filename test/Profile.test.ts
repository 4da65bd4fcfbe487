import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Primitive from "../src/Primitive.js"
import * as Profile from "../src/Profile.js"

// Real CPU work (no sleeping): the profiler samples wall-clock CPU.
function busyWork(millis: number): number {
  const end = performance.now() + millis
  let x = 0
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) x = (x * 31 + i) % 1_000_003
  }
  return x
}

describe("Profile.cpu", () => {
  it.effect("writes a .cpuprofile and names the hot function in the summary", () =>
    Effect.gen(function*() {
      const path = join(tmpdir(), `flowtune-profile-${process.pid}-${Date.now()}`, "run.cpuprofile")
      const work = Primitive.fromFunction("work", (ms: number) => busyWork(ms))
      const result = yield* Profile.cpu(Primitive.run(work, 150), { path, top: 5 })
      assert.isNumber(result.value)
      assert.strictEqual(result.path, path)
      const written = JSON.parse(yield* Effect.promise(() => readFile(path, "utf8"))) as Profile.CpuProfile
      assert.isAbove(written.nodes.length, 1)
      assert.isAbove(written.samples?.length ?? 0, 10)
      assert.isAtMost(result.top.length, 5)
      const hot = result.top.find((s) => s.functionName === "busyWork")
      assert.isDefined(hot)
      assert.isAbove(hot!.totalMillis, 50)
      assert.isAtLeast(hot!.totalMillis, hot!.selfMillis)
      assert.include(Profile.formatSummary(result.top), "busyWork")
      yield* Effect.promise(() => rm(join(path, ".."), { recursive: true, force: true }))
    }), 20_000)

  it.effect("stops profiling and returns the workflow's own failure", () =>
    Effect.gen(function*() {
      const failing = Primitive.make("failing", (_: number) => Effect.fail("boom" as const))
      const error = yield* Effect.flip(Profile.cpu(Primitive.run(failing, 1)))
      assert.strictEqual(error, "boom")
      // The session was released: a second profile can start.
      const ok = yield* Profile.cpu(Effect.succeed(1))
      assert.strictEqual(ok.value, 1)
    }), 20_000)

  it.effect("fails with ProfileError when the file cannot be written", () =>
    Effect.gen(function*() {
      // A path under a regular file: its directory can never be created.
      const file = join(tmpdir(), `flowtune-not-a-dir-${process.pid}-${Date.now()}`)
      yield* Effect.promise(() => writeFile(file, "x"))
      const error = yield* Effect.flip(Profile.cpu(Effect.succeed(1), { path: join(file, "sub", "run.cpuprofile") }))
      assert.strictEqual(error._tag, "ProfileError")
      assert.include(error.message, "write")
      yield* Effect.promise(() => rm(file, { force: true }))
    }), 20_000)

  it("summarises self and total time per function from samples", () => {
    const frame = (functionName: string, lineNumber: number) => ({
      functionName,
      scriptId: "1",
      url: "file:///app.js",
      lineNumber,
      columnNumber: 0
    })
    const profile: Profile.CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame("(root)", -1), children: [2] },
        { id: 2, callFrame: frame("outer", 9), children: [3] },
        { id: 3, callFrame: frame("inner", 19) }
      ],
      startTime: 0,
      endTime: 4000,
      samples: [2, 3, 3, 3],
      timeDeltas: [0, 1000, 1000, 1000]
    }
    const stats = Profile.summarize(profile)
    assert.deepStrictEqual(stats.map((s) => [s.functionName, s.line, s.selfMillis, s.totalMillis, s.selfShare]), [
      ["inner", 20, 3, 3, 0.75],
      ["outer", 10, 1, 4, 0.25]
    ])
  })
})
