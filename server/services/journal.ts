import { randomUUID } from 'node:crypto'
import { asc, eq, gt, sql, type SQL } from 'drizzle-orm'
import type { Database } from '../db'
import { events, nodeSamples, settings, type EventRow, type SampleRow, type SampleValues } from '../db/schema'

/** Held for the length of every transaction that takes stream positions, on every instance. */
export const JOURNAL_LOCK = 7310002
/** The Postgres NOTIFY channel that wakes other instances; the payload names the writer only (the tables are the truth). */
export const JOURNAL_CHANNEL = 'nodepulse_journal'
const CATCH_UP_PAGE = 2000

/** A stored stats sample as the reports channel carries it. */
export type ReportEntry = Pick<SampleRow, 'id' | 'nodeId' | 'receivedAt'> & Omit<SampleValues, 'detail'> & {
  /** Present when read back from the database by another instance (the master's extra figures). */
  detail?: SampleValues['detail']
}

export type JournalEntry = { kind: 'log', row: EventRow } | { kind: 'report', row: ReportEntry }

/**
 * The order of everything the streams can replay. Writes that take stream positions (reports,
 * events) run one at a time through `run`, so commit order, position order and publish order are
 * the same in this process: a client that resumes after position P has seen exactly what is ≤ P.
 */
export function createJournal(db?: Database, opts: { shared?: boolean } = {}) {
  let tail: Promise<unknown> = Promise.resolve()
  let position = 0
  let purgedUpTo = 0
  const listeners = new Set<(entries: JournalEntry[]) => void>()
  let catching: Promise<void> | null = null
  let again = false
  const origin = randomUUID()

  // A write and a catch-up that a NOTIFY started can both hold the same rows: what is at or below
  // `position` has been announced already (entries are announced in position order).
  const announce = (all: JournalEntry[]) => {
    const entries = all.filter(e => e.row.id > position)
    if (!entries.length) return
    position = entries.at(-1)!.row.id
    listeners.forEach(l => l(entries))
  }

  /** Reads the retention watermark another instance (or an earlier run) stored. */
  async function readPurged(): Promise<void> {
    const [purged] = await db!.select().from(settings).where(eq(settings.key, 'purged_position'))
    purgedUpTo = Math.max(purgedUpTo, purged ? Number(purged.value) : 0)
  }

  /** The next committed entries after `position`, in position order (shared mode). */
  async function readAfter(from: number): Promise<JournalEntry[]> {
    const logs = await db!.select().from(events).where(gt(events.id, from)).orderBy(asc(events.id)).limit(CATCH_UP_PAGE)
    const reports = await db!.select({
      id: nodeSamples.id, nodeId: nodeSamples.nodeId, ts: nodeSamples.ts, receivedAt: nodeSamples.receivedAt, cpuPercent: nodeSamples.cpuPercent,
      memoryPercent: nodeSamples.memoryPercent, diskPercent: nodeSamples.diskPercent, uptimeSeconds: nodeSamples.uptimeSeconds, activeBackups: nodeSamples.activeBackups, detail: nodeSamples.detail,
    }).from(nodeSamples).where(gt(nodeSamples.id, from)).orderBy(asc(nodeSamples.id)).limit(CATCH_UP_PAGE)
    // A full page may stop short of the other table's rows: keep only what both pages cover.
    const cut = Math.min(logs.length === CATCH_UP_PAGE ? logs.at(-1)!.id : Infinity, reports.length === CATCH_UP_PAGE ? reports.at(-1)!.id : Infinity)
    const entries: JournalEntry[] = [
      ...logs.map(row => ({ kind: 'log' as const, row })),
      ...reports.map(row => ({ kind: 'report' as const, row })),
    ]
    return entries.filter(e => e.row.id <= cut).sort((a, b) => a.row.id - b.row.id)
  }

  /**
   * Shared mode: announces everything committed after `position`, by any instance. Position-taking
   * transactions hold JOURNAL_LOCK, so they commit in position order cluster-wide and "id > position"
   * never skips a row that commits late.
   */
  function catchUp(): Promise<void> {
    if (catching) {
      again = true
      return catching
    }
    catching = (async () => {
      try {
        do {
          again = false
          let page: JournalEntry[]
          do {
            page = await readAfter(position)
            announce(page)
          } while (page.length)
        } while (again)
      }
      finally {
        catching = null
      }
    })()
    return catching
  }

  return {
    /** Reads the current position and the retention watermark (at start-up). */
    async load(): Promise<void> {
      if (!db) return
      // The newest committed row, not the sequence: another instance may hold higher ids uncommitted.
      const [e] = await db.select({ max: sql<number | null>`max(${events.id})` }).from(events)
      const [r] = await db.select({ max: sql<number | null>`max(${nodeSamples.id})` }).from(nodeSamples)
      position = Math.max(Number(e?.max ?? 0), Number(r?.max ?? 0))
      await readPurged()
    },

    /** Runs a position-taking write after every earlier one has finished. */
    run<T>(write: () => Promise<T>): Promise<T> {
      const result = tail.then(write)
      tail = result.catch(() => {})
      return result
    },

    /**
     * Announces committed entries (call inside `run`, after the commit, in position order). When
     * instances share the database and another instance may have committed between the last
     * announced position and these (a gap before them), the database is read instead, so every
     * instance announces the same entries in the same order; with no gap nothing can sit between,
     * since positions are taken and committed under JOURNAL_LOCK.
     */
    async committed(entries: JournalEntry[]): Promise<void> {
      if (opts.shared && entries.length && entries[0]!.row.id > position + 1) await catchUp()
      else announce(entries)
    },

    /** Reads what other instances committed (on their NOTIFY, and after the listener reconnects). */
    catchUp: () => (opts.shared ? catchUp() : Promise.resolve()),

    /** Names this process in its NOTIFY payloads, so its listener skips its own (its writes announce themselves). */
    origin,

    /** Whether instances share the database (Postgres). */
    shared: Boolean(opts.shared),

    /** Records that retention deleted everything up to `upTo`; older resume points get a reset. */
    async purged(upTo: number): Promise<void> {
      if (upTo <= purgedUpTo) return
      purgedUpTo = upTo
      // Never moves back, whichever instance wrote last.
      await db?.insert(settings).values({ key: 'purged_position', value: String(upTo) })
        .onConflictDoUpdate({ target: settings.key, set: { value: sql`greatest(${settings.value}::bigint, excluded.value::bigint)::text` } })
    },

    /** The newest committed position. */
    position: () => position,

    /**
     * Positions at or below this were deleted by retention. When instances share the database the
     * leader may have purged since start-up, so it is read again (one small query per resume).
     */
    async purgedUpTo(): Promise<number> {
      if (opts.shared && db) await readPurged()
      return purgedUpTo
    },

    onCommit(listener: (entries: JournalEntry[]) => void): () => void {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}

export type Journal = ReturnType<typeof createJournal>

/**
 * The query that takes the cluster-wide journal lock (held to the end of the transaction) and
 * queues the wake-up for other instances (NOTIFY is delivered at commit).
 */
export function journalLockQuery(journal: Journal): SQL {
  return sql`select pg_advisory_xact_lock(${JOURNAL_LOCK}), pg_notify(${JOURNAL_CHANNEL}, ${journal.origin})`
}

/** Starts a position-taking transaction: takes the journal lock. Only when instances share a database. */
export async function lockJournal(tx: Pick<Database, 'execute'>, journal: Journal): Promise<void> {
  if (!journal.shared) return
  await tx.execute(journalLockQuery(journal))
}
