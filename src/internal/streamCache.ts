import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import { dual } from "effect/Function"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as EffectStream from "effect/Stream"
import type * as FlowStream from "../Stream.js"
import * as options_ from "./options.js"
import * as internal from "./stream.js"

/** @internal */
export const memoryStore = <A>(): Effect.Effect<FlowStream.RecordingStore<A, never>> =>
  Effect.sync(() => {
    const entries = new Map<string, FlowStream.Recording<A>>()
    return {
      get: (key) => Effect.sync(() => Option.fromNullable(entries.get(key))),
      set: (key, value) =>
        Effect.sync(() => {
          entries.set(key, value)
        })
    }
  })

/**
 * One upstream run (or one replay of a stored answer) and everything it has
 * delivered so far, read by any number of consumers, each at its own pace.
 */
interface Flight<A, E> {
  readonly chunks: Array<Chunk.Chunk<A>>
  readonly offsets: Array<number>
  end: Exit.Exit<void, E> | undefined
  /** Completed, then replaced, whenever a chunk or the end arrives. */
  wake: Deferred.Deferred<void>
  subscribers: number
  fiber: Fiber.RuntimeFiber<void, never> | undefined
  /** Filled from the store: consumers apply the replay pacing. */
  replay: boolean
}

type Pacer = (start: number, now: number, index: number, offsetMs: number) => number

const pacer = (name: string, pace: FlowStream.Pace | undefined): Pacer | undefined => {
  if (pace === undefined || pace === "immediate") return undefined
  if (pace === "original") return (start, now, _index, offset) => start + offset - now
  // Checked before decoding: `Duration.decode` reads "-5 millis" and NaN as zero.
  const millis = Duration.toMillis(options_.duration(name, "pace", pace, { zero: true }))
  return (_start, _now, index) => index === 0 ? 0 : millis
}

const wake = <A, E>(flight: Flight<A, E>) => {
  const current = flight.wake
  flight.wake = Deferred.unsafeMake(FiberId.none)
  Deferred.unsafeDone(current, Exit.void)
}

const engine = <In, A, E, R, SE, SR>(
  self: FlowStream.StreamPrimitive<In, A, E, R>,
  name: string,
  options: {
    readonly key: (input: In) => string
    readonly store?: FlowStream.RecordingStore<A, SE, SR> | undefined
  },
  pace: Pacer | undefined,
  scope: Scope.Scope
) => {
  const flights = new Map<string, Flight<A, E>>()
  const store = options.store
  const counters = internal.cacheCounters(name)
  const count = (result: "hit" | "miss" | "shared") => Metric.increment(counters[result])

  const remove = (key: string, flight: Flight<A, E>) => {
    if (flights.get(key) === flight) flights.delete(key)
  }

  const settle = (flight: Flight<A, E>, exit: Exit.Exit<void, E>) => {
    if (flight.end === undefined) {
      flight.end = exit
      wake(flight)
    }
  }

  const upstream = (key: string, input: In, flight: Flight<A, E>) =>
    Effect.clockWith((clock) => {
      const start = clock.unsafeCurrentTimeMillis()
      return EffectStream.runForEachChunk(self.stream(input), (chunk) =>
        Effect.sync(() => {
          flight.chunks.push(chunk)
          flight.offsets.push(clock.unsafeCurrentTimeMillis() - start)
          wake(flight)
        })).pipe(
          Effect.exit,
          Effect.flatMap((exit) => {
            settle(flight, exit)
            if (Exit.isFailure(exit) || store === undefined) return Effect.void
            const recording: FlowStream.Recording<A> = {
              chunks: flight.chunks.map(Chunk.toReadonlyArray),
              offsetsMs: flight.offsets
            }
            return store.set(key, recording).pipe(
              Effect.catchAllCause((cause) =>
                Effect.logWarning(`${name}: could not store the stream for ${key}`, cause)
              )
            )
          })
        )
    })

  const produce = (key: string, input: In, flight: Flight<A, E>): Effect.Effect<void, never, R | SR> =>
    Effect.gen(function*() {
      if (store !== undefined) {
        const hit = yield* store.get(key).pipe(
          Effect.catchAllCause((cause) =>
            Effect.as(Effect.logWarning(`${name}: could not read the stream for ${key}`, cause), Option.none())
          )
        )
        if (Option.isSome(hit)) {
          yield* count("hit")
          flight.replay = true
          const { chunks, offsetsMs } = hit.value
          for (let i = 0; i < chunks.length; i++) {
            flight.chunks.push(Chunk.unsafeFromArray(chunks[i]!))
            flight.offsets.push(offsetsMs[i] ?? 0)
          }
          settle(flight, Exit.void)
          return
        }
      }
      yield* count("miss")
      yield* upstream(key, input, flight)
    }).pipe(
      Effect.onExit((exit) =>
        Effect.sync(() => {
          // Interrupted (its consumers all left, or the scope closed): anyone
          // still reading sees the interruption; nothing was stored.
          if (Exit.isFailure(exit)) settle(flight, exit as Exit.Exit<void, never>)
          remove(key, flight)
        })
      )
    )

  const subscribe = (key: string, input: In) =>
    Effect.suspend(() => {
      const existing = flights.get(key)
      if (existing !== undefined) {
        existing.subscribers++
        return Effect.as(count("shared"), existing)
      }
      const flight: Flight<A, E> = {
        chunks: [],
        offsets: [],
        end: undefined,
        wake: Deferred.unsafeMake(FiberId.none),
        subscribers: 1,
        fiber: undefined,
        replay: false
      }
      flights.set(key, flight)
      // Acquisition is uninterruptible and a fork inherits that: the upstream
      // must stay interruptible so its last consumer can stop it.
      return Effect.map(Effect.forkIn(Effect.interruptible(produce(key, input, flight)), scope), (fiber) => {
        flight.fiber = fiber
        return flight
      })
    })

  const unsubscribe = (key: string, flight: Flight<A, E>) =>
    Effect.suspend(() => {
      flight.subscribers--
      if (flight.subscribers > 0 || flight.end !== undefined || flight.fiber === undefined) return Effect.void
      // The last consumer left before the end: stop the upstream (and wait for
      // its finalizers, so an HTTP request is aborted before we return).
      remove(key, flight)
      return Fiber.interrupt(flight.fiber)
    })

  const read = (flight: Flight<A, E>): EffectStream.Stream<A, E> =>
    EffectStream.unwrap(Effect.clockWith((clock) => {
      const start = clock.unsafeCurrentTimeMillis()
      const pull = (i: number): Effect.Effect<Option.Option<readonly [Chunk.Chunk<A>, number]>, E> =>
        Effect.suspend(() => {
          if (i < flight.chunks.length) {
            const emit = Effect.succeed(Option.some([flight.chunks[i]!, i + 1] as const))
            if (pace === undefined || !flight.replay) return emit
            const delay = pace(start, clock.unsafeCurrentTimeMillis(), i, flight.offsets[i]!)
            return delay > 0 ? Effect.zipRight(Effect.sleep(Duration.millis(delay)), emit) : emit
          }
          if (flight.end !== undefined) {
            return Exit.isSuccess(flight.end) ? Effect.succeed(Option.none()) : Effect.failCause(flight.end.cause)
          }
          return Effect.zipRight(Deferred.await(flight.wake), pull(i))
        })
      return Effect.succeed(EffectStream.unfoldChunkEffect(0, pull))
    }))

  return (input: In): EffectStream.Stream<A, E, R | SR> =>
    EffectStream.unwrapScoped(Effect.suspend(() => {
      const key = options.key(input)
      return Effect.map(
        Effect.acquireRelease(subscribe(key, input), (flight) => unsubscribe(key, flight)),
        read
      )
    }))
}

