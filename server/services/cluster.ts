import postgres from 'postgres'
import { JOURNAL_CHANNEL, type Journal } from './journal'

/** Whoever holds this session-level advisory lock runs the periodic jobs. */
export const LEADER_LOCK = 7310003

export interface Cluster {
  isLeader: () => boolean
  stop: () => Promise<void>
}

/**
 * Joins the other instances on one Postgres: LISTEN wakes the journal's catch-up (also after the
 * listener reconnects, so a lost notification costs nothing), and a session advisory lock elects
 * the one instance that runs periodic jobs; when it dies its lock goes with its connection.
 */
export async function joinCluster(url: string, journal: Journal, checkMs = 5000): Promise<Cluster> {
  const listener = postgres(url, { max: 1, onnotice: () => {}, connection: { application_name: 'nodepulse-listen' } })
  await listener.listen(JOURNAL_CHANNEL, () => void journal.catchUp(), () => void journal.catchUp())

  // One long-lived connection holds the leader lock: no idle or lifetime recycling, which would drop it.
  const lock = postgres(url, { max: 1, idle_timeout: 0, max_lifetime: null, onnotice: () => {}, connection: { application_name: 'nodepulse-leader' } })
  let leader = false
  const check = async () => {
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
  }
  await check()
  const timer = setInterval(() => void check(), checkMs)
  timer.unref()

  return {
    isLeader: () => leader,
    async stop() {
      clearInterval(timer)
      await Promise.all([listener.end({ timeout: 2 }), lock.end({ timeout: 2 })])
    },
  }
}
