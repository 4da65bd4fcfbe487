// The grammar of the flowtune command line: commands, options, their defaults, the help text and
// the parser. Plain JavaScript on purpose: `--help`, `--version` and a wrong flag are answered
// from here by node alone, before TypeScript (tsx), the tour or its chart library are loaded
// (tsx alone took 5.7 s to start on the loaded 2-core CI machine; node 0.7 s).
import { readFileSync } from "node:fs"

export const name = "flowtune"

export const version = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version

/** The tour's steps, in the guide's order (the tests check this is `Tour.stepIds`). */
export const steps = [
  "baseline",
  "breakdown",
  "parallel",
  "cache",
  "router",
  "batch",
  "stream",
  "pool",
  "benchmark",
  "tail"
]

const scale = {
  name: "scale",
  type: "number",
  default: 0.1,
  description: "Real seconds per guide second (0.1: a 2.5 s model call takes 250 ms)."
}
const stepsOption = {
  name: "steps",
  type: "steps",
  default: undefined,
  description: `Comma-separated steps to run, of: ${steps.join(",")}. Default: all.`
}

export const commands = {
  tour: {
    summary: "Walk the whole performance-tuning guide on real code, with a visual report.",
    args: undefined,
    options: [
      scale,
      stepsOption,
      { name: "out", type: "string", default: "reports", description: "Where the HTML report goes." },
      { name: "no-report", type: "boolean", default: false, description: "Do not write the HTML report." },
      { name: "json", type: "boolean", default: false, description: "Print the result as JSON instead of tables." },
      {
        name: "embedded",
        type: "boolean",
        default: false,
        description: "Ignore REDIS_URL, DATABASE_URL and TOUR_PASSWORD_DATABASE_URL: memory + SQLite only."
      }
    ]
  },
  bench: {
    summary: "Run benchmark suites (files in bench/; needs the repository's dev dependencies).",
    args: "[suite...]",
    options: [
      { name: "quick", type: "boolean", default: false, description: "Shorter runs, rougher figures." },
      { name: "json", type: "boolean", default: false, description: "One JSON line per suite." }
    ]
  },
  profile: {
    summary: "Run the tour under the V8 CPU profiler and write a .cpuprofile.",
    args: undefined,
    options: [
      scale,
      stepsOption,
      {
        name: "out",
        type: "string",
        default: "reports/flowtune.cpuprofile",
        description: "Where the .cpuprofile goes (open it in Chrome DevTools or speedscope)."
      },
      { name: "top", type: "integer", default: 15, description: "Functions to list." }
    ]
  }
}

/** Colour only for a terminal that wants it (https://no-color.org). */
export const useColor = (stream) =>
  Boolean(stream?.isTTY) && (process.env.NO_COLOR ?? "") === "" && process.env.TERM !== "dumb"

/** The command as the user typed it: `npm start --` when run by `npm start`. */
export const invokedAs = () => process.env.npm_lifecycle_event === "start" ? "npm start --" : name

const bold = (color, text) => color ? `\u001b[1m${text}\u001b[22m` : text

const optionLine = (option) => {
  const value = option.type === "boolean" ? "" : option.type === "steps" ? " <list>" : ` <${option.type}>`
  const dflt = option.default === undefined || option.default === false ? "" : ` (default: ${option.default})`
  return `  --${option.name}${value}`.padEnd(26) + ` ${option.description}${dflt}`
}

/** The help of one command, or of the whole command line. */
export const help = (command, color = false) => {
  const cmd = invokedAs()
  if (command === undefined) {
    return [
      `${bold(color, name)} ${version}: fast, cheap AI workflows on Effect.`,
      "",
      bold(color, "Usage"),
      `  ${cmd} <command> [options]`,
      "",
      bold(color, "Commands"),
      ...Object.entries(commands).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`),
      "",
      bold(color, "Options"),
      `${"  --help, -h".padEnd(26)} Show help (also: <command> --help)`,
      `${"  --version".padEnd(26)} Show the version`,
      "",
      `Run \`${cmd} <command> --help\` for a command's options.`
    ].join("\n")
  }
  const c = commands[command]
  return [
    `${bold(color, `${name} ${command}`)}: ${c.summary}`,
    "",
    bold(color, "Usage"),
    `  ${cmd === name ? `${name} ${command}` : cmd}${c.args ? ` ${c.args}` : ""} [options]`,
    "",
    bold(color, "Options"),
    ...c.options.map(optionLine),
    `${"  --help, -h".padEnd(26)} Show this help`
  ].join("\n")
}

