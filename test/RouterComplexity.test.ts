import { assert, describe, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as Primitive from "flowtune/Primitive"
import * as Router from "flowtune/Router"

const words = (n: number, word = "lorem") => Array.from({ length: n }, () => word).join(" ")

/** The guide's `route_by_complexity`, transcribed literally (substring keywords and markers). */
const guide = (query: string): { score: number; level: Router.ComplexityLevel } => {
  let score = 0
  const n = query.split(/[ \t\n\r\f\v]+/).filter((w) => w.length > 0).length
  if (n > 100) score += 0.4
  else if (n > 50) score += 0.2
  const lower = query.toLowerCase()
  if (["analyze", "compare", "explain", "why", "how", "detailed"].some((k) => lower.includes(k))) score += 0.3
  if (query.includes("```") || query.includes("def ") || query.includes("class ")) score += 0.3
  score = Math.round(score * 1e9) / 1e9
  return { score, level: score >= 0.6 ? "complex" : score >= 0.3 ? "medium" : "simple" }
}

describe("Router.complexity", () => {
  const score = Router.scorer()
  const select = Router.complexity()

  it("scores the guide's kinds of queries", () => {
    const cases: ReadonlyArray<readonly [string, number, Router.ComplexityLevel]> = [
      ["What is the capital of France?", 0, "simple"],
      ["Explain quantum entanglement", 0.3, "medium"],
      ["Why is the sky blue? Explain in a detailed way", 0.3, "medium"], // keywords count once
      ["```python\nprint(1)\n```", 0.3, "medium"],
      ["Analyze this function:\ndef add(a, b): return a + b", 0.6, "complex"],
      ["Compare these:\n```js\nclass A {}\n```", 0.6, "complex"],
      [words(51), 0.2, "simple"],
      [words(50), 0, "simple"],
      [words(100), 0.2, "simple"],
      [words(101), 0.4, "medium"],
      [`how ${words(59)}`, 0.5, "medium"],
      [`how ${words(100)}`, 0.7, "complex"],
      [`${words(120)} explain \`\`\`x\`\`\``, 1, "complex"]
    ]
    for (const [text, expected, level] of cases) {
      const result = score(text)
      assert.strictEqual(result.score, expected, text.slice(0, 40))
      assert.strictEqual(result.level, level, text.slice(0, 40))
      assert.strictEqual(select(text).route, level)
    }
  })

  it("explains its score", () => {
    const result = select(`Explain this ${words(98)} \`\`\`code\`\`\``)
    assert.deepStrictEqual(result.reasons, [
      "more than 100 words (+0.4)",
      `keyword "explain" (+0.3)`,
      `code "\`\`\`" (+0.3)`
    ])
    assert.strictEqual(
      result.reason,
      `complex (score 1: more than 100 words (+0.4), keyword "explain" (+0.3), code "\`\`\`" (+0.3))`
    )
    assert.strictEqual(select("hello").reason, "simple (score 0: no signal)")
  })

  it("edge cases: empty, whitespace only, punctuation, unicode spaces", () => {
    assert.deepStrictEqual(
      JSON.parse(JSON.stringify(score(""))),
      { score: 0, level: "simple", words: 0, truncated: false, reasons: [] }
    )
    assert.strictEqual(score(" \n\t  ").words, 0)
    assert.strictEqual(score("  a  b\u00a0c\u3000d ").words, 4)
    assert.strictEqual(score("HOW?").keyword, "how")
    assert.strictEqual(score("(why)").keyword, "why")
  })

  it("keywords match whole words by default; `substring` is the guide's rule", () => {
    assert.strictEqual(score("show me the weather").score, 0)
    assert.strictEqual(score("somehow unexplained").score, 0)
    const substring = Router.scorer({ keywordMatch: "substring" })
    assert.strictEqual(substring("show me the weather").keyword, "how")
    assert.strictEqual(substring("show me the weather").score, 0.3)
  })

  it("code markers: fences anywhere, `def `/`class ` only at the start of a word", () => {
    assert.strictEqual(score("inline ```x``` fence").code, "```")
    assert.strictEqual(score("what does `def f(x):` do").code, "def ")
    assert.strictEqual(score("class Foo:\n  pass").code, "class ")
    assert.strictEqual(score("undef x").code, undefined)
    assert.strictEqual(score("a classic def").code, undefined) // "def" at the very end has no space
    assert.strictEqual(score("subclass Foo").code, undefined)
  })

  it("a huge input is scored without reading it word by word", () => {
    const huge = `explain ${words(200_000)} \`\`\``
    const saturated = score(huge)
    assert.strictEqual(saturated.score, 1)
    // counting stops one word past the highest band: more cannot change the score
    assert.deepStrictEqual([saturated.words, saturated.truncated], [101, true])
    const plain = score(words(200_000))
    assert.deepStrictEqual([plain.score, plain.level], [0.4, "medium"])
    // signals at the very end are still found
    assert.strictEqual(score(`${words(200_000)} why`).score, 0.7)
    assert.strictEqual(score(`${words(200_000)}\nclass A:`).score, 0.7)
    assert.deepStrictEqual([score(words(100)).words, score(words(100)).truncated], [100, false])
  })

  it("every weight, band, keyword, marker and threshold is configurable", () => {
    const custom = Router.scorer({
      keywords: ["refactor", "step by step"],
      codeMarkers: ["SELECT "],
      lengthBands: [{ above: 3, weight: 0.1 }, { above: 10, weight: 0.25 }],
      weights: { keyword: 0.5, code: 0.2 },
      thresholds: { medium: 0.2, complex: 0.7 }
    })
    assert.deepStrictEqual(
      [custom("Refactor it").score, custom("Refactor it").level],
      [0.5, "medium"]
    )
    assert.strictEqual(custom("think step by step please").keyword, "step by step")
    assert.strictEqual(custom("explain").score, 0) // the guide's keywords are replaced
    assert.strictEqual(custom("SELECT * FROM t").score, 0.3) // 4 words > 3: +0.1, code +0.2
    assert.strictEqual(custom(words(11)).score, 0.25) // only the highest band passed counts
    const routes = Router.complexity({ routes: { simple: "fast", medium: "balanced", complex: "quality" } })
    assert.strictEqual(routes("Why?").route, "balanced")
  })

  it("reads `query`, `prompt` or `text` from an object input, or what `text` extracts", () => {
    assert.strictEqual(select({ query: "explain" }).route, "medium")
    const byPrompt = Router.complexity<{ readonly prompt: string }>()
    assert.strictEqual(byPrompt({ prompt: "compare" }).route, "medium")
    const custom = Router.complexity({
      text: (input: { readonly body: ReadonlyArray<string> }) => input.body.join(" ")
    })
    assert.strictEqual(custom({ body: ["why", "```"] }).route, "complex")
  })

  it("rejects inconsistent thresholds and non-numeric weights at definition", () => {
    assert.throws(() => Router.scorer({ thresholds: { medium: 0.8, complex: 0.6 } }), Primitive.InvalidPrimitive)
    assert.throws(() => Router.scorer({ weights: { code: Number.NaN } }), Primitive.InvalidPrimitive)
  })

  it("property: with the guide's substring rule, it agrees with the guide's code", () => {
    const substring = Router.scorer({ keywordMatch: "substring", codeMarkers: ["```"] })
    const vocabulary = ["a", "how", "Show", "why", "EXPLAIN", "```", "x", "  ", "\n", "data", "compare"]
    FastCheck.assert(
      FastCheck.property(
        FastCheck.array(FastCheck.constantFrom(...vocabulary), { maxLength: 160 }),
        FastCheck.constantFrom(" ", "\n", "\t"),
        (parts, sep) => {
          const text = parts.join(sep)
          const ours = substring(text)
          const theirs = guide(text.replaceAll("def ", "").replaceAll("class ", ""))
          return ours.score === theirs.score && ours.level === theirs.level
        }
      ),
      { numRuns: 300 }
    )
  })

  it("property: the word count is Python's `len(text.split())` for ASCII text", () => {
    const noSignal = Router.scorer({ keywords: [], codeMarkers: [] })
    FastCheck.assert(
      FastCheck.property(
        FastCheck.oneof(
          FastCheck.string({ maxLength: 300 }),
          // enough words to cross both bands
          FastCheck.array(FastCheck.constantFrom("a", "bc", " ", "\n", "\t", "  ", "x\fy"), { maxLength: 600 })
            .map((parts) => parts.join(""))
        ),
        (text) => {
          const ascii = text.replace(/[^\x20-\x7e\t\n\r\f\v]/g, "")
          const expected = ascii.split(/[ \t\n\r\f\v]+/).filter((w) => w.length > 0).length
          return noSignal(ascii).words === Math.min(expected, 101)
        }
      ),
      { numRuns: 500 }
    )
  })
})
