/**
 * A discrete-event runtime for long virtual-time runs: the real library code
 * on a clock that jumps from timer to timer, with every fiber step run by a
 * scheduler this file drains. Effect's `TestClock` polls fiber states and
 * waits a real timer at every wake-up (about 1-40 ms each), which is right
 * for unit tests and far too slow for the 10^4-10^5 calls a p99.9 needs;
 * here a wake-up costs microseconds and the figures are exact.
 *
 * Only for effects that wait on the clock (sleeps, timeouts) and on each
 * other: a real socket or promise would never be waited for.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Scheduler from "effect/Scheduler"

interface Timer {
  readonly at: number
  readonly seq: number
  readonly fire: () => void
  cancelled: boolean
}

/** A binary heap of timers by (time, order of registration). */
class Timers {
  private heap: Array<Timer> = []
  get size() {
    return this.heap.length
  }
  private less(a: Timer, b: Timer) {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq)
  }
  push(t: Timer) {
    const h = this.heap
    h.push(t)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.less(h[i]!, h[p]!)) break
      ;[h[i], h[p]] = [h[p]!, h[i]!]
      i = p
    }
  }
  pop(): Timer | undefined {
    const h = this.heap
    const top = h[0]
    const last = h.pop()
    if (h.length > 0 && last !== undefined) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m]!, h[i]!]
        i = m
      }
    }
    return top
  }
}

/** Runs `effect` to completion in virtual time; returns its exit and the virtual milliseconds it took. */
export const runVirtual = <A, E>(effect: Effect.Effect<A, E>): { exit: Exit.Exit<A, E>; elapsedMs: number } => {
  let now = 0
  let seq = 0
  const timers = new Timers()
  let tasks: Array<() => void> = []
  const scheduler = Scheduler.make((task) => {
    tasks.push(task)
  }, () => false)
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => now,
    currentTimeMillis: Effect.sync(() => now),
    unsafeCurrentTimeNanos: () => BigInt(Math.round(now * 1e6)),
    currentTimeNanos: Effect.sync(() => BigInt(Math.round(now * 1e6))),
    sleep: (duration: Duration.Duration) =>
      Effect.async<void>((resume) => {
        const timer: Timer = {
          at: now + Duration.toMillis(duration),
          seq: seq++,
          fire: () => resume(Effect.void),
          cancelled: false
        }
        timers.push(timer)
        return Effect.sync(() => {
          timer.cancelled = true
        })
      })
  }
  const fiber = Effect.runFork(Effect.withClock(effect, clock), { scheduler, immediate: true })
  let exit: Exit.Exit<A, E> | undefined
  fiber.addObserver((e) => (exit = e))
  for (;;) {
    while (tasks.length > 0) {
      const batch = tasks
      tasks = []
      for (const task of batch) task()
    }
    if (exit !== undefined) return { exit, elapsedMs: now }
    const next = timers.pop()
    if (next === undefined) throw new Error("runVirtual: every fiber waits and no timer is set (deadlock)")
    if (next.cancelled) continue
    now = Math.max(now, next.at)
    next.fire()
  }
}
