import { describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as Cli from "../bin/cli.js"
import * as Tour from "../src/Tour.js"

const run = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const start = performance.now()
  // Pipes, not a terminal: what CI and `| less` see.
  const out = spawnSync(process.execPath, [fileURLToPath(new URL("../bin/flowtune.js", import.meta.url)), ...args], {
    encoding: "utf8",
    env: { ...process.env, npm_lifecycle_event: "", ...env },
    timeout: 30_000
  })
  return { ...out, ms: performance.now() - start }
}

describe("flowtune command line", () => {
  it("answers --help and --version from node alone, about as fast as node starts", () => {
    const baseline = spawnSync(process.execPath, ["-e", ""])
    expect(baseline.status).toBe(0)
    const nodeStart = performance.now()
    spawnSync(process.execPath, ["-e", ""])
    const nodeMs = performance.now() - nodeStart
    const help = run(["--help"])
    expect(help.status).toBe(0)
    expect(help.stdout).toContain("flowtune <command> [options]")
    expect(help.stdout).toMatch(/tour\s+Walk the whole performance-tuning guide/)
    // Loading tsx and the tour takes seconds; the help takes one node start (+ reading package.json).
    expect(help.ms).toBeLessThan(nodeMs + 1000)
    const version = run(["--version"])
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
    expect(version.ms).toBeLessThan(nodeMs + 1000)
  }, 60_000)

  it("shows each option's default and the command as typed", () => {
    const tour = run(["tour", "--help"])
    expect(tour.status).toBe(0)
    expect(tour.stdout).toContain("flowtune tour [options]")
    expect(tour.stdout).toMatch(/--scale <number>.*\(default: 0\.1\)/)
    expect(tour.stdout).toMatch(/--out <string>.*\(default: reports\)/)
    expect(run(["profile", "--help"]).stdout).toMatch(/--top <integer>.*\(default: 15\)/)
    // Run by `npm start`, the help says so.
    expect(run(["tour", "--help"], { npm_lifecycle_event: "start" }).stdout).toContain("npm start -- [options]")
  }, 60_000)

  it("prints no ANSI colour when the output is not a terminal or NO_COLOR is set", () => {
    expect(run(["--help"]).stdout).not.toContain("\u001b[")
    expect(run(["tour", "--help"], { NO_COLOR: "1" }).stdout).not.toContain("\u001b[")
    const saved = process.env["NO_COLOR"]
    try {
      delete process.env["NO_COLOR"]
      expect(Cli.useColor({ isTTY: true })).toBe(process.env["TERM"] !== "dumb")
      process.env["NO_COLOR"] = "1"
      expect(Cli.useColor({ isTTY: true })).toBe(false)
    } finally {
      if (saved === undefined) delete process.env["NO_COLOR"]
      else process.env["NO_COLOR"] = saved
    }
    expect(Cli.useColor({ isTTY: false })).toBe(false)
    expect(Cli.help("tour", false)).not.toContain("\u001b[")
  }, 60_000)

  it("refuses an unknown or malformed flag with one clear line and exit code 2", () => {
    for (
      const [args, message] of [
        [["tour", "--quik"], "unknown option --quik for \"tour\""],
        [["tour", "--scale", "abc"], "--scale must be a number greater than 0, got \"abc\""],
        [["tour", "--scale", "-1"], "--scale must be a number greater than 0"],
        [["tour", "--steps", "cache,nope"], "unknown step \"nope\""],
        [["tour", "--out"], "--out needs a value"],
        [["nope"], "unknown command \"nope\""]
      ] as const
    ) {
      const out = run(args)
      expect(out.status, args.join(" ")).toBe(2)
      expect(out.stdout).toBe("")
      expect(out.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1)
      expect(out.stderr).toContain(message)
    }
  }, 60_000)

  it("parses what the tour runs with", () => {
    expect(Cli.steps).toEqual([...Tour.stepIds])
    expect(Cli.parse(["tour", "--scale=0.2", "--steps", "cache,router", "--no-report"])).toEqual({
      _tag: "Run",
      command: "tour",
      options: {
        scale: 0.2,
        steps: ["cache", "router"],
        out: "reports",
        "no-report": true,
        json: false,
        embedded: false
      },
      args: []
    })
    expect(Cli.parse(["bench", "primitive", "--quick"])).toMatchObject({
      args: ["primitive"],
      options: { quick: true }
    })
    expect(Cli.parse(["tour", "--json=yes"])).toMatchObject({ _tag: "Error" })
  })
})
