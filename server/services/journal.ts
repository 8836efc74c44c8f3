import { randomUUID } from 'node:crypto'
import { appendFile } from 'node:fs'
import { and, asc, eq, gt, lte, sql, type SQL } from 'drizzle-orm'
import { rowsOf, type Database } from '../db'
import { events, nodeSamples, settings, type EventRow, type SampleRow, type SampleValues } from '../db/schema'

/**
 * Held by every event-log transaction to its commit, on every instance: event writes (and the
 * incidents they open) run one at a time cluster-wide. Reports do not take it.
 */
export const JOURNAL_LOCK = 7310002
/** The Postgres NOTIFY channel that wakes other instances; the payload names the writer only (the tables are the truth). */
export const JOURNAL_CHANNEL = 'nodepulse_journal'
const CATCH_UP_PAGE = 2000
/**
 * How soon a catch-up that saw committed entries it could not announce yet (a writer before them
 * still running) looks again, doubling up to RETRY_MAX_MS while nothing moves: the writer's own
 * NOTIFY normally comes first; this covers a rollback, which sends none.
 */
const RETRY_MS = 25
const RETRY_MAX_MS = 1000

// A writer registers the stream position it starts from as a shared advisory lock, held to its
// commit: key = (FLOOR_MARK << 48) + floor, so pg_locks shows classid = FLOOR_MARK << 16 | floor's
// high 16 bits, objid = its low 32 bits, objsubid = 1 (a bigint key). Shared locks never wait on
// each other, so writers on every instance run in parallel.
const FLOOR_MARK = 0x7310
/** Why a catch-up ran: another instance's NOTIFY, the listener's reconnect, this process's own write, the retry timer, a caller. */
export type CatchUpReason = 'notify' | 'reconnect' | 'own' | 'retry' | 'call'

/**
 * With NODEPULSE_JOURNAL_TRACE=FILE, one JSON line per own write, catch-up and announcement
 * (wall-clock ms), appended every 500 ms: what bench/scale-out.mjs --trace reads to split a
 * report's way from instance to instance. Nothing is kept or timed without it.
 */
function journalTrace(path: string | undefined, origin: string): ((record: Record<string, unknown>) => void) | null {
  if (!path) return null
  let lines: string[] = []
  setInterval(() => {
    if (!lines.length) return
    const text = lines.join('')
    lines = []
    appendFile(path, text, () => {})
  }, 500).unref()
  return record => lines.push(JSON.stringify({ o: origin, ...record }) + '\n')
}
const wallNow = () => performance.timeOrigin + performance.now()

/** The newest position drawn from the sequence so far (not necessarily committed). */
const LAST_DRAWN = sql`select case when is_called then last_value else last_value - 1 end as drawn from stream_position`

/**
 * Registers a position-taking transaction (its first statement, before it draws a position) and
 * queues the wake-up for other instances (NOTIFY is delivered at commit). Every position it draws
 * is above the floor it registers, until its commit or rollback releases it.
 */
export function journalWriterQuery(journal: Journal): SQL {
  return sql`select pg_advisory_xact_lock_shared((${FLOOR_MARK}::bigint << 48) + (${LAST_DRAWN})), pg_notify(${JOURNAL_CHANNEL}, ${journal.origin})`
}

/**
 * The newest position below which every entry is final: each position at or below it belongs to a
 * transaction that has ended (committed or rolled back), so a read that starts after this returns
 * answers none of them can change. It is the newest position drawn, lowered to the floor of the
 * oldest writer still registered in this database. Only writers hold it back: a long transaction
 * that takes no positions (a rollup, another database on the server) does not.
 * Why it is safe: a position P at or below both was drawn before the sequence was read, so its
 * writer had registered before the locks were read; its floor is below P, so had it still been
 * registered the floor would be below P. So it had ended, and a later statement sees its outcome.
 */
export async function finalPosition(db: Pick<Database, 'execute'>): Promise<number> {
  return (await positionBounds(db)).final
}

// The newest position drawn and the oldest registered floor. The locks are read after the sequence:
// the subquery refers to the sequence's row, so it runs once that row has been read.
const BOUNDS = `select d.drawn, (
    select min(((l.classid::bigint & 65535) << 32) | l.objid::bigint) from pg_locks l
    where l.locktype = 'advisory' and l.objsubid = 1 and (l.classid::bigint >> 16) = ${FLOOR_MARK} and d.drawn is not null
      and l.database = (select oid from pg_database where datname = current_database())
  ) as floor
  from (select case when is_called then last_value else last_value - 1 end as drawn from stream_position) d`

