/**
 * A throwaway redis-server on a free port, for the fault tests that stop and
 * restart Redis (the shared one on 6379 is never touched).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createServer, Socket } from "node:net"

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** Whether something accepts TCP connections on the port. */
export const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = new Socket()
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
    socket.connect(port, "127.0.0.1")
  })

const waitFor = async (condition: () => Promise<boolean>, what: string) => {
  for (let i = 0; i < 100; i++) {
    if (await condition()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`redis-server: timed out waiting until ${what}`)
}

export interface RedisServer {
  readonly port: number
  readonly start: () => Promise<void>
  readonly stop: () => Promise<void>
}

export const startRedis = async (): Promise<RedisServer> => {
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"], {
      stdio: "ignore"
    })
    await waitFor(() => accepts(port), "it accepts connections")
  }
  const stop = async () => {
    const running = child
    child = undefined
    if (running === undefined || running.exitCode !== null) return
    const exited = new Promise((r) => running.once("exit", r))
    running.kill("SIGKILL")
    await exited
    await waitFor(async () => !(await accepts(port)), "it stopped")
  }
  await start()
  return { port, start, stop }
}
