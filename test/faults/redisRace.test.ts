/**
 * Two real processes race on new keys: each fires 200 identical calls per
 * round, at the same moment (a barrier in Redis), 30 rounds. Each key must
 * be computed exactly once across both processes (issue 12 defect 2: a
 * holder that did not read the tiers again after taking the lease computed
 * again a value the other process had just written and released; about 6%
 * of rounds).
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Redis } from "ioredis"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { type RedisServer as OwnRedis, startRedis as startOwnRedis } from "../support/cacheRedisServer.js"

const worker = fileURLToPath(new URL("../support/cacheRaceWorker.ts", import.meta.url))
const rounds = 30
const calls = 200

let redis: OwnRedis | undefined
afterAll(async () => {
  await redis?.kill()
})

const run = (url: string, namespace: string): Promise<{ wrong: number }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", worker, url, namespace, String(rounds), String(calls)], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    let err = ""
    child.stdout.on("data", (d) => (out += d))
    child.stderr.on("data", (d) => (err += d))
    // Bounded: a worker that hangs is killed (only the pids this test started).
    const timer = setTimeout(() => child.kill("SIGKILL"), 100_000)
    child.once("exit", (code) => {
      clearTimeout(timer)
      const last = out.trim().split("\n").at(-1) ?? ""
      if (code === 0 && last.startsWith("{")) resolve(JSON.parse(last))
      else reject(new Error(`worker exited ${code}: ${err.slice(-2000)}`))
    })
  })

describe("two processes, one new key per round", () => {
  it("computes each key once: 0 duplicates, 0 wrong answers over 30 rounds of 2 x 200 calls", async () => {
    redis = await startOwnRedis()
    const namespace = `race-${process.pid}`
    const started = Date.now()
    const [a, b] = await Promise.all([run(redis.url, namespace), run(redis.url, namespace)])
    const raw = new Redis(redis.url)
    const counts = await Promise.all(
      Array.from({ length: rounds }, (_, r) => raw.get(`${namespace}:count:round-${r}`).then(Number))
    )
    raw.disconnect()
    const duplicates = counts.reduce((n, c) => n + Math.max(0, c - 1), 0)
    console.log(`race: ${rounds} rounds in ${Date.now() - started} ms, computations per key ${JSON.stringify(counts)}`)
    assert.strictEqual(a.wrong + b.wrong, 0)
    assert.deepStrictEqual(counts, Array.from({ length: rounds }, () => 1), `${duplicates} duplicate computations`)
  }, 120_000)
})
