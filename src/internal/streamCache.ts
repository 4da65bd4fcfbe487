import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as RcMap from "effect/RcMap"
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
 * One upstream run (or one replay of a stored answer) for a key, with the
 * services of the request that started it. It is the `RcMap` key, by identity:
 * a request joins the current run of its key; once that run has ended, the
 * next request starts another (its last readers keep theirs to the end).
 */
class Run<In, R> {
  constructor(readonly key: string, readonly input: In, readonly context: Context.Context<R>) {}
}

type Pacer = (start: number, now: number, index: number, offsetMs: number) => number

const pacer = (name: string, pace: FlowStream.Pace | undefined): Pacer | undefined => {
  if (pace === undefined || pace === "immediate") return undefined
  if (pace === "original") return (start, now, _index, offset) => start + offset - now
  // Checked before decoding: `Duration.decode` reads "-5 millis" and NaN as zero.
  const millis = Duration.toMillis(options_.duration(name, "pace", pace, { zero: true }))
  return (_start, _now, index) => index === 0 ? 0 : millis
}

/** A stored answer read by one consumer, in its original chunks, at the given pace. */
const replay = <A>(recording: FlowStream.Recording<A>, pace: Pacer | undefined): EffectStream.Stream<A> => {
  const chunks = recording.chunks.map((chunk) => Chunk.unsafeFromArray(chunk))
  return EffectStream.unwrap(Effect.clockWith((clock) => {
    const start = clock.unsafeCurrentTimeMillis()
    return Effect.succeed(EffectStream.unfoldChunkEffect(0, (i) => {
      if (i >= chunks.length) return Effect.succeedNone
      const emit = Effect.succeed(Option.some([chunks[i]!, i + 1] as const))
      if (pace === undefined) return emit
      const delay = pace(start, clock.unsafeCurrentTimeMillis(), i, recording.offsetsMs[i] ?? 0)
      return delay > 0 ? Effect.zipRight(Effect.sleep(Duration.millis(delay)), emit) : emit
    }))
  }))
}

/**
 * The sharing engine, on Effect's own pieces: an `RcMap` holds each run for
 * as long as one consumer reads it (the last one leaving closes its scope,
 * which stops the upstream and waits for its finalizers), and a run in flight
 * is a `Stream.broadcastDynamic` replaying every chunk (`replay: Infinity`):
 * a late joiner gets the chunks delivered so far, then the live ones, and an
 * upstream error reaches every consumer. The counters, the recording store
 * and the replay pacing of `cached` sit on top.
 */
const engine = <In, A, E, R, SE, SR>(
  self: FlowStream.StreamPrimitive<In, A, E, R>,
  name: string,
  options: {
    readonly key: (input: In) => string
    readonly store?: FlowStream.RecordingStore<A, SE, SR> | undefined
  },
  pace: Pacer | undefined
) => {
  const store = options.store
  const counters = internal.cacheCounters(name)
  const count = (result: "hit" | "miss" | "shared") => Metric.increment(counters[result])
  /** The run each key's next request joins. */
  const current = new Map<string, Run<In, R | SR>>()
  const retire = (run: Run<In, R | SR>) =>
    Effect.sync(() => {
      if (current.get(run.key) === run) current.delete(run.key)
    })

  /**
   * The upstream, then, once it completed, its recording stored and the run
   * retired, before its end reaches the consumers. Its own finalizers run as
   * soon as it ends (inside `concat`; the broadcast keeps the finalizers of
   * the stream it is given until its last consumer leaves).
   */
  const upstream = (run: Run<In, R | SR>, completed: Effect.Effect<void>): EffectStream.Stream<A, E, R | SR> =>
    EffectStream.unwrap(Effect.clockWith((clock) =>
      Effect.sync(() => {
        const start = clock.unsafeCurrentTimeMillis()
        const chunks: Array<Chunk.Chunk<A>> = []
        const offsetsMs: Array<number> = []
        const source = store === undefined ? self.stream(run.input) : EffectStream.mapChunks(
          self.stream(run.input),
          (chunk) => {
            chunks.push(chunk)
            offsetsMs.push(clock.unsafeCurrentTimeMillis() - start)
            return chunk
          }
        )
        const save = store === undefined ?
          Effect.void :
          Effect.suspend(() =>
            store.set(run.key, { chunks: chunks.map(Chunk.toReadonlyArray), offsetsMs }).pipe(
              Effect.catchAllCause((cause) =>
                Effect.logWarning(`${name}: could not store the stream for ${run.key}`, cause)
              )
            )
          )
        return EffectStream.concat(
          EffectStream.onError(source, () => retire(run)),
          EffectStream.execute(Effect.zipRight(save, Effect.zipRight(retire(run), completed)))
        )
      })
    ))

  const start = (run: Run<In, R | SR>): Effect.Effect<EffectStream.Stream<A, E>, never, Scope.Scope | R | SR> =>
    Effect.gen(function*() {
      // However the run ends, or its last consumer leaves, later requests start anew.
      yield* Effect.addFinalizer(() => retire(run))
      if (store !== undefined) {
        const hit = yield* store.get(run.key).pipe(
          Effect.catchAllCause((cause) =>
            Effect.as(Effect.logWarning(`${name}: could not read the stream for ${run.key}`, cause), Option.none())
          )
        )
        if (Option.isSome(hit)) {
          yield* count("hit")
          yield* retire(run)
          return replay(hit.value, pace)
        }
      }
      yield* count("miss")
      let completed = false
      const live = yield* EffectStream.broadcastDynamic(
        upstream(
          run,
          Effect.sync(() => {
            completed = true
          })
        ),
        { capacity: "unbounded", replay: Number.POSITIVE_INFINITY }
      )
      // A reader of a PubSub that shuts down sees a clean end: a run cut short
      // (its scope closed) must read as interrupted, not as a complete answer.
      return EffectStream.concat(
        live,
        EffectStream.suspend(() => completed ? EffectStream.empty : EffectStream.fromEffect(Effect.interrupt))
      )
    })

  return Effect.map(
    RcMap.make({
      // The run uses the services of the request that started it.
      // Interruptible: its last consumer leaving stops it.
      lookup: (run: Run<In, R | SR>) =>
        Effect.mapInputContext(
          Effect.interruptible(start(run)),
          (scope: Context.Context<Scope.Scope>) => Context.merge(run.context, scope)
        )
    }),
    (runs) => (input: In): EffectStream.Stream<A, E, R | SR> =>
      EffectStream.unwrapScoped(Effect.contextWithEffect((context: Context.Context<R | SR>) => {
        const key = options.key(input)
        const joined = current.get(key)
        if (joined !== undefined) return Effect.zipLeft(RcMap.get(runs, joined), count("shared"))
        const run = new Run(key, input, context)
        current.set(key, run)
        return RcMap.get(runs, run)
      }))
  )
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
>(2, <In, A, E, R>(self: FlowStream.StreamPrimitive<In, A, E, R>, options: FlowStream.ShareOptions<In>) => {
  const name = checkShare("Stream.share", self, options, "share")
  return Effect.map(
    engine<In, A, E, R, never, never>(self, name, { key: options.key }, undefined),
    (body) =>
      internal.unsafeMake({
        name,
        kind: "stream.share",
        children: [self],
        annotations: self.annotations,
        body
      })
  )
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
  return Effect.map(engine(self, name, options, pace), (body) =>
    internal.unsafeMake({
      name,
      kind: "stream.cached",
      children: [self],
      annotations: self.annotations,
      body
    }))
})
