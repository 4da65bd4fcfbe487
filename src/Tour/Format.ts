/**
 * The tour's text tables.
 *
 * @since 0.1.0
 */
import type * as Tour from "../Tour.js"

/**
 * @since 0.1.0
 * @category formatting
 */
export const formatValue = (value: number, unit: Tour.Unit): string => {
  if (!Number.isFinite(value)) return value > 0 ? "∞" : "-"
  switch (unit) {
    case "ms":
      return value >= 1000 ?
        `${(value / 1000).toFixed(2)} s` :
        value >= 10 ?
        `${value.toFixed(0)} ms` :
        `${value >= 0.1 ? value.toFixed(2) : value.toFixed(3)} ms`
    case "s":
      return `${value.toFixed(2)} s`
    case "x":
      return value >= 1000 ? `${Math.round(value).toLocaleString("en-US")}x` : `${value.toFixed(2)}x`
    case "usd":
      return value < 0.01 && value !== 0 ? `$${value.toFixed(5)}` : `$${value.toFixed(2)}`
    case "%":
      return `${value.toFixed(1)}%`
    case "req/s":
      return `${value.toFixed(2)} req/s`
    case "count":
      return Number.isInteger(value) ? String(value) : value.toFixed(2)
  }
}

const verdict = (c: Tour.Claim): string => {
  const pct = `${Math.round(c.tolerance * 100)}%`
  switch (c.check) {
    case "approx":
      return c.ok
        ? Math.abs(c.ratio - 1) <= c.tolerance ? `yes (±${pct})` : `yes (±${formatValue(c.slack, c.unit)} timer)`
        : `NO (±${pct})`
    case "at-least":
      return c.ok ? "yes (at least)" : "NO (at least)"
    case "at-most":
      return c.ok ? "yes (at most)" : "NO (at most)"
    case "info":
      return "info"
  }
}

const formatRatio = (c: Tour.Claim): string =>
  !Number.isFinite(c.ratio) ? "∞" : c.ratio >= 100 ? `${Math.round(c.ratio)}` : c.ratio.toFixed(3)

/**
 * An aligned plain-text table.
 *
 * @since 0.1.0
 * @category formatting
 */
export const table = (
  header: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  align: ReadonlyArray<"l" | "r"> = []
): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => align[i] === "r" ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].map((l) => `  ${l}`).join(
    "\n"
  )
}

/**
 * @since 0.1.0
 * @category formatting
 */
export const claimsTable = (claims: ReadonlyArray<Tour.Claim>): string =>
  table(
    ["claim", "guide", "measured", "ratio", "within?"],
    claims.map((c) => [
      c.label,
      formatValue(c.guide, c.unit),
      formatValue(c.measured, c.unit),
      formatRatio(c),
      verdict(c)
    ]),
    ["l", "r", "r", "r", "l"]
  )

/**
 * @since 0.1.0
 * @category formatting
 */
export const formatStep = (step: Tour.StepResult): string => {
  const title = `${step.title} (guide: ${step.section})`
  return [
    "",
    `── ${title} ${"─".repeat(Math.max(3, 76 - title.length))}`,
    `  ${step.headline}`,
    "",
    claimsTable(step.claims),
    ...(step.notes.length > 0 ? ["", ...step.notes.map((n) => `  · ${n}`)] : [])
  ].join("\n")
}

/**
 * @since 0.1.0
 * @category formatting
 */
export const formatSummary = (result: Tour.TourResult): string => {
  const rows = result.steps.map((s) => {
    const checked = s.claims.filter((c) => c.check !== "info")
    const held = checked.filter((c) => c.ok).length
    return [s.title, s.headline, `${held}/${checked.length}`, `${(s.realMs / 1000).toFixed(1)} s`]
  })
  const all = result.steps.flatMap((s) => s.claims.filter((c) => c.check !== "info"))
  const held = all.filter((c) => c.ok).length
  return [
    "",
    `── Summary ${"─".repeat(70)}`,
    table(["step", "result", "claims held", "real time"], rows, ["l", "l", "r", "r"]),
    "",
    `  ${held} of ${all.length} checked claims held; scale ${result.scale} (1 guide second = ${
      (result.scale * 1000).toFixed(0)
    } ms); ${(result.realMs / 1000).toFixed(1)} s in all.`
  ].join("\n")
}
