/**
 * The one throwaway redis-server of the tests, on a free port, for the fault
 * tests that stop, freeze, kill and restart Redis (the shared one on 6379 is
 * never touched); and the port helpers every suite that starts a server uses.
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

/** A redis-server of the test's own, on a free port. */
export interface RedisServer {
  readonly port: number
  readonly url: string
  /** The running process's pid; undefined while stopped. */
  readonly pid: number | undefined
  /** Starts it again, on the same port, after `stop`. */
  readonly start: () => Promise<void>
  /** Kills it (SIGCONT first, so a frozen one exits too); resolves once the port refuses connections. */
  readonly stop: () => Promise<void>
  /** `stop`, under the name the fault suites use for a server they do not start again. */
  readonly kill: () => Promise<void>
  /** SIGSTOP: connections stay open and nothing is answered. */
  readonly freeze: () => void
  /** SIGCONT after `freeze`. */
  readonly thaw: () => void
}

/** Starts a throwaway redis-server (no persistence, loopback only) and waits until it accepts connections. */
export const startRedis = async (): Promise<RedisServer> => {
  const port = await freePort()
  let child: ChildProcess | undefined
  const alive = (c: ChildProcess | undefined): c is ChildProcess =>
    c !== undefined && c.exitCode === null && c.signalCode === null
  const start = async () => {
    child = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"], {
      stdio: "ignore"
    })
    await waitFor(() => accepts(port), "it accepts connections")
  }
  const stop = async () => {
    const running = child
    child = undefined
    if (!alive(running)) return
    const exited = new Promise((r) => running.once("exit", r))
    running.kill("SIGCONT")
    running.kill("SIGKILL")
    await exited
    await waitFor(async () => !(await accepts(port)), "it stopped")
  }
  await start()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return alive(child) ? child.pid : undefined
    },
    start,
    stop,
    kill: stop,
    freeze: () => {
      if (alive(child)) child.kill("SIGSTOP")
    },
    thaw: () => {
      if (alive(child)) child.kill("SIGCONT")
    }
  }
}
