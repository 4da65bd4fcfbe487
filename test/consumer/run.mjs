// Runs the compiled app with plain node and checks what it printed.
import { main } from "./out/app.js"

const lines = await main()
for (const line of lines) console.log(`  ${line}`)
const expected = [
  "workflow: {\"text\":\"n=42\",\"same\":42}",
  "cache: 2 misses, 1 hits",
  "router: n=3",
  "stream: one,two,three",
  "batch: 14",
  "rejects with: RouteNotFound"
]
const missing = expected.filter((line) => !lines.includes(line))
if (missing.length > 0) {
  console.error(`!! missing: ${missing.join(" | ")}`)
  process.exit(1)
}
