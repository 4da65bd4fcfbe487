import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Cache from "../src/Cache.js"
import { keyOf } from "../src/internal/cacheKey.js"
import * as Primitive from "../src/Primitive.js"

/** A shared tier over a Map that records the keys it is asked for. */
const recordingTier = () => {
  const entries = new Map<string, string>()
  const keys: Array<string> = []
  const tier: Cache.RemoteTier = {
    _tag: "Remote",
    name: "recording",
    timeout: Duration.seconds(1),
    get: (key) =>
      Effect.sync(() => {
        keys.push(key)
        return Option.fromNullable(entries.get(key))
      }),
    set: (key, payload) =>
      Effect.sync(() => {
        keys.push(key)
        entries.set(key, payload)
      }),
    delete: (key) =>
      Effect.sync(() => {
        keys.push(key)
        entries.delete(key)
      }),
    clear: () => Effect.void
  }
  return { tier, entries, keys }
}

const counted = (namespace: string) =>
  Effect.map(Ref.make(0), (calls) => ({
    calls,
    cached: Primitive.make(
      "echo",
      (input: unknown) => Effect.as(Ref.update(calls, (n) => n + 1), JSON.stringify(input))
    ).pipe(
      Cache.wrap({ schema: Schema.String, namespace })
    )
  }))

// Two inputs whose keys agree on their first 250 characters.
const head = "You are a helpful assistant. ".repeat(9)
const longA = `${head}Question A`
const longB = `${head}Question B`

describe("Cache keys: L1 on the full text, shared tiers on its hash", () => {
  it("the L1 key of an input is its full text, never a hash", () => {
    assert.strictEqual(keyOf(Cache.defaultKey, longA), longA)
    assert.strictEqual(keyOf(Cache.defaultKey, { q: longA }), `~{"q":${JSON.stringify(longA)}}`)
    // "~" still escapes a string that could pass for an encoded input.
    assert.strictEqual(keyOf(Cache.defaultKey, "~1"), "~~1")
    // The key as the shared tiers see it is unchanged: bounded, a hash past 200 characters.
    assert.isTrue(Cache.defaultKey(longA).startsWith("#sha256:"))
  })

  it.effect("two long inputs that differ only after 200 characters are two entries in L1", () =>
    Effect.gen(function*() {
      const { cached, calls } = yield* counted("long-l1")
      for (const input of [longA, longB, { q: longA }, { q: longB }]) {
        const first = yield* cached.run(input)
        const again = yield* cached.run(input)
        assert.strictEqual(again, first)
        assert.strictEqual(first, JSON.stringify(input))
      }
      assert.strictEqual(yield* Ref.get(calls), 4)
      const stats = yield* Cache.stats(cached)
      assert.strictEqual(stats.hits["memory"], 4)
      assert.strictEqual(stats.size, 4)
    }).pipe(Effect.provide(Cache.layerMemory())))

  it.effect("a shared tier sees the prefix and the hash of a long key; another process's L1 finds it there", () =>
    Effect.gen(function*() {
      const shared = recordingTier()
      const { cached, calls } = yield* counted("long-l2")
      const stack = Cache.layer(Cache.memory(), Effect.succeed(shared.tier))
      yield* cached.run(longA).pipe(Effect.provide(stack))
      const expected = `long-l2:1:${Cache.defaultKey(longA)}`
      assert.isAtMost(expected.length, 80)
      assert.deepStrictEqual([...shared.entries.keys()], [expected])
      assert.isTrue(shared.keys.every((key) => key === expected))
      // A fresh L1 over the same shared tier (another process): a hit in the shared tier, not a computation.
      const again = yield* Effect.zip(cached.run(longA), Cache.stats(cached)).pipe(Effect.provide(stack))
      assert.strictEqual(again[0], JSON.stringify(longA))
      assert.strictEqual(again[1].hits["recording"], 1)
      assert.strictEqual(yield* Ref.get(calls), 1)
      // Invalidation reaches the same shared key.
      yield* Cache.invalidate(cached, longA).pipe(Effect.provide(stack))
      assert.strictEqual(shared.entries.size, 0)
    }))

  it.effect("a short key is the same text in every tier", () =>
    Effect.gen(function*() {
      const shared = recordingTier()
      const { cached } = yield* counted("short")
      yield* cached.run("What is Effect?").pipe(
        Effect.provide(Cache.layer(Cache.memory(), Effect.succeed(shared.tier)))
      )
      assert.deepStrictEqual([...shared.entries.keys()], ["short:1:What is Effect?"])
    }))
})
