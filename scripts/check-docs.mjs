#!/usr/bin/env node
// Type-checks every TypeScript block of README.md and docs/*.md against the library's sources.
//
// Each ```ts block becomes its own module under .flowtune/docs-check-<pid>/ (removed when all pass) and the lot is
// compiled with the repository's tsconfig (so `flowtune/<Module>` resolves to src/). Conventions in the Markdown:
//   ```ts shape            a shape or a signature, not code: skipped
//   <!-- ts-preamble: declare const texts: ReadonlyArray<string> -->
//                          just before a block (any number of lines): code prepended to that block only
//   <!-- ts-preamble-file: export declare const embeddingsApi: ... -->
//                          anywhere in the file: a module of shared declarations (with the default preamble's
//                          imports) from which each block of the file imports the exported names it uses and
//                          does not declare itself; a name it declares or exports replaces the default's
// Names a block uses without declaring or importing them come from that preamble module, which also re-exports the
// Effect modules and every flowtune module under the names of docs/Conventions.md: each from its own path
// (`flowtune/Router` as `Router`), and the four that share a name with Effect's as `FlowStream`, `FlowCache`,
// `FlowMetrics`, `FlowRuntime`. `Stream`, `Cache`, `Runtime` and `Metric` are Effect's. A block or preamble that
// imports a flowtune module under another name (`import * as Cache from "flowtune/Cache"`,
// `import { Stream } from "flowtune"`) fails the check too.
//
//   node scripts/check-docs.mjs [files...]
import { execFileSync } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { basename, dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
// One directory per run: several runs at once (a shared worktree) do not delete each other's files.
const out = join(root, ".flowtune", `docs-check-${process.pid}`)
const files = process.argv.length > 2
  ? process.argv.slice(2)
  : ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => join("docs", f))]

// The modules the root `flowtune` module exports (`export * as X from "./X.js"` in src/index.ts), each imported from
// its own path under its conventional name (docs/Conventions.md: `Flow` before the names Effect also uses).
const flowPrefixed = new Set(["Stream", "Cache", "Metrics", "Runtime"])
const flowtuneModules = [
  ...readFileSync(join(root, "src", "index.ts"), "utf8").matchAll(/export \* as (\w+) from "\.\/([\w/]+)\.js"/g)
].map((m) => ({ name: flowPrefixed.has(m[1]) ? `Flow${m[1]}` : m[1], path: `flowtune/${m[2]}` }))
const effectNames = ["Cache", "Chunk", "Config", "Context", "Data", "Duration", "Effect", "Exit", "Fiber", "Layer"]
  .concat(["Metric", "Option", "Redacted", "Ref", "Runtime", "Schedule", "Schema", "Scope", "Stream"])
// The default declarations, but the names the file's own preamble declares or exports.
const defaultNames = (filePreamble) => {
  const own = new Set([...declaredNames(filePreamble), ...exportedNames(filePreamble)])
  return { effect: effectNames.filter((n) => !own.has(n)), flowtune: flowtuneModules.filter((m) => !own.has(m.name)) }
}
const preambleNames = (filePreamble) => {
  const { effect, flowtune } = defaultNames(filePreamble)
  return [...effect, ...flowtune.map((m) => m.name)]
}
const defaultPreamble = (filePreamble) => {
  const { effect, flowtune } = defaultNames(filePreamble)
  return [
    effect.length === 0 ? "" : `import { ${effect.join(", ")} } from "effect"`,
    ...flowtune.map((m) => `import * as ${m.name} from "${m.path}"`),
    effect.length === 0 ? "" : `export { ${effect.join(", ")} }`,
    flowtune.length === 0 ? "" : `export { ${flowtune.map((m) => m.name).join(", ")} }`
  ].filter((l) => l !== "").join("\n")
}

// docs/Conventions.md: a module's namespace is its path without the slash (`flowtune/Cache/Redis` as `CacheRedis`),
// with `Flow` before the four names Effect also has.
const conventionalName = (path) => (flowPrefixed.has(path) ? "Flow" : "") + path.replaceAll("/", "")
/** The imports of `code` that break the naming rule, with their line in `code` (0 for the first). */
const namingProblems = (code) => {
  const lineOf = (index) => code.slice(0, index).split("\n").length - 1
  const perModule = [...code.matchAll(/(?:import|export)\s+(?:type\s+)?\*\s+as\s+(\w+)\s+from\s+"flowtune\/([\w/]+)"/g)]
    .filter((m) => m[1] !== conventionalName(m[2]))
    .map((m) => ({ line: lineOf(m.index), text: `"flowtune/${m[2]}" as ${m[1]}: name it ${conventionalName(m[2])}` }))
  const root = [...code.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+"flowtune"/g)].flatMap((m) =>
    m[1].split(",").map((n) => n.trim().replace(/^type\s+/, "").split(/\s+as\s+/))
      .filter(([name, alias]) => name !== "" && (alias ?? name) !== conventionalName(name))
      .map(([name, alias]) => ({
        line: lineOf(m.index),
        text: `${name} from "flowtune" as ${alias ?? name}: name it ${conventionalName(name)}`
      }))
  )
  return [...perModule, ...root]
}
const misnamed = []

