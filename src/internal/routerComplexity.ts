import type * as Router from "../Router.js"
import * as options_ from "./options.js"

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
  c === 32 || (c >= 9 && c <= 13) || (c >= 28 && c <= 31) || c === 133 || c === 160 || c === 0x1680 ||
  (c >= 0x2000 && (c <= 0x200a || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000))

// Letters, digits, `_` and anything non-ASCII that is not a space: a keyword
// only matches a whole run of these, so "how" does not match "show".
const isWordChar = (c: number): boolean =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || (c >= 128 && !isSpace(c))

const round = (x: number): number => Math.round(x * 1e9) / 1e9

const owner = "Router.complexity"

// Weights, thresholds and band bounds are scores and word counts: never
// negative (a negative weight would make a signal argue for a cheaper route).
const checkWeight = (option: string, x: unknown): number => options_.number(owner, option, x, { min: 0 })

const strings = (option: string, x: unknown): ReadonlyArray<string> => {
  if (!Array.isArray(x)) return options_.invalid(owner, option, "an array of strings", x)
  x.forEach((item, i) => typeof item === "string" || options_.invalid(owner, `${option}[${i}]`, "a string", item))
  return x
}

const object = (option: string, x: unknown): void => {
  if (x !== undefined && (typeof x !== "object" || x === null || Array.isArray(x))) {
    options_.invalid(owner, option, "an object", x)
  }
}

interface Compiled {
  readonly score: (text: string) => Router.ComplexityScore
  readonly decide: (text: string, routes: Readonly<Record<Router.ComplexityLevel, string>>) => Router.ComplexityDecision
}

/** @internal */
export const compile = (options: Router.ScoreOptions = {}): Compiled => {
  object("options", options)
  object("weights", options.weights)
  object("thresholds", options.thresholds)
  const substring = options.keywordMatch !== undefined &&
    options_.oneOf(owner, "keywordMatch", options.keywordMatch, ["word", "substring"]) === "substring"
  const keywords = strings("keywords", options.keywords ?? defaultKeywords).map((k) => k.toLowerCase())
    .filter((k) => k.length > 0)
  const rawBands = options.lengthBands ?? defaultLengthBands
  if (!Array.isArray(rawBands)) options_.invalid(owner, "lengthBands", "an array of { above, weight }", rawBands)
  const bands = rawBands
    .map((b: Router.LengthBand, i) => ({
      above: checkWeight(`lengthBands[${i}].above`, b?.above),
      weight: checkWeight(`lengthBands[${i}].weight`, b?.weight)
    }))
    .sort((a, b) => b.above - a.above)
  const keywordWeight = checkWeight("weights.keyword", options.weights?.keyword ?? 0.3)
  const codeWeight = checkWeight("weights.code", options.weights?.code ?? 0.3)
  const complexAt = checkWeight("thresholds.complex", options.thresholds?.complex ?? 0.6)
  const mediumAt = checkWeight("thresholds.medium", options.thresholds?.medium ?? 0.3)
  if (mediumAt > complexAt) {
    options_.invalid(owner, "thresholds.medium", `at most thresholds.complex (${complexAt})`, mediumAt)
  }
  // Beyond the highest band more words change nothing, so counting stops there.
  const countUpTo = bands.length > 0 ? bands[0]!.above : 0

  const markers = strings("codeMarkers", options.codeMarkers ?? defaultCodeMarkers).filter((m) => m.length > 0)
  // A marker that starts with a word character ("def ") must start a word, so
  // "undef x" is not code; others ("```") count anywhere.
  const markerAtWordStart = markers.map((m) => isWordChar(m.charCodeAt(0)))

  // Keywords and markers are found with the engine's native `indexOf` (a
  // vectorised search), and only the word count walks the text in JavaScript:
  // on a 100-word query this is several times cheaper than a per-character
  // keyword match (measured in bench/router.ts).
  const findWord = (haystack: string, needle: string): boolean => {
    let at = haystack.indexOf(needle)
    while (at >= 0) {
      const end = at + needle.length
      if (
        (at === 0 || !isWordChar(haystack.charCodeAt(at - 1))) &&
        (end === haystack.length || !isWordChar(haystack.charCodeAt(end)))
      ) return true
      at = haystack.indexOf(needle, at + 1)
    }
    return false
  }

  const findMarker = (text: string, marker: string, atWordStart: boolean): boolean => {
    if (!atWordStart) return text.includes(marker)
    let at = text.indexOf(marker)
    while (at >= 0) {
      if (at === 0 || !isWordChar(text.charCodeAt(at - 1))) return true
      at = text.indexOf(marker, at + 1)
    }
    return false
  }

  const weights = { keyword: keywordWeight, code: codeWeight }

  const scan = (text: string, routes: Readonly<Record<Router.ComplexityLevel, string>> | undefined) => {
    let words = 0
    let inToken = false
    const n = text.length
    let i = 0
    for (; i < n; i++) {
      const c = text.charCodeAt(i)
      const space = c <= 32 ? c === 32 || (c >= 9 && c <= 13) || c >= 28 : c >= 128 && isSpace(c)
      if (space) {
        inToken = false
      } else if (!inToken) {
        inToken = true
        if (++words > countUpTo) break
      }
    }

    let keyword: string | undefined
    if (keywords.length > 0) {
      const lower = text.toLowerCase()
      for (let k = 0; k < keywords.length && keyword === undefined; k++) {
        if (substring ? lower.includes(keywords[k]!) : findWord(lower, keywords[k]!)) keyword = keywords[k]
      }
    }
    let code: string | undefined
    for (let k = 0; k < markers.length && code === undefined; k++) {
      if (findMarker(text, markers[k]!, markerAtWordStart[k]!)) code = markers[k]
    }

    let total = 0
    let band: Router.LengthBand | undefined
    for (let b = 0; b < bands.length && band === undefined; b++) {
      if (words > bands[b]!.above) band = bands[b]!
    }
    if (band !== undefined) total += band.weight
    if (keyword !== undefined) total += keywordWeight
    if (code !== undefined) total += codeWeight
    total = round(total)
    const level: Router.ComplexityLevel = total >= complexAt ? "complex" : total >= mediumAt ? "medium" : "simple"
    return routes === undefined
      ? new Score(total, level, words, i < n, keyword, code, band, weights)
      : new Decision(total, level, words, i < n, keyword, code, band, weights, routes[level])
  }

  return {
    score: (text: string): Router.ComplexityScore => scan(text, undefined),
    decide: (text: string, routes: Readonly<Record<Router.ComplexityLevel, string>>): Router.ComplexityDecision =>
      scan(text, routes) as Decision
  }
}