const fail = (message, command) => ({
  _tag: "Error",
  message: `${name}: ${message} (see \`${invokedAs()}${command ? ` ${command}` : ""} --help\`)`
})

const convert = (option, raw, command) => {
  switch (option.type) {
    case "number": {
      const n = Number(raw)
      if (raw.trim() === "" || !Number.isFinite(n) || n <= 0) {
        return fail(`--${option.name} must be a number greater than 0, got "${raw}"`, command)
      }
      return { value: n }
    }
    case "integer": {
      const n = Number(raw)
      if (!Number.isInteger(n) || n < 1) {
        return fail(`--${option.name} must be a whole number >= 1, got "${raw}"`, command)
      }
      return { value: n }
    }
    case "steps": {
      const wanted = raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
      const unknown = wanted.filter((s) => !steps.includes(s))
      if (wanted.length === 0 || unknown.length > 0) {
        return fail(`unknown step "${unknown[0] ?? raw}" in --steps; steps: ${steps.join(",")}`, command)
      }
      return { value: wanted }
    }
    default:
      return { value: raw }
  }
}

/**
 * Parses the arguments after the program name. Returns `Help`, `Version`,
 * `Error` (one line) or `Run` with the command, its options (defaults
 * filled in, keyed by option name) and its positional arguments.
 */
export const parse = (argv) => {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    const topic = argv[0] === "help" ? argv[1] : undefined
    if (topic !== undefined && !(topic in commands)) return fail(`unknown command "${topic}"`)
    return { _tag: "Help", command: topic }
  }
  if (argv[0] === "--version" || argv[0] === "-v") return { _tag: "Version" }
  const [command, ...rest] = argv
  if (!(command in commands)) {
    return command.startsWith("-")
      ? fail(`unknown option ${command}: give a command first (${Object.keys(commands).join(", ")})`)
      : fail(`unknown command "${command}"; commands: ${Object.keys(commands).join(", ")}`)
  }
  const spec = commands[command]
  const options = Object.fromEntries(spec.options.map((o) => [o.name, o.default]))
  const args = []
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]
    if (arg === "--help" || arg === "-h") return { _tag: "Help", command }
    if (!arg.startsWith("-")) {
      if (spec.args === undefined) return fail(`"${command}" takes no argument, got "${arg}"`, command)
      args.push(arg)
      continue
    }
    const eq = arg.indexOf("=")
    const flag = (eq === -1 ? arg : arg.slice(0, eq)).replace(/^--?/, "")
    const option = spec.options.find((o) => o.name === flag)
    if (option === undefined || !arg.startsWith("--")) return fail(`unknown option ${arg} for "${command}"`, command)
    if (option.type === "boolean") {
      if (eq !== -1) return fail(`--${option.name} takes no value`, command)
      options[option.name] = true
      continue
    }
    const raw = eq !== -1 ? arg.slice(eq + 1) : rest[++i]
    if (raw === undefined || (eq === -1 && raw.startsWith("--"))) {
      return fail(`--${option.name} needs a value`, command)
    }
    const converted = convert(option, raw, command)
    if (converted._tag === "Error") return converted
    options[option.name] = converted.value
  }
  return { _tag: "Run", command, options, args }
}

/**
 * Answers what needs no TypeScript (help, version, a wrong flag) and
 * returns the parsed command to run, or undefined when it was answered.
 */
export const answer = (argv) => {
  const parsed = parse(argv)
  switch (parsed._tag) {
    case "Help":
      process.stdout.write(`${help(parsed.command, useColor(process.stdout))}\n`)
      return undefined
    case "Version":
      process.stdout.write(`${version}\n`)
      return undefined
    case "Error":
      process.stderr.write(`${parsed.message}\n`)
      process.exitCode = 2
      return undefined
    case "Run":
      return parsed
  }
}
