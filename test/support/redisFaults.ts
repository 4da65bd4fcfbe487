/**
 * Network faults for the Redis fault suites, on sockets the suite owns (the
 * shared Redis on 6379 is never touched; a redis-server of the test's own,
 * which can be frozen, thawed, killed and restarted, is `startRedis` in
 * `cacheRedisServer.ts`):
 * - a TCP proxy in front of a Redis that can partition the network: connections
 *   stay open, bytes stop flowing both ways (a firewall that drops packets);
 * - a black hole: a listener that accepts and never answers.
 *
 * Every helper remembers what it opened, and `close` undoes it.
 */
import { createServer, type Server, Socket } from "node:net"

const listen = (server: Server): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      resolve(typeof address === "object" && address !== null ? address.port : 0)
    })
  })

export interface Proxy {
  readonly port: number
  readonly url: string
  /** Hold every byte, both ways, on open and new connections (connections stay open). */
  readonly partition: () => void
  /** Deliver what was held, in order, and flow again. */
  readonly heal: () => void
  readonly close: () => Promise<void>
}

/** A TCP proxy to `127.0.0.1:target` whose traffic can be held without closing anything. */
export const startProxy = async (target: number): Promise<Proxy> => {
  let cut = false
  const sockets = new Set<Socket>()
  // TCP retransmits across a partition that heals in time: bytes are late, never lost or reordered.
  const held: Array<readonly [Socket, Buffer]> = []
  const send = (to: Socket, chunk: Buffer) => {
    if (cut) held.push([to, chunk])
    else if (!to.destroyed) to.write(chunk)
  }
  const server = createServer((client) => {
    const upstream = new Socket()
    sockets.add(client)
    sockets.add(upstream)
    upstream.connect(target, "127.0.0.1")
    client.on("data", (chunk) => send(upstream, chunk))
    upstream.on("data", (chunk) => send(client, chunk))
    const close = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on("close", close)
    upstream.on("close", close)
    client.on("error", close)
    upstream.on("error", close)
  })
  const port = await listen(server)
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    partition: () => {
      cut = true
    },
    heal: () => {
      cut = false
      for (const [to, chunk] of held.splice(0)) if (!to.destroyed) to.write(chunk)
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}

export interface BlackHole {
  readonly port: number
  readonly url: string
  readonly close: () => Promise<void>
}

/** Accepts connections and never answers. */
export const startBlackHole = async (): Promise<BlackHole> => {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on("error", () => {})
    socket.on("close", () => sockets.delete(socket))
  })
  const port = await listen(server)
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}