// The reasons are text for spans and logs: they are only built when read, so a
// decision made with tracing off costs no string work.
class Score implements Router.ComplexityScore {
  constructor(
    readonly score: number,
    readonly level: Router.ComplexityLevel,
    readonly words: number,
    readonly truncated: boolean,
    readonly keyword: string | undefined,
    readonly code: string | undefined,
    private readonly band: Router.LengthBand | undefined,
    private readonly weights: { readonly keyword: number; readonly code: number }
  ) {}
  get reasons(): ReadonlyArray<string> {
    const reasons: Array<string> = []
    if (this.band !== undefined) reasons.push(`more than ${this.band.above} words (+${this.band.weight})`)
    if (this.keyword !== undefined) reasons.push(`keyword "${this.keyword}" (+${this.weights.keyword})`)
    if (this.code !== undefined) reasons.push(`code ${JSON.stringify(this.code.trim())} (+${this.weights.code})`)
    return reasons
  }
  toJSON(): unknown {
    const { code, keyword, level, reasons, score, truncated, words } = this
    return { score, level, words, truncated, keyword, code, reasons }
  }
}

class Decision extends Score implements Router.ComplexityDecision {
  constructor(
    score: number,
    level: Router.ComplexityLevel,
    words: number,
    truncated: boolean,
    keyword: string | undefined,
    code: string | undefined,
    band: Router.LengthBand | undefined,
    weights: { readonly keyword: number; readonly code: number },
    readonly route: string
  ) {
    super(score, level, words, truncated, keyword, code, band, weights)
  }
  get reason(): string {
    const reasons = this.reasons
    return `${this.level} (score ${this.score}: ${reasons.length === 0 ? "no signal" : reasons.join(", ")})`
  }
  override toJSON(): unknown {
    return { route: this.route, reason: this.reason, ...(super.toJSON() as object) }
  }
}
