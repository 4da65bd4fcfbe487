/**
 * flowtune in a plain Node HTTP server, without writing Effect in the handlers: one runtime per process
 * (`FlowRuntime.make`), so the cache lives as long as the server and every request can hit it; the client's
 * disconnect aborts the run.
 *
 *   npx tsx examples/http-server.ts            # then: curl 'localhost:3000/answer?q=hello'
 *   npx tsx examples/http-server.ts --self-test  # starts, sends 20 requests, prints the cache stats, exits
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as FlowCache from "flowtune/Cache"
import * as Primitive from "flowtune/Primitive"
import * as FlowRuntime from "flowtune/Runtime"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"

// A slow, paid step (a model call in a real app): 300 ms per answer.
const answer = Primitive.make(
  "answer",
  (question: string) =>
    Effect.as(Effect.sleep("300 millis"), `${question.length} characters, answered at ${new Date().toISOString()}`)
)

const cachedAnswer = FlowCache.wrap(answer, { ttl: "10 minutes", schema: Schema.String, key: FlowCache.normalizedKey })

// Built once, at start-up: the memory cache is shared by every request until `dispose()`.
const runtime = FlowRuntime.make(FlowCache.layerMemory({ capacity: 10_000 }))

const server = createServer(async (request, response) => {
  const url = new URL(request.url ?? "/", "http://localhost")
  if (url.pathname !== "/answer") {
    response.writeHead(404).end()
    return
  }
  // The client going away aborts the run: the model call in flight is interrupted, nothing is cached.
  const controller = new AbortController()
  response.on("close", () => controller.abort())
  try {
    const text = await runtime.run(cachedAnswer, url.searchParams.get("q") ?? "", { signal: controller.signal })
    response.writeHead(200, { "content-type": "text/plain" }).end(`${text}\n`)
  } catch (error) {
    // Tagged errors arrive as themselves: `instanceof` and `_tag` work.
    const tag = typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : "Error"
    if (!response.headersSent) response.writeHead(500, { "content-type": "text/plain" }).end(`${tag}\n`)
  }
})

const shutdown = async () => {
  server.close()
  await runtime.dispose()
}
process.on("SIGINT", () => void shutdown())
process.on("SIGTERM", () => void shutdown())

server.listen(process.argv.includes("--self-test") ? 0 : 3000, async () => {
  const { port } = server.address() as AddressInfo
  console.log(`listening on http://localhost:${port}/answer?q=...`)
  if (!process.argv.includes("--self-test")) return
  const started = performance.now()
  for (let i = 0; i < 20; i++) {
    // Five questions, asked four times each, spelled differently: normalized keys make them hit.
    const q = ["Hello", "hello ", "HELLO", " hello"][i % 4]! + ` #${i % 5}`
    await fetch(`http://localhost:${port}/answer?q=${encodeURIComponent(q)}`).then((r) => r.text())
  }
  const stats = await runtime.runEffect(FlowCache.stats(cachedAnswer))
  const hits = Object.values(stats.hits).reduce((a, b) => a + b, 0)
  console.log(`20 requests in ${Math.round(performance.now() - started)} ms: ${stats.misses} misses, ${hits} hits`)
  await shutdown()
})
