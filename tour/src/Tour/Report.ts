/**
 * The tour's HTML report: one self-contained file (inline CSS and SVG, no
 * script, no network), with the claims of every step, a Gantt chart of the
 * spans of each run and a latency chart. Charts are drawn by Apache ECharts'
 * server-side SVG renderer.
 *
 * @since 0.1.0
 */
import * as echarts from "echarts"
import type * as Tour from "../Tour.js"
import { counted, formatRatio, formatValue, verdict } from "./Format.js"

/**
 * The colour of each kind of bar.
 *
 * @since 0.1.0
 * @category charts
 */
export const colors: Record<Tour.BarKind, string> = {
  run: "#9aa5b1",
  group: "#b8c4d6",
  step: "#5470c6",
  hit: "#3ba272",
  miss: "#ee6666",
  io: "#fac858"
}

const kindOrder: ReadonlyArray<Tour.BarKind> = ["run", "group", "step", "hit", "miss", "io"]

const escape = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const renderSvg = (width: number, height: number, option: echarts.EChartsCoreOption): string => {
  const chart = echarts.init(null, null, { renderer: "svg", ssr: true, width, height })
  try {
    chart.setOption({ animation: false, ...option })
    return chart.renderToSVGString()
  } finally {
    chart.dispose()
  }
}

const seconds = (ms: number) => Number((ms / 1000).toFixed(4))

// A round axis end (1, 1.2, 1.5, 2, 2.5, ... x 10^k) at or above `x`, so the last tick is labelled cleanly.
const niceCeil = (x: number): number => {
  const magnitude = 10 ** Math.floor(Math.log10(x))
  const step = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 10].find((m) => m * magnitude >= x) ?? 10
  return step * magnitude
}

/**
 * Width of the charts, in CSS pixels: the page reads at 1400 px.
 *
 * @since 0.1.0
 * @category charts
 */
export const chartWidth = 1100

/**
 * Above this many rows a Gantt chart is shown as its summary (one row per
 * span name), with the full chart behind a toggle.
 *
 * @since 0.1.0
 * @category charts
 */
export const maxGanttRows = 30

/**
 * A long timeline folded to one row per span name: every bar of that name on
 * its row (overlapping bars show as one darker band).
 *
 * @since 0.1.0
 * @category charts
 */
export const summarize = (timeline: Tour.Timeline): Tour.Timeline => {
  const rowOf = new Map<string, number>()
  for (const bar of [...timeline.bars].sort((a, b) => a.row - b.row)) {
    if (!rowOf.has(bar.name)) rowOf.set(bar.name, rowOf.size)
  }
  return {
    label: timeline.label,
    bars: timeline.bars.map((b) => ({ ...b, row: rowOf.get(b.name)! })),
    rows: rowOf.size,
    durationMs: timeline.durationMs
  }
}

// A cache hit takes microseconds: drawn at least this wide so that it can be seen.
const minHitWidth = 4

// The server-side renderer under-measures text (with `containLabel`, long category names came out cut in
// Chromium), so a category axis' label column is sized from its longest label.
const labelColumn = (labels: ReadonlyArray<string>, max: number): number =>
  Math.min(max, 16 + 6.3 * Math.max(0, ...labels.map((l) => l.length)))

/**
 * A Gantt chart of one run: one bar per span, each row holding spans of one
 * name (labelled with it, and a count when the row was summarized).
 *
 * @since 0.1.0
 * @category charts
 */