/** The newest position drawn and the final position (see `finalPosition`). */
async function positionBounds(db: Pick<Database, 'execute'>): Promise<{ drawn: number, final: number }> {
  const [row] = rowsOf<{ drawn: string | number, floor: string | number | null }>(await db.execute(sql.raw(BOUNDS)))
  const drawn = Number(row?.drawn ?? 0)
  return { drawn, final: row?.floor === null || row?.floor === undefined ? drawn : Math.min(drawn, Number(row.floor)) }
}

/** A stored sample as the one-trip catch-up reads it: times in epoch ms, bigints as float8. */
interface SampleWire { id: number, nodeId: number, ts: number, receivedAt: number, cpuPercent: number, memoryPercent: number | null, diskPercent: number | null, uptimeSeconds: number | null, activeBackups: number | null, detail: unknown }

/**
 * The catch-up's bounds and reads as one simple-protocol message of three statements (one round
 * trip, Postgres only): the first finds the final position and keeps it in a transaction-local
 * setting; the next two, each on a snapshot taken after the first ended (read committed), read the
 * samples up to it and say whether events sit up to it and whether entries are committed beyond it.
 */
function oneTripCatchUp(from: number): SQL {
  const final = `current_setting('nodepulse.final')::bigint`
  return sql.raw(`select b.drawn::float8 as drawn, set_config('nodepulse.final', coalesce(least(b.drawn, b.floor), b.drawn, 0)::text, true)::float8 as final from (${BOUNDS}) b;
select id::float8 as "id", node_id as "nodeId", floor(extract(epoch from ts) * 1000)::float8 as "ts", floor(extract(epoch from received_at) * 1000)::float8 as "receivedAt",
  cpu_percent as "cpuPercent", memory_percent as "memoryPercent", disk_percent as "diskPercent", uptime_seconds::float8 as "uptimeSeconds", active_backups as "activeBackups", detail
  from node_samples where id > ${Math.trunc(from)} and id <= ${final} order by id limit ${CATCH_UP_PAGE};
select exists(select 1 from events where id > ${Math.trunc(from)} and id <= ${final}) as logs,
  (select id from node_samples where id > ${final} order by id limit 1) is not null or (select id from events where id > ${final} order by id limit 1) is not null as waiting`)
}

/** A stored stats sample as the reports channel carries it. */
export type ReportEntry = Pick<SampleRow, 'id' | 'nodeId' | 'receivedAt'> & Omit<SampleValues, 'detail'> & {
  /** Present when read back from the database by another instance (the master's extra figures). */
  detail?: SampleValues['detail']
}

export type JournalEntry = { kind: 'log', row: EventRow } | { kind: 'report', row: ReportEntry }

/**
 * The order of everything the streams can replay: position order. Writes that take stream
 * positions (reports, events) run one at a time through `run` in this process. When instances
 * share the database their writers run in parallel and commit in any order, so entries are
 * announced only once every position before them is final (`finalPosition`): every instance
 * announces the same entries in the same order, and a client that resumes after position P has
 * seen exactly what is ≤ P.
 */