const checkShare = <In>(
  owner: string,
  self: FlowStream.StreamPrimitive.Any,
  options: FlowStream.ShareOptions<In>,
  prefix: string
): string => {
  if (typeof options !== "object" || options === null) {
    return options_.invalid(owner, "options", "an object with a `key` function", options)
  }
  const name = options.name === undefined
    ? `${prefix}(${self.name})`
    : options_.nonEmptyString(owner, "name", options.name)
  options_.func(name, "key", options.key)
  return name
}

/** @internal */
export const share = dual<
  <In>(options: FlowStream.ShareOptions<In>) => <A, E, R>(
    self: FlowStream.StreamPrimitive<In, A, E, R>
  ) => Effect.Effect<FlowStream.StreamPrimitive<In, A, E, R>, never, Scope.Scope>,
  <In, A, E, R>(
    self: FlowStream.StreamPrimitive<In, A, E, R>,
    options: FlowStream.ShareOptions<In>
  ) => Effect.Effect<FlowStream.StreamPrimitive<In, A, E, R>, never, Scope.Scope>
>(2, (self, options) => {
  const name = checkShare("Stream.share", self, options, "share")
  return Effect.map(Effect.scope, (scope) =>
    internal.unsafeMake({
      name,
      kind: "stream.share",
      children: [self],
      annotations: self.annotations,
      body: engine(self, name, { key: options.key }, undefined, scope)
    }))
})

/** @internal */
export const cached = dual<
  <In, A, SE, SR>(options: FlowStream.CachedOptions<In, A, SE, SR>) => <E, R>(
    self: FlowStream.StreamPrimitive<In, A, E, R>
  ) => Effect.Effect<FlowStream.StreamPrimitive<In, A, E, R | SR>, never, Scope.Scope>,
  <In, A, E, R, SE, SR>(
    self: FlowStream.StreamPrimitive<In, A, E, R>,
    options: FlowStream.CachedOptions<In, A, SE, SR>
  ) => Effect.Effect<FlowStream.StreamPrimitive<In, A, E, R | SR>, never, Scope.Scope>
>(2, (self, options) => {
  const name = checkShare("Stream.cached", self, options, "cached")
  const store = options.store as unknown
  if (
    typeof store !== "object" || store === null ||
    typeof (store as FlowStream.RecordingStore<unknown>).get !== "function" ||
    typeof (store as FlowStream.RecordingStore<unknown>).set !== "function"
  ) {
    options_.invalid(name, "store", "a RecordingStore ({ get, set }, e.g. Stream.memoryStore())", store)
  }
  // Checked here, where the workflow is defined, not on the first hit.
  const pace = pacer(name, options.pace)
  return Effect.map(Effect.scope, (scope) =>
    internal.unsafeMake({
      name,
      kind: "stream.cached",
      children: [self],
      annotations: self.annotations,
      body: engine(self, name, options, pace, scope)
    }))
})
