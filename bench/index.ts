/**
 * `npm run bench -- <suite...> [--json] [--quick]`
 *
 * `npm run bench` compiles the suites and the library with tsc into `.bench/`
 * (tsconfig.bench.json) and runs them with plain node, so the library code
 * measured is what `dist/` holds; `npm run bench:source` runs the TypeScript
 * sources through tsx instead, whose esbuild transform adds a `__name` call
 * to every closure it creates.
 *
 * Each suite is `bench/<suite>.ts`, whose default export is a `Suite`. With
 * no suite named, every suite runs. `--json` prints one JSON object per suite:
 * `{ "suite", "results": { name: cpuNsPerOp }, "wall", "ratios", "spreads", "load" }`.
 */
import { readdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { formatTable, load, type Suite } from "./harness.js"

const here = dirname(fileURLToPath(import.meta.url))
// ".js" when compiled into .bench/ (`npm run bench`), ".ts" through tsx (`npm run bench:source`).
const extension = import.meta.url.endsWith(".ts") ? ".ts" : ".js"
const available = readdirSync(here)
  .filter((f) => f.endsWith(extension) && ![`index${extension}`, `harness${extension}`].includes(f))
  .map((f) => f.slice(0, -extension.length))
  .sort()

const args = process.argv.slice(2)
const json = args.includes("--json")
const quick = args.includes("--quick")
const requested = args.filter((a) => !a.startsWith("--"))
for (const [i, a] of requested.entries()) if (a === "durable-batch") requested[i] = "durableBatch" // the documented name
const unknown = requested.filter((s) => !available.includes(s))
if (unknown.length > 0) {
  console.error(`Unknown suite(s): ${unknown.join(", ")}. Available: ${available.join(", ")}`)
  process.exit(2)
}

for (const name of requested.length > 0 ? requested : available) {
  const suite: Suite = (await import(pathToFileURL(join(here, `${name}${extension}`)).href)).default
  const before = load()
  if (!json) console.log(`\n${suite.description}\n\nNode ${process.version}, ${before} before the suite\n`)
  const result = await suite.run({ quick })
  const after = load()
  if (json) {
    console.log(JSON.stringify({
      suite: suite.name,
      results: result.results,
      wall: result.wall,
      ratios: result.ratios,
      spreads: result.spreads,
      load: { before, after }
    }))
  } else console.log(`${formatTable(suite.name, result)}\n\n${after} after the suite`)
}
process.exit(0)
