import * as Primitive from "../Primitive.js"
import type * as Router from "../Router.js"

/** @internal */
export const defaultKeywords: ReadonlyArray<string> = ["analyze", "compare", "explain", "why", "how", "detailed"]

/** @internal */
export const defaultCodeMarkers: ReadonlyArray<string> = ["```", "def ", "class "]

/** @internal */
export const defaultLengthBands: ReadonlyArray<Router.LengthBand> = [
  { above: 100, weight: 0.4 },
  { above: 50, weight: 0.2 }
]

// Python's `str.split()` separators, so word counts match the guide's.
const isSpace = (c: number): boolean =>
  c === 32 || (c >= 9 && c <= 13) || (c >= 28 && c <= 31) || c === 133 || c === 160 ||
  (c >= 0x2000 && (c <= 0x200a || c === 0x1680 || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f ||
    c === 0x3000))

// Letters, digits, `_` and anything non-ASCII that is not a space: a keyword
// only matches a whole run of these, so "how" does not match "show".
const isWordChar = (c: number): boolean =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || (c >= 128 && !isSpace(c))

const lowerAscii = (c: number): number => (c >= 65 && c <= 90 ? c + 32 : c)

const round = (x: number): number => Math.round(x * 1e9) / 1e9

const checkWeight = (what: string, x: unknown): number => {
  if (typeof x !== "number" || !Number.isFinite(x)) {
    throw new Primitive.InvalidPrimitive({
      primitive: "Router.complexity",
      reason: `${what} must be a finite number, got ${String(x)}`
    })
  }
  return x
}

interface Compiled {
  readonly score: (text: string) => Router.ComplexityScore
}

/** @internal */
export const compile = (options: Router.ScoreOptions = {}): Compiled => {
  const substring = options.keywordMatch === "substring"
  const keywords = (options.keywords ?? defaultKeywords).map((k) => k.toLowerCase()).filter((k) => k.length > 0)
  const bands = [...(options.lengthBands ?? defaultLengthBands)]
    .map((b) => ({ above: checkWeight("a length band's `above`", b.above), weight: checkWeight("a band weight", b.weight) }))
    .sort((a, b) => b.above - a.above)
  const keywordWeight = checkWeight("weights.keyword", options.weights?.keyword ?? 0.3)
  const codeWeight = checkWeight("weights.code", options.weights?.code ?? 0.3)
  const complexAt = checkWeight("thresholds.complex", options.thresholds?.complex ?? 0.6)
  const mediumAt = checkWeight("thresholds.medium", options.thresholds?.medium ?? 0.3)
  if (mediumAt > complexAt) {
    throw new Primitive.InvalidPrimitive({
      primitive: "Router.complexity",
      reason: `thresholds.medium (${mediumAt}) is above thresholds.complex (${complexAt})`
    })
  }
  // Beyond the highest band, more words change nothing: the scan may stop early.
  const saturatedAt = bands.length > 0 ? bands[0]!.above : 0

  // Single-word keywords are matched in the scan, indexed by length so a word
  // is compared only with keywords of its own length. Anything else (several
  // words, punctuation) falls back to a substring test on the lower-cased text.
  const byLength: Array<Array<string> | undefined> = []
  const phrases: Array<string> = []
  for (const keyword of keywords) {
    let single = !substring
    for (let i = 0; i < keyword.length && single; i++) single = isWordChar(keyword.charCodeAt(i))
    if (single) (byLength[keyword.length] ??= []).push(keyword)
    else phrases.push(keyword)
  }

  // A code marker starting with a word character ("def ") must start a word,
  // so "undef x" is not code; others ("```") may appear anywhere.
  const markers = options.codeMarkers ?? defaultCodeMarkers
  const anywhere = markers.filter((m) => m.length > 0 && !isWordChar(m.charCodeAt(0)))
  const atWordStart = markers.filter((m) => m.length > 0 && isWordChar(m.charCodeAt(0)))
  const markerFirst = new Set(atWordStart.map((m) => m.charCodeAt(0)))

  const matchKeyword = (text: string, start: number, end: number): string | undefined => {
    const candidates = byLength[end - start]
    if (candidates === undefined) return undefined
    for (let k = 0; k < candidates.length; k++) {
      const keyword = candidates[k]!
      let j = 0
      while (j < keyword.length && lowerAscii(text.charCodeAt(start + j)) === keyword.charCodeAt(j)) j++
      if (j === keyword.length) return keyword
    }
    return undefined
  }

  const matchMarker = (text: string, at: number): string | undefined => {
    if (!markerFirst.has(text.charCodeAt(at))) return undefined
    for (let k = 0; k < atWordStart.length; k++) {
      if (text.startsWith(atWordStart[k]!, at)) return atWordStart[k]
    }
    return undefined
  }

  const score = (text: string): Router.ComplexityScore => {
    let code: string | undefined
    for (let k = 0; k < anywhere.length && code === undefined; k++) {
      if (text.includes(anywhere[k]!)) code = anywhere[k]
    }
    let keyword: string | undefined
    if (phrases.length > 0) {
      const lower = text.toLowerCase()
      for (let k = 0; k < phrases.length && keyword === undefined; k++) {
        if (lower.includes(phrases[k]!)) keyword = phrases[k]
      }
    }
    const scanKeywords = byLength.length > 0
    const scanMarkers = atWordStart.length > 0
    let words = 0
    let inToken = false
    let runStart = -1
    const n = text.length
    let i = 0
    for (; i < n; i++) {
      const c = text.charCodeAt(i)
      if (isSpace(c)) {
        inToken = false
      } else if (!inToken) {
        inToken = true
        words++
      }
      if (isWordChar(c)) {
        if (runStart < 0) {
          runStart = i
          if (code === undefined && scanMarkers) code = matchMarker(text, i)
        }
      } else if (runStart >= 0) {
        if (keyword === undefined && scanKeywords) keyword = matchKeyword(text, runStart, i)
        runStart = -1
        if (
          words > saturatedAt && (keyword !== undefined || !scanKeywords) && (code !== undefined || !scanMarkers)
        ) break
      }
    }
    if (runStart >= 0 && keyword === undefined && scanKeywords) keyword = matchKeyword(text, runStart, i)

    let total = 0
    const reasons: Array<string> = []
    for (let b = 0; b < bands.length; b++) {
      const band = bands[b]!
      if (words > band.above) {
        total += band.weight
        reasons.push(`${i < n ? "over " : ""}${words} words > ${band.above} (+${band.weight})`)
        break
      }
    }
    if (keyword !== undefined) {
      total += keywordWeight
      reasons.push(`keyword "${keyword}" (+${keywordWeight})`)
    }
    if (code !== undefined) {
      total += codeWeight
      reasons.push(`code ${JSON.stringify(code.trim())} (+${codeWeight})`)
    }
    total = round(total)
    const level: Router.ComplexityLevel = total >= complexAt ? "complex" : total >= mediumAt ? "medium" : "simple"
    return { score: total, level, words, truncated: i < n, keyword, code, reasons }
  }

  return { score }
}
