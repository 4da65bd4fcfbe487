/**
 * Cache keys for inputs that are not plain data.
 *
 * The default key encodes URLs, dates, maps, typed arrays and Effect's data
 * types by value, and refuses what it cannot encode faithfully with a typed
 * `FlowCache.InvalidKey` naming the path inside the input: here a class instance
 * without a declared encoding, and a cycle. A class declares its key with
 * `FlowCache.keyEncoding`.
 *
 * Run: npx tsx examples/cache-keys.ts
 */
import * as Effect from "effect/Effect"
import * as FlowCache from "flowtune/Cache"
import * as Primitive from "flowtune/Primitive"

class Session {
  constructor(readonly user: string, readonly openedAt: number) {}
}

class Customer {
  constructor(readonly id: string, readonly loadedAt: number) {}
  // Only the id identifies a customer: two loads of one customer share an entry.
  [FlowCache.keyEncoding]() {
    return this.id
  }
}

const fetchPage = Primitive.make(
  "fetch",
  (input: { readonly url: URL; readonly session?: unknown }) => Effect.succeed(`page of ${input.url.host}`)
)
const profile = Primitive.make("profile", (customer: Customer) => Effect.succeed(`profile of ${customer.id}`))

const program = Effect.gen(function*() {
  const pages = fetchPage.pipe(FlowCache.wrap())
  // Two URLs, two entries (they once shared the key `~{}`).
  console.log(yield* Primitive.run(pages, { url: new URL("https://a.example/") }))
  console.log(yield* Primitive.run(pages, { url: new URL("https://b.example/") }))

  // A class without a declared encoding is refused, naming where it is.
  const refused = yield* Effect.flip(
    Primitive.run(pages, { url: new URL("https://a.example/"), session: new Session("ann", 0) })
  )
  console.log(`${refused._tag}: ${refused.message}`)

  // A cycle is refused too, naming where it closes.
  const node: { name: string; self?: unknown } = { name: "loop" }
  node.self = node
  const cyclic = yield* Effect.flip(Primitive.run(pages, { url: new URL("https://a.example/"), session: node }))
  console.log(`${cyclic._tag}: ${cyclic.message}`)

  // A declared encoding: one entry for both loads of customer 42.
  const profiles = profile.pipe(FlowCache.wrap())
  yield* Primitive.run(profiles, new Customer("42", 1))
  yield* Primitive.run(profiles, new Customer("42", 2))
  const stats = yield* FlowCache.stats(profiles)
  console.log(`customer 42 loaded twice: ${stats.misses} miss, ${stats.hits["memory"]} hit`)
}).pipe(Effect.provide(FlowCache.layerMemory({ capacity: 1_000 })))

Effect.runPromise(program)
