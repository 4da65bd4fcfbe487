/**
 * A small OpenAI-compatible streaming server for the cancellation tests:
 * `POST /v1/chat/completions` answers with server-sent events, one token per
 * event every `intervalMs`, then `data: [DONE]`. It records, per request, how
 * many tokens it sent and whether the client went away before the end.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

export interface Connection {
  sent: number
  /** Resolves when the response is closed: by the server at the end, or by the client going away. */
  readonly closed: Promise<{ readonly completed: boolean; readonly sent: number }>
}

export interface SseServer {
  readonly url: string
  readonly connections: Array<Connection>
  readonly close: () => Promise<void>
}

export const startSseServer = (options: {
  readonly tokens: ReadonlyArray<string>
  readonly intervalMs: number
}): Promise<SseServer> => {
  const connections: Array<Connection> = []
  const server = Http.createServer((req, res) => {
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
      res.writeHead(404).end()
      return
    }
    let completed = false
    let timer: NodeJS.Timeout | undefined
    let resolveClosed: (value: { completed: boolean; sent: number }) => void = () => undefined
    const connection: Connection = {
      sent: 0,
      closed: new Promise((resolve) => {
        resolveClosed = resolve
      })
    }
    connections.push(connection)
    res.on("close", () => {
      clearTimeout(timer)
      resolveClosed({ completed, sent: connection.sent })
    })
    req.resume()
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
      const next = () => {
        if (connection.sent === options.tokens.length) {
          completed = true
          res.end("data: [DONE]\n\n")
          return
        }
        const content = options.tokens[connection.sent++]
        res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`)
        timer = setTimeout(next, options.intervalMs)
      }
      timer = setTimeout(next, options.intervalMs)
    })
  })
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resolve({
        url: `http://127.0.0.1:${port}`,
        connections,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })
}

/**
 * The client side: the content tokens of a streamed chat completion, read
 * with `fetch` and the given `AbortSignal`.
 */
export async function* chatCompletionTokens(url: string, prompt: string, signal: AbortSignal): AsyncGenerator<string> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "test", stream: true, messages: [{ role: "user", content: prompt }] }),
    signal
  })
  if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status}`)
  const reader = response.body.getReader()
  const decoder = new TextDecoder()
  let buffered = ""
  try {
    while (true) {
      const { done, value } = await reader.read()
      if (done) return
      buffered += decoder.decode(value, { stream: true })
      let end: number
      while ((end = buffered.indexOf("\n\n")) >= 0) {
        const event = buffered.slice(0, end)
        buffered = buffered.slice(end + 2)
        for (const line of event.split("\n")) {
          if (!line.startsWith("data: ")) continue
          const data = line.slice(6)
          if (data === "[DONE]") return
          const content = JSON.parse(data).choices?.[0]?.delta?.content
          if (typeof content === "string") yield content
        }
      }
    }
  } finally {
    reader.releaseLock()
  }
}
