import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { pathToFileURL } from "node:url"
import { type Browser, chromium } from "playwright-core"
import * as Tour from "../src/Tour.js"
import * as Report from "../src/Tour/Report.js"

const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

const runVirtual = (options: Tour.Options) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Tour.run({ scale: 1, embedded: true, ...options }))
    for (let i = 0; i < 100_000; i++) {
      if (Option.isSome(yield* Fiber.poll(fiber))) break
      yield* TestClock.adjust("100 millis")
    }
    return yield* Fiber.join(fiber)
  })

const withBrowser = <A>(f: (browser: Browser) => Promise<A>) =>
  Effect.acquireUseRelease(
    Effect.promise(() => chromium.launch({ executablePath: "/usr/bin/chromium", args: chromiumArgs })),
    (browser) => Effect.promise(() => f(browser)),
    (browser) => Effect.promise(() => browser.close())
  )

describe("Tour report", () => {
  it.effect(
    "renders in Chromium at 1400 px: bars per span, labels whole, axis from 0 through 1, long Gantts folded",
    () =>
      Effect.gen(function*() {
        const result = yield* runVirtual({
          steps: ["baseline", "parallel", "cache", "batch", "stream"],
          reportDir: "reports/test"
        })
        expect(result.reportPath).toBeDefined()
        const path = result.reportPath!
        const spans = result.steps.flatMap((s) => s.timelines.map((t) => t.bars.length))
        const checks = yield* withBrowser(async (browser) => {
          const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
          const errors: Array<string> = []
          page.on("pageerror", (e) => errors.push(String(e)))
          await page.goto(pathToFileURL(path).href)
          const folded = await page.$$eval(
            "details",
            (nodes) => nodes.filter((d) => !(d as HTMLDetailsElement).open).length
          )
          // The toggles open the full charts.
          await page.$$eval("details", (nodes) => nodes.forEach((d) => ((d as HTMLDetailsElement).open = true)))
          const figures = await page.$$eval("figure.chart", (nodes) =>
            nodes.map((figure) => {
              const svg = figure.querySelector(":scope > svg")
              const box = svg?.getBoundingClientRect()
              const bars = new Set(
                Array.from(svg?.querySelectorAll("[ecmeta_series_index=\"0\"][ecmeta_data_index]") ?? []).map((el) =>
                  el.getAttribute("ecmeta_data_index")
                )
              )
              // A label sticking out of its chart on the left is cut off.
              const cut = Array.from(svg?.querySelectorAll("text") ?? []).filter((t) => {
                const r = t.getBoundingClientRect()
                return box !== undefined && r.width > 0 && (r.left < box.left - 0.5 || r.right > box.right + 0.5)
              }).map((t) => t.textContent)
              return {
                kind: figure.getAttribute("data-kind") ?? "",
                label: figure.getAttribute("data-label") ?? "",
                expectedBars: Number(figure.getAttribute("data-bars") ?? -1),
                drawnBars: bars.size,
                svgElements: svg?.querySelectorAll("path, rect, text").length ?? 0,
                width: box?.width ?? 0,
                height: box?.height ?? 0,
                cut,
                texts: Array.from(svg?.querySelectorAll("text") ?? []).map((t) => t.textContent ?? ""),
                html: svg?.outerHTML ?? ""
              }
            }))
          await page.screenshot({ path: path.replace(/\.html$/, ".png"), fullPage: true })
          return { figures, errors, folded }
        })
        expect(checks.errors).toEqual([])
        const gantts = checks.figures.filter((f) => f.kind === "gantt")
        // Every timeline of every step is drawn, with exactly one bar per span.
        expect(gantts.map((g) => g.expectedBars)).toEqual(spans)
        for (const g of gantts) expect(g.drawnBars, g.label).toBe(g.expectedBars)
        // The long ones (cache and batch runs: 100 callers) are folded behind a toggle, with a summary shown.
        const long = result.steps.flatMap((s) => s.timelines).filter((t) => t.rows > Report.maxGanttRows)
        expect(long.length).toBeGreaterThan(1)
        expect(checks.folded).toBe(long.length)
        expect(checks.figures.filter((f) => f.kind === "gantt-summary").map((f) => f.label)).toEqual(
          long.map((t) => t.label)
        )
        expect(checks.figures.filter((f) => f.kind === "distribution").length).toBe(5)
        const summary = checks.figures.filter((f) => f.kind === "summary")
        expect(summary.length).toBe(1)
        // The axis runs from 0 through 1, so 5% looks like 5%.
        expect(summary[0]!.texts).toContain("0")
        expect(summary[0]!.texts).toContain("1")
        expect(summary[0]!.texts).not.toContain("0.8")
        for (const f of checks.figures) {
          expect(f.cut, `${f.kind} ${f.label}`).toEqual([])
          expect(f.svgElements, f.kind).toBeGreaterThan(5)
          expect(f.width, f.kind).toBeGreaterThan(100)
          expect(f.height, f.kind).toBeGreaterThan(50)
          // Green and red mean a cache hit and a cache miss, and nothing else.
          if (f.kind !== "gantt" && f.kind !== "gantt-summary") {
            expect(f.html, f.kind).not.toContain(Report.colors.hit)
            expect(f.html, f.kind).not.toContain(Report.colors.miss)
          }
        }
      }).pipe(Effect.provide(NodeContext.layer)),
    180_000
  )

  it("marks cache hits and misses in the Gantt chart, a hit never thinner than a few pixels", () => {
    const timeline: Tour.Timeline = {
      label: "t",
      rows: 2,
      durationMs: 2000,
      bars: [
        { name: "cache(llm)", startMs: 0, endMs: 2000, depth: 0, row: 0, kind: "miss" },
        { name: "cache(llm)", startMs: 0, endMs: 0.001, depth: 0, row: 1, kind: "hit" }
      ]
    }
    const svg = Report.ganttSvg(timeline, 2000)
    expect(svg).toContain(Report.colors.miss)
    expect(svg).toContain(Report.colors.hit)
    expect(new Set(svg.match(/ecmeta_data_index="\d+"/g)).size).toBe(2)
    // The hit lasted a microsecond; its rectangle's path still spans several pixels.
    const hit = svg.split("\n").find((l) => l.includes(Report.colors.hit))!
    const path = /d="([^"]+)"/.exec(hit)![1]!
    const xs = [...path.matchAll(/[ML]([\d.]+) /g)].map((m) => Number(m[1]))
    expect(xs.length).toBeGreaterThan(1)
    expect(Math.max(...xs) - Math.min(...xs)).toBeGreaterThanOrEqual(3)
  })

  it("labels each Gantt row with the one span name it holds", () => {
    const timeline: Tour.Timeline = {
      label: "t",
      rows: 3,
      durationMs: 3000,
      bars: [
        { name: "a", startMs: 0, endMs: 1000, depth: 1, row: 0, kind: "step" },
        { name: "b", startMs: 1000, endMs: 2000, depth: 1, row: 1, kind: "step" },
        { name: "a", startMs: 0, endMs: 500, depth: 1, row: 2, kind: "step" }
      ]
    }
    const folded = Report.summarize(timeline)
    expect(folded.rows).toBe(2)
    expect(folded.bars.map((b) => [b.name, b.row])).toEqual([["a", 0], ["b", 1], ["a", 0]])
    expect(Report.ganttSvg(folded, 3000, { counts: true })).toContain("a ×2")
  })
})