export const ganttSvg = (timeline: Tour.Timeline, xMaxMs: number, options?: { readonly counts?: boolean }): string => {
  const rows = Math.max(1, timeline.rows)
  const rowHeight = rows > 60 ? 9 : rows > 15 ? 14 : 22
  const height = 70 + rows * rowHeight
  const rowNames = Array.from({ length: rows }, (_, i) => {
    const inRow = timeline.bars.filter((b) => b.row === i)
    const name = inRow[0]?.name ?? ""
    const short = name.length > 34 ? `${name.slice(0, 33)}…` : name
    return options?.counts && inRow.length > 1 ? `${short} ×${inRow.length}` : short
  })
  const data = timeline.bars.map((b) => ({
    value: [b.row, seconds(b.startMs), seconds(b.endMs), kindOrder.indexOf(b.kind)],
    name: b.name
  }))
  return renderSvg(chartWidth, height, {
    grid: { left: labelColumn(rowNames, 300), right: 24, top: 14, bottom: 40 },
    xAxis: {
      type: "value",
      min: 0,
      max: niceCeil(seconds(Math.max(xMaxMs, 1))),
      name: "guide seconds",
      nameLocation: "middle",
      nameGap: 24,
      splitLine: { lineStyle: { color: "#eceff3" } }
    },
    yAxis: {
      type: "category",
      inverse: true,
      data: rowNames,
      axisTick: { show: false },
      axisLabel: { show: rows <= 60, fontSize: 11, interval: 0 }
    },
    series: [{
      type: "custom",
      encode: { x: [1, 2], y: 0 },
      data,
      // `any`: echarts types these callbacks loosely per series kind; only `api.value`/`api.coord` are used.
      renderItem: (params: any, api: any) => {
        const row = api.value(0)
        const start = api.coord([api.value(1), row])
        const end = api.coord([api.value(2), row])
        const height = api.size([0, 1])[1] * 0.7
        const kind = kindOrder[api.value(3)] ?? "step"
        const width = Math.max(kind === "hit" ? minHitWidth : 1.5, end[0] - start[0])
        const name = timeline.bars[params.dataIndex]?.name ?? ""
        const showLabel = !options?.counts && width > name.length * 6.2 + 8 && height >= 12
        return {
          type: "group",
          children: [
            {
              type: "rect",
              shape: { x: start[0], y: start[1] - height / 2, width, height, r: 1 },
              style: {
                fill: colors[kind],
                opacity: options?.counts ? 0.55 : 1,
                stroke: kind === "hit" ? "#1d6b47" : "#ffffff",
                lineWidth: 0.5
              }
            },
            ...(showLabel
              ? [{
                type: "text",
                style: {
                  text: name,
                  x: start[0] + 4,
                  y: start[1],
                  verticalAlign: "middle",
                  fill: "#ffffff",
                  font: "11px sans-serif"
                }
              }]
              : [])
          ]
        }
      }
    }]
  })
}

const binEdges = (values: ReadonlyArray<number>, bins: number): Array<number> => {
  const min = Math.min(...values)
  const max = Math.max(...values)
  const width = max > min ? (max - min) / bins : 1
  return Array.from({ length: bins + 1 }, (_, i) => min + i * width)
}

/**
 * The latency chart of a step: a histogram when the runs have many samples,
 * bars side by side otherwise.
 *
 * @since 0.1.0
 * @category charts
 */
export const distributionSvg = (distributions: ReadonlyArray<Tour.Distribution>): string => {
  // Red and green are the cache's miss and hit: the other series stay clear of them.
  const palette = ["#5470c6", "#fc8452", "#9a60b4", "#73c0de", "#2f4554", "#fac858"]
  const many = distributions.every((d) => d.values.length >= 5)
  if (many) {
    const all = distributions.flatMap((d) => d.values)
    const edges = binEdges(all, 20)
    const labels = edges.slice(0, -1).map((e) => formatValue(e, "ms"))
    const series = distributions.map((d, i) => {
      const counts = Array.from({ length: edges.length - 1 }, () => 0)
      for (const v of d.values) {
        const at = edges.findIndex((e, j) => j < edges.length - 1 && v >= e && v < edges[j + 1]!)
        counts[at === -1 ? counts.length - 1 : at]! += 1
      }
      return { type: "bar", name: d.label, data: counts, barGap: "0%", itemStyle: { color: palette[i % 6] } }
    })
    return renderSvg(chartWidth, 260, {
      legend: { top: 0, right: 10 },
      grid: { left: 50, right: 20, top: 40, bottom: 48, containLabel: true },
      xAxis: { type: "category", data: labels, name: "latency (guide time)", nameLocation: "middle", nameGap: 30 },
      yAxis: { type: "value", name: "requests" },
      series
    })
  }
  const single = distributions.every((d) => d.values.length === 1)
  if (single) {
    return renderSvg(chartWidth, 60 + distributions.length * 28, {
      grid: { left: labelColumn(distributions.map((d) => d.label), 300), right: 70, top: 10, bottom: 30 },
      xAxis: { type: "value", name: "guide ms", nameLocation: "middle", nameGap: 22 },
      yAxis: { type: "category", inverse: true, data: distributions.map((d) => d.label) },
      series: [{
        type: "bar",
        data: distributions.map((d, i) => ({ value: d.values[0] ?? 0, itemStyle: { color: palette[i % 6] } })),
        label: { show: true, position: "right", formatter: (p: { value: number }) => formatValue(p.value, "ms") }
      }]
    })
  }
  const length = Math.max(...distributions.map((d) => d.values.length))
  return renderSvg(chartWidth, 260, {
    legend: { top: 0, right: 10 },
    grid: { left: 12, right: 20, top: 40, bottom: 30, containLabel: true },
    xAxis: {
      type: "category",
      data: Array.from({ length }, (_, i) => distributions.find((d) => d.categories)?.categories?.[i] ?? `run ${i + 1}`)
    },
    yAxis: { type: "value", name: "guide ms" },
    series: distributions.map((d, i) => ({
      type: "bar",
      name: d.label,
      data: [...d.values],
      itemStyle: { color: palette[i % 6] }
    }))
  })
}

