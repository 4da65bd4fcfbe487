import type * as Advisor from "../Advisor.js"
import * as Tracing from "../Tracing.js"
import * as internalMetrics from "./metrics.js"
import * as options_ from "./options.js"
import { unionLength } from "./stats.js"

type Span = Tracing.SpanRecord

const kindOf = (span: Span): string | undefined =>
  span.attributes[Tracing.Attributes.primitiveKind] as string | undefined

/** @internal */
export const isModelCall = (span: Span): boolean =>
  kindOf(span) === "model" || Object.keys(span.attributes).some((key) => key.startsWith("gen_ai."))

const overlaps = (a: Span, b: Span) => a.startTime < b.endTime && b.startTime < a.endTime

const intervalsLength = (intervals: ReadonlyArray<readonly [bigint, bigint]>): number =>
  Number(unionLength(intervals)) / 1_000_000

const numberAttr = (span: Span, key: string): number | undefined => {
  const v = span.attributes[key]
  return typeof v === "number" && Number.isFinite(v) ? v : undefined
}

const round = (x: number) => Math.round(x * 100) / 100

// Composites whose children run one after another (or may): the places where
// "run these at the same time" is a meaningful suggestion.
const groupingKinds = new Set(["sequence", "forEach", "parallel"])

/** @internal */
export const checkOptions = (owner: string, options: Advisor.AnalyzeOptions | undefined) => {
  const share = (option: string, value: unknown, fallback: number, minExclusive = false) =>
    options_.numberOr(owner, option, value, fallback, { min: 0, minExclusive, max: 1 })
  return {
    dominantShare: share("dominantShare", options?.dominantShare, 0.8, true),
    minRepeatRate: share("minRepeatRate", options?.minRepeatRate, 0.1),
    minBatchCalls: options?.minBatchCalls === undefined
      ? 5
      : options_.positiveInt(owner, "minBatchCalls", options.minBatchCalls),
    batchSize: options?.batchSize === undefined ? 10 : options_.positiveInt(owner, "batchSize", options.batchSize),
    streamAfter: options_.numberOr(owner, "streamAfterMillis", options?.streamAfterMillis, 1000, { min: 0 }),
    lateFirstOutput: share("lateFirstOutputShare", options?.lateFirstOutputShare, 0.5),
    parallelizeMinShare: share("parallelizeMinShare", options?.parallelizeMinShare, 0.3)
  }
}

