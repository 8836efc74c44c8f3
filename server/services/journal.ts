import { eq, sql } from 'drizzle-orm'
import type { Database } from '../db'
import { settings, type EventRow } from '../db/schema'

/** A stored stats sample as the reports channel carries it. */
export interface ReportEntry {
  id: number
  nodeId: number
  ts: Date
  receivedAt: Date
  cpuPercent: number
  memoryPercent: number | null
  diskPercent: number
  uptimeSeconds: number | null
  activeBackups: number | null
}

export type JournalEntry = { kind: 'log', row: EventRow } | { kind: 'report', row: ReportEntry }

/**
 * The order of everything the streams can replay. Writes that take stream positions (reports,
 * events) run one at a time through `run`, so commit order, position order and publish order are
 * the same in this process: a client that resumes after position P has seen exactly what is ≤ P.
 */
export function createJournal(db?: Database) {
  let tail: Promise<unknown> = Promise.resolve()
  let position = 0
  let purgedUpTo = 0
  const listeners = new Set<(entries: JournalEntry[]) => void>()

  return {
    /** Reads the current position and the retention watermark (at start-up). */
    async load(): Promise<void> {
      if (!db) return
      const rows = await db.execute<{ last_value: string | number, is_called: boolean }>(sql`select last_value, is_called from stream_position`)
      const row = (Array.isArray(rows) ? rows : (rows as { rows: { last_value: string | number, is_called: boolean }[] }).rows)[0]!
      position = row.is_called ? Number(row.last_value) : 0
      const [purged] = await db.select().from(settings).where(eq(settings.key, 'purged_position'))
      purgedUpTo = purged ? Number(purged.value) : 0
    },

    /** Runs a position-taking write after every earlier one has finished. */
    run<T>(write: () => Promise<T>): Promise<T> {
      const result = tail.then(write)
      tail = result.catch(() => {})
      return result
    },

    /** Announces committed entries (call inside `run`, after the commit, in position order). */
    committed(entries: JournalEntry[]): void {
      if (!entries.length) return
      position = Math.max(position, ...entries.map(e => e.row.id))
      listeners.forEach(l => l(entries))
    },

    /** Records that retention deleted everything up to `upTo`; older resume points get a reset. */
    async purged(upTo: number): Promise<void> {
      if (upTo <= purgedUpTo) return
      purgedUpTo = upTo
      await db?.insert(settings).values({ key: 'purged_position', value: String(upTo) })
        .onConflictDoUpdate({ target: settings.key, set: { value: String(upTo) } })
    },

    /** The newest committed position. */
    position: () => position,
    /** Positions at or below this were deleted by retention. */
    purgedUpTo: () => purgedUpTo,

    onCommit(listener: (entries: JournalEntry[]) => void): () => void {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}

export type Journal = ReturnType<typeof createJournal>