/**
 * The colours of a claim in the summary chart: not the cache's hit and miss.
 *
 * @since 0.1.0
 * @category charts
 */
export const claimColors = { held: "#5470c6", missed: "#c2410c" }

/**
 * The summary chart: measured / guide for every claim held to an allowance
 * (1 = the guide exactly). The axis starts at 0, so a 5% difference looks
 * like 5%; a ratio beyond the axis is drawn to its end and labelled.
 *
 * @since 0.1.0
 * @category charts
 */
export const summarySvg = (result: Tour.TourResult): string => {
  const claims = result.steps.flatMap((s) =>
    s.claims.filter((c) => c.check === "approx" && Number.isFinite(c.ratio)).map((c) => ({ step: s, claim: c }))
  )
  const max = Math.min(3, Math.max(1.5, niceCeil(Math.max(...claims.map(({ claim }) => claim.ratio), 1))))
  const labels = claims.map(({ claim, step }) => `${step.title.split(". ")[1] ?? step.title}: ${claim.label}`)
  return renderSvg(chartWidth, 70 + claims.length * 16, {
    grid: { left: labelColumn(labels, 560), right: 60, top: 10, bottom: 36 },
    xAxis: {
      type: "value",
      min: 0,
      max,
      interval: max <= 1.5 ? 0.25 : 0.5,
      name: "measured / guide",
      nameLocation: "middle",
      nameGap: 24
    },
    yAxis: {
      type: "category",
      inverse: true,
      axisLabel: { fontSize: 11, interval: 0 },
      data: labels
    },
    series: [{
      type: "bar",
      barMaxWidth: 10,
      data: claims.map(({ claim }) => ({
        value: Math.min(max, claim.ratio),
        itemStyle: { color: claim.ok ? claimColors.held : claimColors.missed },
        label: claim.ratio > max
          ? { show: true, position: "right", formatter: `${claim.ratio.toFixed(2)} →` }
          : undefined
      })),
      markLine: {
        silent: true,
        symbol: "none",
        label: { show: false },
        data: [{ xAxis: 1 }],
        lineStyle: { color: "#333" }
      }
    }]
  })
}

const claimsTable = (claims: ReadonlyArray<Tour.Claim>): string => {
  const rows = claims.map((c) =>
    `<tr class="${counted(c) ? (c.ok ? "ok" : "bad") : "info"}"><td>${escape(c.label)}</td><td>${
      escape(formatValue(c.guide, c.unit))
    }</td><td>${escape(formatValue(c.measured, c.unit))}</td><td>${escape(formatRatio(c))}</td><td>${
      escape(verdict(c))
    }</td></tr>`
  )
  return `<table class="claims"><thead><tr><th>claim</th><th>guide</th><th>measured</th><th>ratio</th><th>within?</th></tr></thead><tbody>${
    rows.join("")
  }</tbody></table>`
}

const assumptionsList = (assumptions: ReadonlyArray<Tour.Assumption>): string =>
  assumptions.length === 0 ? "" : `<div class="assumptions"><b>Inputs</b> (configured, not measured; no pass/fail):
<ul>${assumptions.map((a) => `<li>${escape(a.label)}: <code>${escape(a.value)}</code></li>`).join("")}</ul></div>`

const legend = kindOrder.map((k) =>
  `<span class="key"><i style="background:${colors[k]}"></i>${
    {
      run: "run",
      group: "composite (sequence, parallel, ...)",
      step: "step",
      hit: "cache hit",
      miss: "cache miss (computed)",
      io: "I/O (SQL, Redis, batch call)"
    }[k]
  }</span>`
).join("")