const exportedNames = (code) => [
  ...[...code.matchAll(/export\s+(?:declare\s+)?(?:const|let|class|function|type|interface|enum)\s+(\w+)/g)].map((m) =>
    m[1]
  ),
  ...[...code.matchAll(/export\s+\*\s+as\s+(\w+)/g)].map((m) => m[1]),
  ...[...code.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)].flatMap((m) =>
    m[1].split(",").map((n) => n.trim().split(/\s+as\s+/).pop())
  )
]
const declaredNames = (code) =>
  new Set([
    ...[...code.matchAll(/(?:const|let|var|class|function\*?|type|interface|enum)\s+(\w+)/g)].map((m) => m[1]),
    ...[...code.matchAll(/import\s+(?:type\s+)?(?:\*\s+as\s+(\w+)|(\w+))/g)].map((m) => m[1] ?? m[2]),
    ...[...code.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}/g)].flatMap((m) =>
      m[1].split(",").map((n) => n.trim().split(/\s+as\s+/).pop().replace(/^type\s+/, ""))
    )
  ])

rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
const blocks = []
for (const file of files) {
  const lines = readFileSync(join(root, file), "utf8").split("\n")
  let filePreamble = ""
  const preambleModule = `_preamble-${basename(file, ".md")}`
  writeFileSync(join(out, `${preambleModule}.ts`), defaultPreamble(""))
  let pending = []
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    const comment = /^<!--\s*ts-preamble(-file)?:\s*([\s\S]*?)\s*(-->)?$/.exec(line)
    if (comment !== null) {
      const first = i + 1
      const body = [comment[2]]
      while (comment[3] === undefined && i + 1 < lines.length && !lines[i].includes("-->")) {
        i++
        body.push(lines[i].replace(/-->\s*$/, ""))
        if (lines[i].includes("-->")) break
      }
      for (const p of namingProblems(body.join("\n"))) misnamed.push(`${file}:${first + p.line}: ${p.text}`)
      if (comment[1] !== undefined) {
        filePreamble += body.join("\n") + "\n"
        writeFileSync(join(out, `${preambleModule}.ts`), `${defaultPreamble(filePreamble)}\n${filePreamble}`)
      } else pending.push(body.join("\n"))
      continue
    }
    const fence = /^```(ts|typescript)(\s+.*)?$/.exec(line)
    if (fence === null) {
      if (line.trim() !== "") pending = []
      continue
    }
    const start = i + 1
    const code = []
    for (i++; i < lines.length && !lines[i].startsWith("```"); i++) code.push(lines[i])
    const tags = (fence[2] ?? "").trim().split(/\s+/)
    if (tags.includes("shape")) {
      pending = []
      continue
    }
    let body = code.join("\n")
    for (const p of namingProblems(body)) misnamed.push(`${file}:${start + 1 + p.line}: ${p.text}`)
    let inserted = 0
    // A fragment of a generator (`yield*` at the top level) is checked inside `Effect.gen`.
    if (/^\S.*\byield\*/m.test(body) && !/function\*/.test(body)) {
      const imports = code.filter((l) => /^import\s/.test(l))
      const rest = code.filter((l) => !/^import\s/.test(l))
      body = [
        ...imports,
        `import { Effect as Effect_ } from "effect"`,
        "export const _block = Effect_.gen(function*() {",
        ...rest,
        "})"
      ].join("\n")
      inserted = 2 // the lines after the imports moved down by two
    }
    // Names the block's own preamble declares are not imported again.
    const declared = declaredNames([body, ...pending].join("\n"))
    const used = new Set(body.match(/\b[A-Za-z_]\w*\b/g) ?? [])
    const available = [...preambleNames(filePreamble), ...exportedNames(filePreamble)]
    const shared = [...new Set(available)].filter((n) => used.has(n) && !declared.has(n))
    const preamble = [
      shared.length === 0 ? "" : `import { ${shared.join(", ")} } from "./${preambleModule}.js"`,
      ...pending
    ].filter((s) => s !== "").join("\n")
    pending = []
    const name = `${basename(file, ".md")}-${start}.ts`
    // The body starts on the line after the preamble (after an empty first line without one).
    const preambleLines = preamble === "" ? 1 : preamble.split("\n").length
    // `export {}` makes each block its own module; the lines before the body are subtracted in the report below.
    writeFileSync(join(out, name), `${preamble}\n${body}\nexport {}\n`)
    blocks.push({ name, file, start, offset: preambleLines + inserted })
  }
}

writeFileSync(
  join(out, "tsconfig.json"),
  JSON.stringify({
    extends: relative(out, join(root, "tsconfig.json")),
    // verbatimModuleSyntax off: a shared preamble's types and values are imported alike.
    compilerOptions: {
      noEmit: true,
      noUnusedLocals: false,
      noUnusedParameters: false,
      verbatimModuleSyntax: false,
      types: ["node"]
    },
    include: ["*.ts"]
  })
)
let output = ""
try {
  execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", out], {
    encoding: "utf8",
    stdio: "pipe"
  })
} catch (error) {
  output = `${error.stdout ?? ""}${error.stderr ?? ""}`
}
// Map "file.ts(line,col)" back to "docs/X.md:line".
const byName = new Map(blocks.map((b) => [b.name, b]))
const report = output.replace(/(?:[^\s(]*\/)?([A-Za-z0-9_.-]+\.ts)\((\d+),(\d+)\)/g, (all, name, line, col) => {
  const block = byName.get(name)
  return block === undefined ? all : `${block.file}:${block.start + Number(line) - block.offset}:${col}`
})
const errors = (report.match(/error TS\d+/g) ?? []).length
for (const problem of misnamed) console.log(`${problem} (docs/Conventions.md, import names)`)
if (errors > 0 || misnamed.length > 0) {
  if (errors > 0) console.log(report.trim())
  console.log(
    `!! ${errors} type errors and ${misnamed.length} misnamed imports in ${blocks.length} TypeScript blocks of ${files.length} files (in ${out})`
  )
  process.exit(1)
}
rmSync(out, { recursive: true, force: true })
console.log(`== ${blocks.length} TypeScript blocks in ${files.length} files type-check`)
