/**
 * The tour's text tables.
 *
 * @since 0.1.0
 */
import type * as Tour from "../Tour.js"

/**
 * Whether a claim counts in the totals: checked, and measurable in this run.
 *
 * @since 0.1.0
 * @category formatting
 */
export const counted = (c: Tour.Claim): boolean => c.check !== "info" && c.check !== "n/a"

/**
 * @since 0.1.0
 * @category formatting
 */
export const formatValue = (value: number, unit: Tour.Unit): string => {
  if (Number.isNaN(value)) return "-"
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

/**
 * The allowance a claim is held to, as the tables print it: "±5%", or
 * "±5% or ±20 ms" when it has an absolute allowance too.
 *
 * @since 0.1.0
 * @category formatting
 */
export const allowance = (c: Tour.Claim): string => {
  const pct = `±${Math.round(c.tolerance * 100)}%`
  return c.slack > 0 ? `${pct} or ±${formatValue(c.slack, c.unit)}` : pct
}

/**
 * Whether a claim held, as the tables print it.
 *
 * @since 0.1.0
 * @category formatting
 */
export const verdict = (c: Tour.Claim): string => {
  switch (c.check) {
    case "approx":
      return `${c.ok ? "yes" : "NO"} (${allowance(c)})`
    case "at-least":
      return c.ok ? "yes (at least)" : "NO (at least)"
    case "at-most":
      return c.ok ? "yes (at most)" : "NO (at most)"
    case "info":
      return "not checked"
    case "n/a":
      return "n/a (real time)"
  }
}

/**
 * measured / guide, as the tables print it.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatRatio = (c: Tour.Claim): string =>
  Number.isNaN(c.ratio)
    ? "-"
    : !Number.isFinite(c.ratio)
    ? "∞"
    : c.ratio >= 100
    ? `${Math.round(c.ratio)}`
    : c.ratio.toFixed(3)

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
    ...(step.assumptions.length > 0
      ? ["", "  inputs (configured, not measured):", ...step.assumptions.map((a) => `    ${a.label}: ${a.value}`)]
      : []),
    ...(step.notes.length > 0 ? ["", ...step.notes.map((n) => `  · ${n}`)] : [])
  ].join("\n")
}

/**
 * @since 0.1.0
 * @category formatting
 */
export const formatSummary = (result: Tour.TourResult): string => {
  const rows = result.steps.map((s) => {
    const checked = s.claims.filter(counted)
    const held = checked.filter((c) => c.ok).length
    return [s.title, s.headline, `${held}/${checked.length}`, `${(s.realMs / 1000).toFixed(1)} s`]
  })
  const all = result.steps.flatMap((s) => s.claims.filter(counted))
  const notApplicable = result.steps.flatMap((s) => s.claims.filter((c) => c.check === "n/a")).length
  const held = all.filter((c) => c.ok).length
  return [
    "",
    `── Summary ${"─".repeat(70)}`,
    table(["step", "result", "claims held", "real time"], rows, ["l", "l", "r", "r"]),
    "",
    `  ${held} of ${all.length} checked claims held${
      notApplicable > 0 ? ` (${notApplicable} real-time rows n/a in virtual time)` : ""
    }; scale ${result.scale} (1 guide second = ${(result.scale * 1000).toFixed(0)} ms); ${
      (result.realMs / 1000).toFixed(1)
    } s in all.`,
    "  Durations are guide time (real time divided by the scale), except rows marked (real ms)."
  ].join("\n")
}
