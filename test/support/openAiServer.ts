/**
 * A local OpenAI-compatible HTTP server for the model tests and benchmarks:
 * `POST /v1/chat/completions` (JSON or SSE when `stream: true`), with
 * scripted misbehaviour per request: 429 with `retry-after`, 500, a slow
 * answer, malformed JSON, a connection reset. It counts requests and TCP
 * connections so tests can tell keep-alive from reconnects.
 *
 * Listens on 127.0.0.1, port 0 (a free port), so suites never collide.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import type { AddressInfo, Socket } from "node:net"

/** What the server does with one request. */
export type Behaviour =
  | { readonly _tag: "ok"; readonly text?: string | undefined; readonly delayMs?: number | undefined }
  | { readonly _tag: "rateLimited"; readonly retryAfterMs: number }
  /** A 429 whose only `retry-after` is an HTTP date. */
  | { readonly _tag: "rateLimitedUntil"; readonly httpDate: string }
  | { readonly _tag: "status"; readonly status: number; readonly message?: string | undefined }
  | { readonly _tag: "malformed" }
  | { readonly _tag: "reset" }
  /** Streams `afterChunks` SSE chunks, then resets the TCP connection (a crash mid-answer). */
  | { readonly _tag: "resetMidStream"; readonly text?: string | undefined; readonly afterChunks: number }
  /** An assistant message asking for tool calls (`arguments` is the raw JSON text the model wrote). */
  | {
    readonly _tag: "toolCalls"
    readonly calls: ReadonlyArray<{ readonly name: string; readonly arguments: string }>
  }

/** One request as the server saw it. */
export interface SeenRequest {
  readonly path: string
  readonly authorization: string | undefined
  readonly body: any // the decoded JSON request body, shape checked by the tests that read it
  readonly at: number
}

export interface OpenAiServer {
  /** Base URL including `/v1`. */
  readonly url: string
  /** Behaviours for the next requests, in order; once used up, requests get `ok`. */
  readonly script: (...behaviours: ReadonlyArray<Behaviour>) => void
  readonly requests: ReadonlyArray<SeenRequest>
  readonly connections: () => number
  /** Resolves once `n` requests have arrived. */
  readonly waitForRequests: (n: number) => Promise<void>
  /** Milliseconds between SSE chunks. */
  streamChunkDelayMs: number
  readonly close: () => Promise<void>
}

const tokens = (text: string) => Math.max(1, Math.ceil(text.length / 4))

const promptText = (body: any): string => {
  const messages: Array<any> = Array.isArray(body?.messages) ? body.messages : []
  const last = messages.filter((m) => m?.role === "user").at(-1)
  return typeof last?.content === "string" ? last.content : JSON.stringify(last?.content ?? "")
}

