#!/usr/bin/env node
// Type-checks every TypeScript block of README.md and docs/*.md against the library's sources.
//
// Each ```ts block becomes its own module under .flowtune/docs-check/ and the lot is compiled with the
// repository's tsconfig (so `flowtune/<Module>` resolves to src/). Conventions in the Markdown:
//   ```ts shape            a shape or a signature, not code: skipped
//   <!-- ts-preamble: declare const texts: ReadonlyArray<string> -->
//                          just before a block (any number of lines): code prepended to that block only
//   <!-- ts-preamble-file: ... -->
//                          anywhere in the file: prepended to every block of that file that follows
// A block without any `import` gets the default preamble: the Effect modules and every flowtune module by name.
//
//   node scripts/check-docs.mjs [files...]
import { execFileSync } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { basename, dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const out = join(root, ".flowtune", "docs-check")
const files = process.argv.length > 2
  ? process.argv.slice(2)
  : ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => join("docs", f))]

const modules = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).exports
const flowtuneNames = Object.keys(modules)
  .filter((k) => k.startsWith("./") && !k.includes("*") && k !== "./package.json" && !k.slice(2).includes("/"))
  .map((k) => k.slice(2))
const defaultPreamble = [
  `import { Chunk, Config, Context, Data, Duration, Effect, Exit, Fiber, Layer, Option, Redacted, Ref, Schedule, Schema, Scope, Stream } from "effect"`,
  `import { ${flowtuneNames.join(", ")} } from "flowtune"`
].join("\n")

rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
const blocks = []
for (const file of files) {
  const lines = readFileSync(join(root, file), "utf8").split("\n")
  let filePreamble = ""
  let pending = []
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    const comment = /^<!--\s*ts-preamble(-file)?:\s*([\s\S]*?)\s*(-->)?$/.exec(line)
    if (comment !== null) {
      const body = [comment[2]]
      while (comment[3] === undefined && i + 1 < lines.length && !lines[i].includes("-->")) {
        i++
        body.push(lines[i].replace(/-->\s*$/, ""))
        if (lines[i].includes("-->")) break
      }
      if (comment[1] !== undefined) filePreamble += body.join("\n") + "\n"
      else pending.push(body.join("\n"))
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
    const body = code.join("\n")
    const hasImports = /^import\s/m.test(body)
    const preamble = [hasImports ? "" : defaultPreamble, filePreamble, ...pending].filter((s) => s !== "").join("\n")
    pending = []
    const name = `${basename(file, ".md")}-${start}.ts`
    const preambleLines = preamble === "" ? 0 : preamble.split("\n").length
    // `export {}` makes each block its own module; the preamble's lines are subtracted in the report below.
    writeFileSync(join(out, name), `${preamble}\n${body}\nexport {}\n`)
    blocks.push({ name, file, start, offset: preambleLines + 1 })
  }
}

writeFileSync(
  join(out, "tsconfig.json"),
  JSON.stringify({
    extends: relative(out, join(root, "tsconfig.json")),
    compilerOptions: { noEmit: true, noUnusedLocals: false, noUnusedParameters: false, types: ["node"] },
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
  return block === undefined ? all : `${block.file}:${block.start + Number(line) - block.offset - 1}:${col}`
})
const errors = (report.match(/error TS\d+/g) ?? []).length
if (errors > 0) {
  console.log(report.trim())
  console.log(`!! ${errors} type errors in ${blocks.length} TypeScript blocks of ${files.length} files`)
  process.exit(1)
}
console.log(`== ${blocks.length} TypeScript blocks in ${files.length} files type-check`)
