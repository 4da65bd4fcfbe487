#!/usr/bin/env node
// `flowtune`: help, the version and a wrong flag are answered here by node alone (bin/cli.js);
// a command runs the TypeScript CLI (src/bin.ts) through tsx, so `npm start` works without a build step.
import { spawn } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { answer } from "./cli.js"

const run = answer(process.argv.slice(2))
if (run !== undefined) {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..")
  const tsx = import.meta.resolve("tsx")
  // `--conditions=@flowtune/source`: `flowtune/<Module>` resolves to the library's sources, no build needed.
  const args = ["--import", tsx, "--conditions=@flowtune/source", join(root, "src", "bin.ts"), ...process.argv.slice(2)]
  const child = spawn(process.execPath, args, { stdio: "inherit" })
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal))
  child.on("exit", (code, signal) => {
    if (signal) process.kill(process.pid, signal)
    else process.exit(code ?? 1)
  })
}
