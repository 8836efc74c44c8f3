import postgres from 'postgres'
import { reconnectBackoff } from '../db'
import { JOURNAL_CHANNEL, type Journal } from './journal'
import { describeError } from './logSafe'

/** Whoever holds this session-level advisory lock runs the periodic jobs. */
export const LEADER_LOCK = 7310003

export interface Cluster {
  isLeader: () => boolean
  /** Called each time this instance takes the leader lock (at start, or from a dead leader). */
  onLeader: (listener: () => void) => () => void
  stop: () => Promise<void>
}

/**
 * Joins the other instances on one Postgres: another instance's NOTIFY wakes the journal's catch-up
 * (so does a reconnect of the listener, so a lost notification costs nothing), and a session advisory lock elects
 * the one instance that runs periodic jobs; when it dies its lock goes with its connection.
 */
export async function joinCluster(url: string, journal: Journal, checkMs = 5000): Promise<Cluster> {
  const listener = postgres(url, { max: 1, onnotice: () => {}, backoff: reconnectBackoff, connection: { application_name: 'nodepulse-listen' } })
  await listener.listen(JOURNAL_CHANNEL, (origin) => {
    if (origin !== journal.origin) void journal.catchUp('notify', origin)
  }, () => void journal.catchUp('reconnect'))

  // One long-lived connection holds the leader lock: no idle or lifetime recycling, which would drop it.
  const lock = postgres(url, { max: 1, idle_timeout: 0, max_lifetime: null, onnotice: () => {}, backoff: reconnectBackoff, connection: { application_name: 'nodepulse-leader' } })
  let leader = false
  const listeners = new Set<() => void>()
  const check = async () => {
    const was = leader
    try {
      if (leader) {
        // Still ours on this very connection? (A reconnect would have silently lost it.)
        const [row] = await lock`select exists(select 1 from pg_locks where locktype = 'advisory' and objid = ${LEADER_LOCK} and pid = pg_backend_pid() and granted) as held`
        leader = Boolean(row?.held)
      }
      if (!leader) {
        const [row] = await lock`select pg_try_advisory_lock(${LEADER_LOCK}) as ok`
        leader = Boolean(row?.ok)
      }
    }
    catch {
      leader = false
    }
    if (leader && !was) listeners.forEach(l => l())
  }
  await check()
  const timer = setInterval(() => void check(), checkMs)
  timer.unref()

  return {
    isLeader: () => leader,
    onLeader(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    async stop() {
      clearInterval(timer)
      await Promise.all([listener.end({ timeout: 2 }), lock.end({ timeout: 2 })])
    },
  }
}

/** A periodic job that only the leader runs. */
export interface LeaderJob {
  /** When the job last finished without error on this instance; null before that. */
  lastRun: () => Date | null
  /** Stops the timer and waits for a run in progress. */
  stop: () => Promise<void>
}

/**
 * Runs `job` every `everyMs` while this instance is the leader (always without a cluster), and at
 * once when it becomes leader: at start-up, and when it takes over from a dead leader, so the
 * jobs that leader missed do not wait a whole period. Runs never overlap.
 */
export function leaderJob(name: string, everyMs: number, job: () => Promise<void>, cluster?: Cluster): LeaderJob {
  let lastRun: Date | null = null
  let running: Promise<void> | null = null
  let stopped = false
  const run = () => {
    if (stopped || running || (cluster && !cluster.isLeader())) return
    running = job().then(() => {
      lastRun = new Date()
    }, error => console.error(`[nodepulse] ${name} failed: ${describeError(error)}`)).finally(() => {
      running = null
    })
  }
  const timer = setInterval(run, everyMs)
  timer.unref()
  const off = cluster?.onLeader(run)
  setImmediate(run)
  return {
    lastRun: () => lastRun,
    async stop() {
      stopped = true
      clearInterval(timer)
      off?.()
      await running
    },
  }
}