export function createJournal(db?: Database, opts: { shared?: boolean } = {}) {
  let tail: Promise<unknown> = Promise.resolve()
  let position = 0
  let purgedUpTo = 0
  const listeners = new Set<(entries: JournalEntry[]) => void>()
  let catching: Promise<void> | null = null
  let again = false
  let againWhy: CatchUpReason = 'call'
  let retry: ReturnType<typeof setTimeout> | null = null
  let retryMs = RETRY_MS
  // The last catch-up saw committed entries it could not announce yet: a write of this process
  // that ends the wait sends no NOTIFY here, so it looks again itself.
  let behind = false
  const origin = randomUUID()
  const trace = journalTrace(process.env.NODEPULSE_JOURNAL_TRACE, origin)
  // On postgres.js (a function client: Postgres, where instances share the database) a statement
  // without parameters goes as one simple-protocol message, so the catch-up takes one round trip.
  const oneTrip = Boolean(opts.shared && db && typeof Reflect.get(db, '$client') === 'function')

  // A write and a catch-up that a NOTIFY started can both hold the same rows: what is at or below
  // `position` has been announced already (entries are announced in position order).
  const announce = (all: JournalEntry[], via: CatchUpReason) => {
    const entries = all.filter(e => e.row.id > position)
    if (!entries.length) return
    position = entries.at(-1)!.row.id
    trace?.({ k: 'a', t: wallNow(), first: entries[0]!.row.id, last: position, via })
    listeners.forEach(l => l(entries))
  }

  /** Reads the retention watermark another instance (or an earlier run) stored. */
  async function readPurged(): Promise<void> {
    const [purged] = await db!.select().from(settings).where(eq(settings.key, 'purged_position'))
    purgedUpTo = Math.max(purgedUpTo, purged ? Number(purged.value) : 0)
  }

  /**
   * The next committed entries after `from` up to `upTo`, in position order, whether a full page
   * left more, and (with `beyond`) whether entries after `upTo` are committed already (shared mode).
   */
  async function readAfter(from: number, upTo: number, beyond: boolean): Promise<{ entries: JournalEntry[], full: boolean, waiting: boolean }> {
    // On three connections of the pool side by side (one round trip): each reads after `upTo` was found final.
    const [logs, reports, waiting] = await Promise.all([
      db!.select().from(events).where(and(gt(events.id, from), lte(events.id, upTo))).orderBy(asc(events.id)).limit(CATCH_UP_PAGE),
      db!.select({
        id: nodeSamples.id, nodeId: nodeSamples.nodeId, ts: nodeSamples.ts, receivedAt: nodeSamples.receivedAt, cpuPercent: nodeSamples.cpuPercent,
        memoryPercent: nodeSamples.memoryPercent, diskPercent: nodeSamples.diskPercent, uptimeSeconds: nodeSamples.uptimeSeconds, activeBackups: nodeSamples.activeBackups, detail: nodeSamples.detail,
      }).from(nodeSamples).where(and(gt(nodeSamples.id, from), lte(nodeSamples.id, upTo))).orderBy(asc(nodeSamples.id)).limit(CATCH_UP_PAGE),
      // "order by id limit 1" keeps both on their primary keys (a generic plan of "exists" may scan the table).
      beyond
        ? db!.execute(sql`select (select id from node_samples where id > ${upTo} order by id limit 1) is not null
            or (select id from events where id > ${upTo} order by id limit 1) is not null as waiting`).then(r => Boolean(rowsOf<{ waiting: boolean }>(r)[0]?.waiting))
        : false,
    ])
    // A full page may stop short of the other table's rows: keep only what both pages cover.
    const cut = Math.min(logs.length === CATCH_UP_PAGE ? logs.at(-1)!.id : Infinity, reports.length === CATCH_UP_PAGE ? reports.at(-1)!.id : Infinity)
    const entries: JournalEntry[] = [
      ...logs.map(row => ({ kind: 'log' as const, row })),
      ...reports.map(row => ({ kind: 'report' as const, row })),
    ]
    return { entries: entries.filter(e => e.row.id <= cut).sort((a, b) => a.row.id - b.row.id), full: cut !== Infinity, waiting }
  }

  /**
   * Reads one page after `position` and announces its final part; whether a full page may leave
   * more to read, and whether it saw committed entries that are not final yet.
   */
  async function readFinal(why: CatchUpReason): Promise<{ more: boolean, waiting: boolean }> {
    if (oneTrip) {
      const t0 = trace && wallNow()
      const result = await db!.execute(oneTripCatchUp(position))
      // Three statements answer three row lists (one would answer its rows).
      const parts: unknown[] = Array.isArray(result) && result.length === 3 && result.every(part => Array.isArray(part)) ? result : []
      const [bounds] = rowsOf<{ drawn: number, final: number }>(parts[0])
      const samples = rowsOf<SampleWire>(parts[1])
      const [flags] = rowsOf<{ logs: boolean, waiting: boolean }>(parts[2])
      if (bounds && flags && !flags.logs) {
        const entries: JournalEntry[] = samples.map(r => ({ kind: 'report', row: {
          ...r, ts: new Date(r.ts), receivedAt: new Date(r.receivedAt), detail: (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail) as ReportEntry['detail'],
        } }))
        announce(entries, why)
        const full = samples.length === CATCH_UP_PAGE
        const step = { more: full, waiting: !full && flags.waiting }
        trace?.({ k: 'c', why, t0, tb: t0, tr: wallNow(), drawn: bounds.drawn, final: bounds.final, n: entries.length, waiting: step.waiting, one: true })
        return step
      }
      // Events up to the final position (rare): the two-trip read below maps them.
    }
    const t0 = trace && wallNow()
    const { drawn, final } = await positionBounds(db!)
    const tb = trace && wallNow()
    const page = await readAfter(position, final, final < drawn)
    announce(page.entries, why)
    // A full page's check for entries beyond it says nothing: the next page reads on.
    const step = { more: page.full, waiting: !page.full && page.waiting }
    trace?.({ k: 'c', why, t0, tb, tr: wallNow(), drawn, final, n: page.entries.length, waiting: step.waiting })
    return step
  }

  /**
   * Shared mode: announces everything committed after `position`, by any instance, up to the final
   * position: a writer still running may hold a lower position that commits later, and "id >
   * position" would then skip it. Entries waiting behind such a writer are announced on its NOTIFY
   * (Postgres signals listeners after the committing writer's locks are released), right after the
   * commit when the writer is this instance's own (it hears no NOTIFY of its own), or after
   * RETRY_MS when none comes (the writer rolled back).
   */
  function catchUp(why: CatchUpReason): Promise<void> {
    if (catching) {
      again = true
      againWhy = why
      return catching
    }
    catching = (async () => {
      try {
        const from = position
        let waiting = false
        let reason = why
        do {
          again = false
          let step: { more: boolean, waiting: boolean }
          do step = await readFinal(reason)
          while (step.more)
          reason = againWhy
          waiting = step.waiting
        } while (again)
        behind = waiting
        // The backoff grows only while nothing moves (a rolled-back writer); progress starts it again.
        if (!waiting || position > from) retryMs = RETRY_MS
        if (waiting) retryLater()
      }
      finally {
        catching = null
      }
    })()
    return catching
  }

  /** Runs the catch-up again soon (once, however often asked); a failure waits for the next NOTIFY. */
  function retryLater(): void {
    if (retry) return
    retry = setTimeout(() => {
      retry = null
      catchUp('retry').catch(() => {})
    }, retryMs)
    retry.unref()
    retryMs = Math.min(retryMs * 2, RETRY_MAX_MS)
  }

  return {
    /** Reads the current position and the retention watermark (at start-up). */
    async load(): Promise<void> {
      if (!db) return
      // The newest final row, not the sequence: another instance may hold lower and higher ids uncommitted.
      const final = opts.shared ? await finalPosition(db) : Number.MAX_SAFE_INTEGER
      const [e] = await db.select({ max: sql<number | null>`max(${events.id})` }).from(events).where(lte(events.id, final))
      const [r] = await db.select({ max: sql<number | null>`max(${nodeSamples.id})` }).from(nodeSamples).where(lte(nodeSamples.id, final))
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
     * instances share the database they are announced as they are only when they follow the last
     * announced position without a gap: then no other writer can hold a position among them.
     * Otherwise the database is read instead, up to the final position, so every instance
     * announces the same entries in the same order.
     */
    async committed(entries: JournalEntry[]): Promise<void> {
      const fresh = entries.filter(e => e.row.id > position)
      if (trace && fresh.length && fresh[0]!.kind === 'report') trace({ k: 'w', t: wallNow(), first: fresh[0]!.row.id, last: fresh.at(-1)!.row.id, r: fresh[0]!.row.receivedAt.getTime() })
      const unbroken = fresh.every((e, i) => e.row.id === position + 1 + i)
      if (!opts.shared || unbroken) announce(fresh, 'own')
      if (opts.shared && (!unbroken || behind)) await catchUp('own')
    },

    /** Reads what other instances committed (on their NOTIFY, naming its sender, and after the listener reconnects). */
    catchUp(why: CatchUpReason = 'call', sender?: string): Promise<void> {
      if (!opts.shared) return Promise.resolve()
      if (sender) trace?.({ k: 'n', t: wallNow(), from: sender })
      return catchUp(why)
    },

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

    /** Stops the catch-up retry timer (shutdown). */
    close(): void {
      if (retry) clearTimeout(retry)
      retry = null
    },

    onCommit(listener: (entries: JournalEntry[]) => void): () => void {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}

export type Journal = ReturnType<typeof createJournal>

/**
 * Starts an event-log transaction: takes the event lock (one at a time cluster-wide, so instances
 * open one incident per problem), then registers as a writer. Only when instances share a database.
 */
export async function lockJournal(tx: Pick<Database, 'execute'>, journal: Journal): Promise<void> {
  if (!journal.shared) return
  await tx.execute(sql`select pg_advisory_xact_lock(${JOURNAL_LOCK})`)
  await tx.execute(journalWriterQuery(journal))
}