const stepSection = (step: Tour.StepResult): string => {
  const xMax = Math.max(1, ...step.timelines.map((t) => t.durationMs))
  const gantts = step.timelines.map((t) => {
    const caption = `${escape(t.label)} — ${escape(formatValue(t.durationMs, "ms"))}, ${t.bars.length} spans`
    if (t.rows <= maxGanttRows) {
      return `<figure class="chart gantt" data-kind="gantt" data-bars="${t.bars.length}" data-label="${
        escape(t.label)
      }">
<figcaption>${caption}</figcaption>
${ganttSvg(t, xMax)}</figure>`
    }
    const summary = summarize(t)
    return `<figure class="chart gantt-summary" data-kind="gantt-summary" data-label="${escape(t.label)}">
<figcaption>${caption} in ${t.rows} rows, folded to one row per span name</figcaption>
${ganttSvg(summary, xMax, { counts: true })}
<details><summary>all ${t.rows} rows</summary>
<figure class="chart gantt" data-kind="gantt" data-bars="${t.bars.length}" data-label="${escape(t.label)}">
${ganttSvg(t, xMax)}</figure></details></figure>`
  }).join("\n")
  const distribution = step.distributions.length === 0 ?
    "" :
    `<figure class="chart distribution" data-kind="distribution">
<figcaption>latency</figcaption>
${distributionSvg(step.distributions)}</figure>`
  const notes = step.notes.length === 0
    ? ""
    : `<ul class="notes">${step.notes.map((n) => `<li><code>${escape(n)}</code></li>`).join("")}</ul>`
  return `<section class="step" id="step-${step.id}" data-step="${step.id}">
<h2>${escape(step.title)} <small>${escape(step.section)}</small></h2>
<p class="headline">${escape(step.headline)}</p>
${claimsTable(step.claims)}
${assumptionsList(step.assumptions)}
${notes}
<div class="legend">${legend}</div>
${gantts}
${distribution}
</section>`
}

const css = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2937;margin:0;background:#f7f8fa}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:8px 0}h2{font-size:19px;margin:0 0 6px}h2 small{font-weight:400;color:#6b7280;font-size:13px;margin-left:8px}
section{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:16px 18px;margin:18px 0}
.headline{font-weight:600;margin:4px 0 10px}
table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0}
th,td{text-align:right;padding:3px 8px;border-bottom:1px solid #eef0f3}th:first-child,td:first-child{text-align:left}
tr.ok td:last-child{color:#15803d}tr.bad td:last-child{color:#b91c1c;font-weight:600}tr.info td{color:#6b7280}
figure{margin:10px 0}figcaption{font-size:12px;color:#4b5563;margin-bottom:2px}
.legend{font-size:12px;color:#4b5563;margin-top:8px}.key{margin-right:14px}.key i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
.notes{font-size:12px;margin:6px 0;padding-left:18px}.notes code{white-space:pre-wrap}
.meta{color:#6b7280;font-size:13px}
details>summary{cursor:pointer;font-size:12px;color:#374151;margin:4px 0}
.assumptions{font-size:12px;color:#4b5563;margin:6px 0}.assumptions ul{margin:2px 0;padding-left:18px}
`

/**
 * The report as one HTML document.
 *
 * @since 0.1.0
 * @category rendering
 */
export const render = (result: Tour.TourResult): string => {
  const checked = result.steps.flatMap((s) => s.claims.filter(counted))
  const held = checked.filter((c) => c.ok).length
  const summaryRows = result.steps.map((s) => {
    const c = s.claims.filter(counted)
    return `<tr><td><a href="#step-${s.id}">${escape(s.title)}</a></td><td style="text-align:left">${
      escape(s.headline)
    }</td><td>${c.filter((x) => x.ok).length}/${c.length}</td></tr>`
  }).join("")
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>flowtune tour — ${escape(new Date(result.startedAt).toISOString())}</title>
<style>${css}</style></head>
<body><main>
<h1>flowtune: the performance-tuning guide, measured</h1>
<p class="meta">${held} of ${checked.length} checked claims held · scale ${result.scale} (1 guide second = ${
    (result.scale * 1000).toFixed(0)
  } ms of real time) · ${(result.realMs / 1000).toFixed(1)} s · ${
    escape(new Date(result.startedAt).toISOString())
  }. All durations are in guide time (real time divided by the scale).</p>
<section id="summary"><h2>Summary</h2>
<table><thead><tr><th>step</th><th style="text-align:left">result</th><th>claims held</th></tr></thead><tbody>${summaryRows}</tbody></table>
<figure class="chart summary" data-kind="summary"><figcaption>measured / guide, per claim held to an allowance (1 = the guide's figure; bounds, real-time rows and unchecked rows are in the tables)</figcaption>
${summarySvg(result)}</figure>
</section>
${result.steps.map(stepSection).join("\n")}
</main></body></html>
`
}