/** @internal */
export const analyze = (
  spans: ReadonlyArray<Span>,
  options?: Advisor.AnalyzeOptions
): Array<Advisor.Finding> => {
  const {
    batchSize,
    dominantShare,
    lateFirstOutput,
    minBatchCalls,
    minRepeatRate,
    parallelizeMinShare,
    streamAfter
  } = checkOptions("Advisor.analyze", options)
  if (spans.length === 0) return []
  const total = internalMetrics.breakdown(spans).totalMillis
  const byId = new Map(spans.map((s) => [s.spanId, s]))
  const hasChildren = new Set(spans.flatMap((s) => s.parentSpanId === undefined ? [] : [s.parentSpanId]))
  const leaves = spans.filter((s) => !hasChildren.has(s.spanId))
  const findings: Array<Advisor.Finding> = []

  // 1. Sequential model calls.
  const unitOf = (span: Span): Span => {
    let current = span
    while (current.parentSpanId !== undefined) {
      const parent = byId.get(current.parentSpanId)
      if (parent === undefined) break
      const kind = kindOf(parent)
      if (kind === undefined || groupingKinds.has(kind)) break
      current = parent
    }
    return current
  }
  const units = new Map<string, Map<string, Span>>()
  for (const span of spans) {
    if (!isModelCall(span)) continue
    const unit = unitOf(span)
    const group = unit.parentSpanId ?? "(root)"
    const map = units.get(group) ?? new Map<string, Span>()
    map.set(unit.spanId, unit)
    units.set(group, map)
  }
  for (const [group, map] of units) {
    const ordered = [...map.values()].sort((a, b) => Number(a.startTime - b.startTime))
    let chain: Array<Span> = []
    const flush = () => {
      if (chain.length >= 2) {
        const sequentialMillis = chain.reduce((sum, s) => sum + s.durationMillis, 0)
        const parallelMillis = Math.max(...chain.map((s) => s.durationMillis))
        if (total > 0 && sequentialMillis >= parallelizeMinShare * total) {
          const parent = byId.get(group)
          findings.push({
            _tag: "Parallelize",
            title: `${chain.length} model calls run one after another`,
            suggestion: `If they do not need each other's output, run them with Primitive.parallel: ` +
              `about ${round(parallelMillis)}ms instead of ${round(sequentialMillis)}ms.`,
            estimatedSavingMillis: round(sequentialMillis - parallelMillis),
            evidence: {
              parent: parent?.name,
              calls: chain.map((s) => ({ name: s.name, durationMillis: round(s.durationMillis) })),
              sequentialMillis: round(sequentialMillis),
              parallelMillis: round(parallelMillis),
              shareOfRun: round(sequentialMillis / total)
            }
          })
        }
      }
      chain = []
    }
    for (const unit of ordered) {
      const last = chain[chain.length - 1]
      if (last !== undefined && unit.startTime < last.endTime) flush()
      chain.push(unit)
    }
    flush()
  }

  // 2. Repeated identical inputs.
  const byName = new Map<string, Array<Span>>()
  for (const span of spans) {
    if (typeof span.attributes[Tracing.Attributes.inputHash] !== "string") continue
    const list = byName.get(span.name) ?? []
    list.push(span)
    byName.set(span.name, list)
  }
  for (const [name, list] of byName) {
    if (list.length < 2) continue
    const seen = new Set<string>()
    let repeatedMillis = 0
    let repeatedCost = 0
    for (const span of [...list].sort((a, b) => Number(a.startTime - b.startTime))) {
      const hash = span.attributes[Tracing.Attributes.inputHash] as string
      if (seen.has(hash)) {
        repeatedMillis += span.durationMillis
        repeatedCost += numberAttr(span, Tracing.Attributes.costUsd) ?? 0
      } else seen.add(hash)
    }
    const hitRate = (list.length - seen.size) / list.length
    if (hitRate < minRepeatRate || hitRate === 0) continue
    findings.push({
      _tag: "Cache",
      title: `"${name}" ran ${list.length} times on ${seen.size} distinct inputs`,
      suggestion: `Cache it: a cache would answer ${Math.round(hitRate * 100)}% of these calls ` +
        `and save ${round(repeatedMillis)}ms of call time${
          repeatedCost > 0 ? ` and $${round(repeatedCost * 1e4) / 1e4}` : ""
        }.`,
      estimatedSavingMillis: round(repeatedMillis),
      evidence: {
        primitive: name,
        calls: list.length,
        distinctInputs: seen.size,
        hitRate: round(hitRate),
        repeatedMillis: round(repeatedMillis),
        repeatedCostUsd: repeatedCost
      }
    })
  }

  // 3. One dominant step, running alone.
  if (leaves.length >= 2 && total > 0) {
    for (const leaf of leaves) {
      if (leaf.durationMillis < dominantShare * total) continue
      const others = leaves
        .filter((o) => o !== leaf && overlaps(o, leaf))
        .map((o) =>
          [
            o.startTime > leaf.startTime ? o.startTime : leaf.startTime,
            o.endTime < leaf.endTime ? o.endTime : leaf.endTime
          ] as [
            bigint,
            bigint
          ]
        )
      const overlapped = intervalsLength(others)
      // Branches of a fan-out all look "dominant" by wall time; only a step
      // that has the run to itself is the single slow step of the guide.
      if (overlapped > 0.5 * leaf.durationMillis) continue
      const model = isModelCall(leaf)
      findings.push({
        _tag: "DominantStep",
        title: `"${leaf.name}" takes ${Math.round((leaf.durationMillis / total) * 100)}% of the run`,
        suggestion: model
          ? "It is a model call: route easy inputs to a faster model, cache repeated inputs, or stream the answer."
          : "Optimise this step (algorithm, I/O, payload size): nothing else matters as much.",
        estimatedSavingMillis: 0,
        evidence: {
          step: leaf.name,
          durationMillis: round(leaf.durationMillis),
          totalMillis: round(total),
          share: round(leaf.durationMillis / total),
          modelCall: model
        }
      })
    }
  }

  // 4. Many small calls to one backend.
  const backends = new Map<string, Array<Span>>()
  for (const leaf of leaves) {
    const key = String(
      leaf.attributes[Tracing.Attributes.backend] ?? leaf.attributes["server.address"] ??
        leaf.attributes["db.system"] ??
        leaf.name
    )
    const list = backends.get(key) ?? []
    list.push(leaf)
    backends.set(key, list)
  }
  for (const [backend, list] of backends) {
    if (list.length < minBatchCalls) continue
    if (list.some((s) => (numberAttr(s, Tracing.Attributes.batchSize) ?? 1) > 1)) continue
    const callMillis = list.reduce((sum, s) => sum + s.durationMillis, 0)
    const mean = callMillis / list.length
    let maxConcurrent = 1
    for (const s of list) {
      const concurrent = list.filter((o) => o.startTime <= s.startTime && o.endTime > s.startTime).length
      if (concurrent > maxConcurrent) maxConcurrent = concurrent
    }
    const batches = Math.ceil(list.length / batchSize)
    findings.push({
      _tag: "Batch",
      title: `${list.length} separate calls to "${backend}"`,
      suggestion: `Batch them (Batch module): ${batches} calls of up to ${batchSize} items instead of ${list.length}.`,
      estimatedSavingMillis: round(Math.max(0, (list.length - batches) * mean / maxConcurrent)),
      evidence: {
        backend,
        calls: list.length,
        meanMillis: round(mean),
        callMillis: round(callMillis),
        maxConcurrent
      }
    })
  }

  // 5. A long wait before the first output. The time to first output may sit
  // on the model span itself or on a streaming primitive around it.
  const ttftOf = (span: Span): number | undefined => {
    for (
      let at: Span | undefined = span;
      at !== undefined;
      at = at.parentSpanId ? byId.get(at.parentSpanId) : undefined
    ) {
      const ttft = numberAttr(at, Tracing.Attributes.timeToFirstTokenMs) ??
        numberAttr(at, Tracing.Attributes.genAiTimeToFirstTokenMs)
      if (ttft !== undefined) return ttft
    }
    return undefined
  }
  const slowModels = new Map<string, { span: Span; calls: number }>()
  for (const span of spans) {
    if (!isModelCall(span) || span.durationMillis < streamAfter) continue
    const ttft = ttftOf(span)
    if (ttft !== undefined && ttft < lateFirstOutput * span.durationMillis) continue
    const entry = slowModels.get(span.name)
    if (entry === undefined || span.durationMillis > entry.span.durationMillis) {
      slowModels.set(span.name, { span, calls: (entry?.calls ?? 0) + 1 })
    } else entry.calls++
  }
  for (const [name, { calls, span }] of slowModels) {
    const ttft = ttftOf(span)
    findings.push({
      _tag: "Stream",
      title: ttft === undefined
        ? `"${name}" returns nothing for ${Math.round(span.durationMillis)}ms`
        : `"${name}" streams, but its first output comes after ${Math.round(ttft)}ms`,
      suggestion: ttft === undefined
        ? "Stream it (Stream module): the caller sees the first tokens long before the full answer."
        : "The first output comes late even when streaming: shorten the prompt or start streaming earlier.",
      estimatedSavingMillis: round(span.durationMillis - (ttft ?? 0)),
      evidence: {
        step: name,
        calls,
        durationMillis: round(span.durationMillis),
        timeToFirstOutputMillis: ttft ?? round(span.durationMillis)
      }
    })
  }

  return findings.sort((a, b) => b.estimatedSavingMillis - a.estimatedSavingMillis)
}

/** @internal */
export const formatFindings = (findings: ReadonlyArray<Advisor.Finding>): string => {
  if (findings.length === 0) return "No findings: nothing obvious to optimise."
  return findings
    .map((f, i) =>
      `${i + 1}. [${f._tag}] ${f.title}\n   ${f.suggestion}\n   evidence: ${
        JSON.stringify(f.evidence, (_, v) => typeof v === "bigint" ? v.toString() : v)
      }`
    )
    .join("\n")
}
