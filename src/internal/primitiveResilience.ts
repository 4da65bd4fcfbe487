/**
 * The resilience combinators of `Primitive`: `retry`, `timeout`, `fallback`.
 * Split from `primitive.ts` to keep each file about one concern.
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Schedule from "effect/Schedule"
import * as Primitive from "../Primitive.js"
import * as Options from "./options.js"
import { checkOptions, isPrimitive, unsafeMake } from "./primitive.js"
import { errorTag } from "./stats.js"
import { annotateSpan } from "./tracing.js"

/** @internal */
export const retry = dual<
  <E, R2>(options: Primitive.RetryOptions<E, R2>) => <In, Out, R>(
    self: Primitive.Primitive<In, Out, E, R>
  ) => Primitive.Primitive<In, Out, E, R | R2>,
  <In, Out, E, R, R2>(
    self: Primitive.Primitive<In, Out, E, R>,
    options: Primitive.RetryOptions<E, R2>
  ) => Primitive.Primitive<In, Out, E, R | R2>
>(2, (self, options) => {
  const owner = `retry(${self.name})`
  if (typeof options !== "object" || options === null) Options.invalidShape(owner, "options must be an object")
  if (!Schedule.isSchedule(options.schedule)) {
    Options.invalid(owner, "schedule", "a Schedule (e.g. Schedule.recurs(3))", options.schedule)
  }
  // `any`: the schedule's and predicate's types were checked by `RetryOptions`; `Effect.retry`'s overloads cannot
  // be selected from an options object built at run time.
  // `any`: Effect's `retry` overloads do not take a schedule-or-options value built at run time
  const policy: { schedule: Schedule.Schedule<any, any, any>; while?: (e: any) => boolean } = {
    schedule: options.schedule
  }
  if (options.while !== undefined) policy.while = Options.func(owner, "while", options.while)
  return unsafeMake({
    name: options.name === undefined ? owner : Options.nonEmptyString(owner, "name", options.name),
    kind: "retry",
    children: [self],
    // `any`: Effect's `retry` overloads do not take a schedule-or-options value built at run time; the result keeps the primitive's own types
    body: (input) => Effect.retry(self.run(input), policy as any) as Effect.Effect<any, any, any>
  })
})

/** @internal */
export const timeout = dual<
  (duration: Duration.DurationInput) => <In, Out, E, R>(
    self: Primitive.Primitive<In, Out, E, R>
  ) => Primitive.Primitive<In, Out, E | Primitive.PrimitiveTimeout, R>,
  <In, Out, E, R>(
    self: Primitive.Primitive<In, Out, E, R>,
    duration: Duration.DurationInput
  ) => Primitive.Primitive<In, Out, E | Primitive.PrimitiveTimeout, R>
>(2, (self, input) => {
  const name = `timeout(${self.name})`
  const limit = Options.duration(name, "duration", input)
  return unsafeMake({
    name,
    kind: "timeout",
    children: [self],
    body: (input) =>
      Effect.timeoutFail(self.run(input), {
        duration: limit,
        onTimeout: () => new Primitive.PrimitiveTimeout({ primitive: self.name, duration: limit })
      })
  })
})

/** @internal */
export const fallback = (
  self: Primitive.Primitive.Any,
  alternatives: ReadonlyArray<Primitive.Primitive.Any>,
  // `any`: the implementation behind typed public overloads: the types are checked at call sites
  options?: Primitive.FallbackOptions<any>
): Primitive.Primitive.Any => {
  checkOptions("fallback", options)
  if (!Array.isArray(alternatives)) {
    return Options.invalidShape("fallback", `alternatives must be an array, got ${Options.show(alternatives)}`)
  }
  const name = options?.name === undefined
    ? `fallback(${[self, ...alternatives].map((p) => p?.name).join(" ?? ")})`
    : Options.nonEmptyString("fallback", "name", options.name)
  if (alternatives.length === 0) return Options.invalidShape(name, "a fallback needs at least one alternative")
  for (const p of [self, ...alternatives]) {
    if (!isPrimitive(p)) return Options.invalidShape(name, `every step must be a Primitive, got ${Options.show(p)}`)
  }
  const chain = [self, ...alternatives]
  const shouldFallBack: (error: unknown) => boolean = options?.when === undefined
    ? () => true
    : Options.func(name, "when", options.when)
  const body = (input: unknown) => {
    const attempt = (i: number): Effect.Effect<unknown, unknown, unknown> =>
      i === chain.length - 1
        ? chain[i]!.run(input)
        : Effect.catchIf(chain[i]!.run(input), shouldFallBack, (error) =>
          Effect.zipRight(
            // Only under a span (`annotateSpan`: Effect's `annotateCurrentSpan` costs ~10 us a hop without
            // one; bench/alternatives.ts `fallback.*.primary-fails`).
            annotateSpan(() => ({
              "flowtune.fallback.from": chain[i]!.name,
              "flowtune.fallback.to": chain[i + 1]!.name,
              "flowtune.fallback.error": errorTag(error)
            })),
            attempt(i + 1)
          ))
    return attempt(0)
  }
  return unsafeMake({ name, kind: "fallback", children: chain, body })
}