/** Starts a server; `close` stops it and drops open connections. */
export const start = (): Promise<OpenAiServer> =>
  new Promise((resolve, reject) => {
    const queue: Array<Behaviour> = []
    const requests: Array<SeenRequest> = []
    const sockets = new Set<Socket>()
    const waiters: Array<{ n: number; resolve: () => void }> = []
    let connections = 0

    const notify = () => {
      for (const w of [...waiters]) {
        if (requests.length >= w.n) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve()
        }
      }
    }

    const completion = (body: any, text: string) => ({
      id: `chatcmpl-${requests.length}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: body?.model ?? "unknown",
      choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
      usage: {
        prompt_tokens: tokens(promptText(body)),
        completion_tokens: tokens(text),
        total_tokens: tokens(promptText(body)) + tokens(text)
      }
    })

    const streamOk = (res: Http.ServerResponse, body: any, text: string, resetAfter = Infinity) => {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
      const words = text.split(/(?<= )/)
      const chunk = (delta: object, finish: string | null, extra: object = {}) =>
        `data: ${
          JSON.stringify({
            id: `chatcmpl-${requests.length}`,
            object: "chat.completion.chunk",
            created: Math.floor(Date.now() / 1000),
            model: body?.model ?? "unknown",
            choices: finish === "usage" ? [] : [{ index: 0, delta, finish_reason: finish }],
            ...extra
          })
        }\n\n`
      let i = 0
      const next = () => {
        if (res.destroyed) return
        if (i >= resetAfter) {
          res.socket?.resetAndDestroy()
          return
        }
        if (i < words.length) {
          res.write(chunk(i === 0 ? { role: "assistant", content: words[i] } : { content: words[i] }, null))
          i++
          setTimeout(next, server.streamChunkDelayMs)
          return
        }
        res.write(chunk({}, "stop"))
        res.write(chunk({}, "usage", {
          usage: {
            prompt_tokens: tokens(promptText(body)),
            completion_tokens: tokens(text),
            total_tokens: tokens(promptText(body)) + tokens(text)
          }
        }))
        res.end("data: [DONE]\n\n")
      }
      next()
    }

    const handle = (req: Http.IncomingMessage, res: Http.ServerResponse, raw: string) => {
      let body: any
      try {
        body = JSON.parse(raw)
      } catch {
        body = undefined
      }
      requests.push({ path: req.url ?? "", authorization: req.headers.authorization, body, at: Date.now() })
      notify()
      if (req.url !== "/v1/chat/completions") {
        res.writeHead(404, { "content-type": "application/json" })
        res.end(JSON.stringify({ error: { message: "not found" } }))
        return
      }
      const behaviour: Behaviour = queue.shift() ?? { _tag: "ok" }
      switch (behaviour._tag) {
        case "ok": {
          const text = behaviour.text ?? `echo: ${promptText(body)}`
          const reply = () => {
            if (res.destroyed) return
            if (body?.stream === true) return streamOk(res, body, text)
            res.writeHead(200, { "content-type": "application/json" })
            res.end(JSON.stringify(completion(body, text)))
          }
          if (behaviour.delayMs) setTimeout(reply, behaviour.delayMs)
          else reply()
          return
        }
        case "rateLimited": {
          res.writeHead(429, {
            "content-type": "application/json",
            "retry-after": String(Math.ceil(behaviour.retryAfterMs / 1000)),
            "retry-after-ms": String(behaviour.retryAfterMs)
          })
          res.end(JSON.stringify({ error: { message: "Rate limit reached", type: "rate_limit_exceeded" } }))
          return
        }
        case "rateLimitedUntil": {
          res.writeHead(429, { "content-type": "application/json", "retry-after": behaviour.httpDate })
          res.end(JSON.stringify({ error: { message: "Rate limit reached", type: "rate_limit_exceeded" } }))
          return
        }
        case "status": {
          res.writeHead(behaviour.status, { "content-type": "application/json" })
          res.end(JSON.stringify({
            error: { message: behaviour.message ?? "The server had an error", type: "server_error" }
          }))
          return
        }
        case "resetMidStream": {
          streamOk(res, body, behaviour.text ?? `echo: ${promptText(body)}`, behaviour.afterChunks)
          return
        }
        case "toolCalls": {
          const answer = completion(body, "")
          const choice = answer.choices[0]!
          res.writeHead(200, { "content-type": "application/json" })
          res.end(JSON.stringify({
            ...answer,
            choices: [{
              ...choice,
              message: {
                role: "assistant",
                content: null,
                tool_calls: behaviour.calls.map((call, i) => ({
                  id: `call_${requests.length}_${i}`,
                  type: "function",
                  function: { name: call.name, arguments: call.arguments }
                }))
              },
              finish_reason: "tool_calls"
            }]
          }))
          return
        }
        case "malformed": {
          res.writeHead(200, { "content-type": "application/json" })
          res.end("{\"id\": \"chatcmpl-broken\", \"choices\": [")
          return
        }
        case "reset": {
          req.socket.resetAndDestroy()
          return
        }
      }
    }

    const http = Http.createServer((req, res) => {
      let raw = ""
      req.setEncoding("utf8")
      req.on("data", (chunk: string) => (raw += chunk))
      req.on("end", () => handle(req, res, raw))
    })
    http.keepAliveTimeout = 30_000
    http.on("connection", (socket: Socket) => {
      connections++
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
    })
    http.on("error", reject)

    const server: OpenAiServer = {
      url: "",
      script: (...behaviours) => {
        queue.push(...behaviours)
      },
      requests,
      connections: () => connections,
      waitForRequests: (n) =>
        new Promise<void>((resolve) => {
          waiters.push({ n, resolve })
          notify()
        }),
      streamChunkDelayMs: 1,
      close: () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy()
          http.close(() => resolve())
        })
    }

    http.listen(0, "127.0.0.1", () => {
      const { port } = http.address() as AddressInfo
      ;(server as { url: string }).url = `http://127.0.0.1:${port}/v1`
      resolve(server)
    })
  })

/** The server as a scoped resource, for `it.scoped` / `Effect.scoped`. */
export const scoped: Effect.Effect<OpenAiServer, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(start),
  (server) => Effect.promise(server.close)
)
