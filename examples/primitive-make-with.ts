/**
 * A combinator of your own with `Primitive.makeWith`: kind, children,
 * annotations and extra fields are given at construction (nothing is patched
 * on a finished primitive), and the run hook receives the fiber, so it can
 * read a service or the clock in the same step as the tracer check.
 *
 * Here: `twice(p)` runs a step on its own output, and records how long it
 * took from the fiber's clock. With `Tracing.record`, the run is one span of
 * kind "twice" with two children.
 *
 * Run: npx tsx examples/primitive-make-with.ts
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Primitive from "flowtune/Primitive"
import * as Tracing from "flowtune/Tracing"

const twice = <A, E, R>(self: Primitive.Primitive<A, A, E, R>) =>
  Primitive.makeWith({
    name: `twice(${self.name})`,
    kind: "twice",
    children: [self],
    annotations: { description: "runs its step on its own output" },
    fields: { inner: self.name },
    run: (input: A, fiber) => {
      const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
      const start = clock.unsafeCurrentTimeMillis()
      return Effect.map(
        Effect.flatMap(self.run(input), self.run),
        (out) => ({ out, millis: clock.unsafeCurrentTimeMillis() - start })
      )
    }
  })

const double = Primitive.fromFunction("double", (n: number) => n * 2)
const quadruple = twice(double)

const program = Effect.gen(function*() {
  const plain = yield* Primitive.run(quadruple, 5)
  console.log(`${quadruple.name} (${quadruple.kind}) of 5:`, plain.out)
  const [, spans] = yield* Tracing.record(Primitive.run(quadruple, 5))
  console.log(Tracing.formatTree(spans))
})

Effect.runPromise(program)
