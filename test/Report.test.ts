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

interface FigureCheck {
  readonly kind: string
  readonly label: string
  readonly expectedBars: number
  readonly drawnBars: number
  readonly svgElements: number
  readonly width: number
  readonly height: number
}

describe("Tour report", () => {
  it.effect("renders in Chromium: one Gantt bar per span, non-empty charts", () =>
    Effect.gen(function*() {
      const result = yield* runVirtual({
        steps: ["baseline", "parallel", "cache", "stream"],
        reportDir: "reports/test"
      })
      expect(result.reportPath).toBeDefined()
      const path = result.reportPath!
      const spans = result.steps.flatMap((s) => s.timelines.map((t) => t.bars.length))
      const checks = yield* withBrowser(async (browser) => {
        const page = await browser.newPage({ viewport: { width: 1000, height: 900 } })
        const errors: Array<string> = []
        page.on("pageerror", (e) => errors.push(String(e)))
        await page.goto(pathToFileURL(path).href)
        const figures = await page.$$eval("figure.chart", (nodes) =>
          nodes.map((figure) => {
            const svg = figure.querySelector("svg")
            const box = svg?.getBoundingClientRect()
            const bars = new Set(
              Array.from(figure.querySelectorAll("[ecmeta_series_index=\"0\"][ecmeta_data_index]")).map((el) =>
                el.getAttribute("ecmeta_data_index")
              )
            )
            return {
              kind: figure.getAttribute("data-kind") ?? "",
              label: figure.getAttribute("data-label") ?? "",
              expectedBars: Number(figure.getAttribute("data-bars") ?? -1),
              drawnBars: bars.size,
              svgElements: svg?.querySelectorAll("path, rect, text").length ?? 0,
              width: box?.width ?? 0,
              height: box?.height ?? 0
            }
          }))
        await page.screenshot({ path: path.replace(/\.html$/, ".png"), fullPage: true })
        return { figures: figures as ReadonlyArray<FigureCheck>, errors }
      })
      expect(checks.errors).toEqual([])
      const gantts = checks.figures.filter((f) => f.kind === "gantt")
      // Every timeline of every step is drawn, with exactly one bar per span.
      expect(gantts.map((g) => g.expectedBars)).toEqual(spans)
      for (const g of gantts) expect(g.drawnBars, g.label).toBe(g.expectedBars)
      expect(checks.figures.filter((f) => f.kind === "distribution").length).toBe(4)
      expect(checks.figures.filter((f) => f.kind === "summary").length).toBe(1)
      for (const f of checks.figures) {
        expect(f.svgElements, f.kind).toBeGreaterThan(5)
        expect(f.width, f.kind).toBeGreaterThan(100)
        expect(f.height, f.kind).toBeGreaterThan(50)
      }
    }).pipe(Effect.provide(NodeContext.layer)), 120_000)

  it("marks cache hits and misses in the Gantt chart", () => {
    const timeline: Tour.Timeline = {
      label: "t",
      rows: 2,
      durationMs: 2000,
      bars: [
        { name: "cache(llm)", startMs: 0, endMs: 2000, depth: 0, row: 0, kind: "miss" },
        { name: "cache(llm)", startMs: 0, endMs: 1, depth: 0, row: 1, kind: "hit" }
      ]
    }
    const svg = Report.ganttSvg(timeline, 2000)
    expect(svg).toContain(Report.colors.miss)
    expect(svg).toContain(Report.colors.hit)
    expect(new Set(svg.match(/ecmeta_data_index="\d+"/g)).size).toBe(2)
  })
})
