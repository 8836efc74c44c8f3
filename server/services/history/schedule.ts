/**
 * When the leader's rollup runs. Queries read a tier and the raw samples past its cursor, so how
 * often the rollup runs changes no answer, only what each one costs; alert rules read closed
 * buckets of the finest tier, so they need a run after each bucket closes. The leader's timer asks
 * every tick; a run is due
 * - after each finest-tier bucket closes (alert rules see every closed bucket within one tick),
 * - while samples arrive faster than `busySamples` a tick (a big fleet's raw tail, which every
 *   query reads, stays short and each run's batch small),
 * - when a sample arrives for a bucket that had closed before the last run (an agent's spool sent
 *   late: alert rules see it at the next tick, not a minute later), and
 * - until a run has caught up (start-up, a new leader, a run that hit its time budget or failed).
 * An idle server with only its master node rolls up once a minute instead of every tick: on the
 * embedded database each run is some fifteen statements for the WebAssembly Postgres to parse and
 * plan, most of the idle server's CPU (BENCHMARKS.md, "Idle footprint").
 */
export interface RollupSchedule {
  /** Counts samples committed since the last run began; `oldest`: the earliest sample time among them (ms). */
  arrived: (samples: number, oldest?: number) => void
  /** Whether a run is due now. */
  due: (now?: number) => boolean
  /** Marks a run begun now; call the returned function when it has finished, with whether it caught up. */
  begin: (now?: number) => (caughtUp: boolean) => void
}

export function createRollupSchedule(opts: { widthSeconds: number | null, busySamples: number }): RollupSchedule {
  const width = opts.widthSeconds ? opts.widthSeconds * 1000 : null
  const bucketOf = (at: number) => (width ? Math.floor(at / width) : 0)
  let waiting = 0
  let rolledBucket: number | null = null
  let behind = true
  let oldest = Number.POSITIVE_INFINITY
  return {
    arrived(samples, at = Number.POSITIVE_INFINITY) {
      waiting += samples
      oldest = Math.min(oldest, at)
    },
    due(now = Date.now()) {
      const late = rolledBucket !== null && bucketOf(oldest) < rolledBucket
      return behind || late || waiting >= opts.busySamples || bucketOf(now) !== rolledBucket
    },
    begin(now = Date.now()) {
      const bucket = bucketOf(now)
      const counted = waiting
      const seen = oldest
      // Behind until the run says it caught up: a run that throws never does, so the next tick runs again.
      behind = true
      // Samples arriving during the run count towards the next one.
      return (caughtUp) => {
        waiting = Math.max(0, waiting - counted)
        if (oldest === seen) oldest = Number.POSITIVE_INFINITY
        rolledBucket = bucket
        behind = !caughtUp
      }
    },
  }
}
