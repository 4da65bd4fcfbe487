/**
 * Cancellation: a reader that stops early stops the upstream HTTP request.
 *
 * A local OpenAI-compatible server streams 100 tokens, one every 20 ms. The
 * reader takes the first 5 and stops: the `AbortSignal` handed to the source
 * fires, `fetch` aborts, and the server sees the connection close after a
 * handful of tokens instead of streaming (and billing) all 100.
 *
 * Run: npx tsx examples/stream-cancel.ts
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as FlowStream from "flowtune/Stream"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

// A tiny streaming server: SSE chunks in the OpenAI format.
const startServer = () =>
  new Promise<{ url: string; closed: Promise<number>; server: Http.Server }>((resolve) => {
    let reportClosed: (sent: number) => void = () => undefined
    const closed = new Promise<number>((done) => {
      reportClosed = done
    })
    const server = Http.createServer((req, res) => {
      let sent = 0
      res.writeHead(200, { "content-type": "text/event-stream" })
      const timer = setInterval(() => {
        if (sent === 100) return res.end("data: [DONE]\n\n")
        res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: `token${sent++} ` } }] })}\n\n`)
      }, 20)
      res.on("close", () => {
        clearInterval(timer)
        reportClosed(sent)
      })
      req.resume()
    })
    server.listen(0, "127.0.0.1", () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, closed, server }))
  })

// The client: the content deltas of a streamed chat completion.
async function* chatTokens(url: string, prompt: string, signal: AbortSignal): AsyncGenerator<string> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    body: JSON.stringify({ stream: true, messages: [{ role: "user", content: prompt }] }),
    signal
  })
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  let buffered = ""
  while (true) {
    const { done, value } = await reader.read()
    if (done) return
    buffered += decoder.decode(value, { stream: true })
    const events = buffered.split("\n\n")
    buffered = events.pop()!
    for (const event of events) {
      const data = event.replace(/^data: /, "")
      if (data === "[DONE]") return
      yield JSON.parse(data).choices[0].delta.content
    }
  }
}

const program = Effect.gen(function*() {
  const { closed, server, url } = yield* Effect.promise(startServer)
  const llm = FlowStream.fromAsyncIterable("llm", (prompt: string, signal) => chatTokens(url, prompt, signal))

  const firstFive = yield* Stream.runCollect(Stream.take(llm.stream("Count to 100"), 5))
  console.log(`read: ${[...firstFive].join("")}`)
  const sent = yield* Effect.promise(() => closed)
  console.log(`the server saw the connection close after sending ${sent} of 100 tokens`)
  server.close()
})

Effect.runPromise(program)
