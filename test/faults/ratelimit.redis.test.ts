// Two real processes share one rate limit through the shared Redis (their own key prefix,
// never flushed): together they never pass the limit. The same processes on in-memory
// stores (no sharing) pass it, which shows the assertion can fail.
import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { join } from "node:path"

const client = join(import.meta.dirname, "..", "support", "rateLimitClient.ts")
const runMs = 3000

const start = (env: Record<string, string>) => {
  const child = spawn(process.execPath, ["--conditions=@flowtune/source", "--import", "tsx", client], {
    env: { ...process.env, RUN_MS: String(runMs), ...env },
    stdio: ["pipe", "pipe", "pipe"]
  })
  let out = ""
  let err = ""
  const ready = new Promise<void>((resolve) =>
    child.stdout.on("data", (d) => {
      out += d
      if (out.includes("ready")) resolve()
    })
  )
  const admitted = new Promise<number>((resolve, reject) => {
    child.stderr.on("data", (d) => (err += d))
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
    child.on("exit", (code) => {
      clearTimeout(timer)
      if (code !== 0) return reject(new Error(`client exited ${code}: ${err}`))
      resolve(JSON.parse(out.trim().split("\n").at(-1)!).admitted)
    })
  })
  return { ready, go: () => child.stdin.write("go\n"), admitted }
}

/** Starts two clients, lets them loop at the same moment, and returns what each was admitted. */
const race = async (env: Record<string, string>) => {
  const clients = [start(env), start(env)] as const
  await Promise.all(clients.map((c) => c.ready))
  for (const c of clients) c.go()
  return Promise.all([clients[0].admitted, clients[1].admitted])
}

// 10 calls per 1 s fixed window over 3 s: at most 4 windows are touched.
const ceiling = 10 * (runMs / 1000 + 1)

describe("RateLimit shared through Redis by two processes", () => {
  it("the two processes together never exceed the limit", async () => {
    const prefix = `flowtune:test:ratelimit:${process.pid}:${Date.now()}:`
    const [a, b] = await race({ PREFIX: prefix })
    expect(a + b).toBeLessThanOrEqual(ceiling)
    expect(a + b).toBeGreaterThanOrEqual(20)
    expect(Math.min(a, b)).toBeGreaterThan(0)
  }, 90_000)

  it("without a shared store the same load passes the limit (the check above can fail)", async () => {
    const [a, b] = await race({ STORE: "memory" })
    expect(a + b).toBeGreaterThan(ceiling)
  }, 90_000)
})
