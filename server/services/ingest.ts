import { sql, type SQL } from 'drizzle-orm'
import type { IngestAnswer, StatsReport } from '../../shared/contracts/ingest'
import { executePrepared, type Database } from '../db'
import type { SampleValues } from '../db/schema'
import { isDatabaseUnreachable, NotFoundError, UnavailableError } from './errors'
import { createJournal, journalWriterQuery, type Journal, type ReportEntry } from './journal'
import type { Registry } from './registry'
import { startedInstance } from './started'
import { describeError } from './logSafe'

/** A validated sample ready to store; detail is optional (the seed's plain reports carry none). */
export type SampleInput = Omit<SampleValues, 'detail'> & Partial<Pick<SampleValues, 'detail'>>

export interface IngestResult { accepted: number, stored: number, duplicates: number, lastSeen: Date }

interface Pending { nodeId: number, samples: SampleInput[], resolve: (r: IngestResult) => void, reject: (e: unknown) => void }

/** What the batch statement answers: a stored sample (its position, node, time), or a live node (id null). */
interface WrittenRow { id: number | null, node_id: number, ts_ms: number | null }

/** Each node's first sample at each time in the batch, of live nodes: the one a repeat leaves stored. */
function firstSamples(batch: Pending[], alive: Set<number>): Map<string, SampleInput> {
  const first = new Map<string, SampleInput>()
  for (const p of batch) {
    if (!alive.has(p.nodeId)) continue
    for (const s of p.samples) {
      const key = `${p.nodeId}@${s.ts.getTime()}`
      if (!first.has(key)) first.set(key, s)
    }
  }
  return first
}

/**
 * A whole batch as one statement (one round trip, its own transaction): lock the batch's nodes'
 * rows (in id order) and move their last_seen (a concurrent delete waits; a node already gone is not among the
 * returned live nodes, so only its own reports fail), then insert the live nodes' samples in batch
 * order, skipping those already stored. With `register` (instances sharing a database) the write
 * registers with the journal before any row is touched or any position drawn: the rows are locked
 * after it is read, and the insert reads the update's result. Writers of other instances run beside it.
 * The samples travel as one JSON parameter, so no batch meets Postgres's bind-parameter limit.
 */
function batchStatement(batch: Pending[], now: Date, register: SQL | undefined): SQL {
  const ids = [...new Set(batch.map(p => p.nodeId))]
  const rows = JSON.stringify(batch.flatMap(p => p.samples.map(s => ({
    node_id: p.nodeId, ts: s.ts, cpu_percent: s.cpuPercent, memory_percent: s.memoryPercent, disk_percent: s.diskPercent,
    uptime_seconds: s.uptimeSeconds, active_backups: s.activeBackups, detail: s.detail ?? null,
  }))))
  const at = sql`${now.toISOString()}::timestamptz`
  // Rows are locked in id order: writers of several instances sharing nodes cannot deadlock.
  return sql`with ${register ? sql`writer as (${register}), ` : sql``}alive as (
      update nodes set last_seen = greatest(nodes.last_seen, ${at})
      from (select n.id from ${register ? sql`writer, ` : sql``}nodes n where n.id = any(${`{${ids.join(',')}}`}::int[]) order by n.id for no key update of n) locked
      where nodes.id = locked.id returning nodes.id
    ), ins as (
      insert into node_samples (node_id, ts, cpu_percent, memory_percent, disk_percent, uptime_seconds, active_backups, detail, received_at)
      select r.node_id, r.ts, r.cpu_percent, r.memory_percent, r.disk_percent, r.uptime_seconds, r.active_backups, r.detail, ${at}
      from rows from (jsonb_to_recordset(${rows}::jsonb) as (node_id int, ts timestamptz, cpu_percent float8, memory_percent float8,
        disk_percent float8, uptime_seconds bigint, active_backups int, detail jsonb)) with ordinality as r
      where r.node_id in (select id from alive)
      order by r.ordinality
      on conflict (node_id, ts) do nothing
      returning id, node_id, ts
    )
    select id::float8 as id, node_id, (extract(epoch from ts) * 1000)::float8 as ts_ms from ins
    union all
    select null, id, null from alive`
}

/** Normalizes a validated report into samples, stamping the receive time where none was given. */
export function samplesFromReport(report: StatsReport, receivedAt: Date): SampleInput[] {
  const list = 'samples' in report ? report.samples : [report]
  return list.map(s => ({
    ts: s.timestamp ?? receivedAt,
    cpuPercent: s.cpu_percent,
    memoryPercent: s.memory_percent ?? null,
    diskPercent: s.disk_percent,
    uptimeSeconds: s.uptime_seconds ?? null,
    activeBackups: s.active_backups ?? null,
    detail: s.detail ?? null,
  }))
}

/**
 * Group commit for stats reports: reports arriving while a write is in flight are written
 * together in the next transaction. A caller's promise resolves only after its samples are
 * committed, so nothing is acknowledged before it is durable.
 */
export function createIngest(db: Database, registry: Registry, opts: { maxBatchRows?: number, journal?: Journal } = {}) {
  const maxBatchRows = opts.maxBatchRows ?? 20_000
  const journal = opts.journal ?? createJournal()
  let queue: Pending[] = []
  let flushing: Promise<void> | null = null
  let stats = { reports: 0, samples: 0, batches: 0 }

  // Inside the journal, so stream positions are published in the order they commit.
  const write = (batch: Pending[]) => journal.run(async () => {
    const now = new Date()
    const written = await executePrepared<WrittenRow>(db, batchStatement(batch, now, journal.shared ? journalWriterQuery(journal) : undefined))
    const alive = new Set(written.filter(r => r.id === null).map(r => r.node_id))
    const samples = firstSamples(batch, alive)
    const entries: ReportEntry[] = []
    const insertedKeys = new Set<string>()
    for (const r of written) {
      if (r.id === null) continue
      const key = `${r.node_id}@${r.ts_ms}`
      const s = samples.get(key)!
      entries.push({ id: r.id, nodeId: r.node_id, receivedAt: now, ts: s.ts, cpuPercent: s.cpuPercent, memoryPercent: s.memoryPercent, diskPercent: s.diskPercent, uptimeSeconds: s.uptimeSeconds, activeBackups: s.activeBackups })
      insertedKeys.add(key)
    }
    const result = new Map<Pending, { stored: number }>()
    for (const p of batch) {
      if (!alive.has(p.nodeId)) continue
      // Count each request's own new rows (a key repeated across requests counts once, for the first).
      let count = 0
      for (const s of p.samples) {
        const key = `${p.nodeId}@${s.ts.getTime()}`
        if (insertedKeys.delete(key)) count++
      }
      result.set(p, { stored: count })
    }
    await journal.committed(entries.sort((a, b) => a.id - b.id).map(row => ({ kind: 'report', row })))
    return result
  })

  /** Writes a batch and settles each report in it; a failing batch is retried report by report. */
  async function settle(batch: Pending[]): Promise<void> {
    let written: Map<Pending, { stored: number }>
    try {
      written = await write(batch)
    }
    catch (error) {
      // One report the database refuses must not fail the others that shared its transaction; but
      // when the database cannot be reached at all, trying each alone only makes them wait longer.
      if (batch.length > 1 && !isDatabaseUnreachable(error)) {
        for (const p of batch) await settle([p])
      }
      else batch.forEach(p => p.reject(error))
      return
    }
    const seenAt = new Date()
    stats = { reports: stats.reports + written.size, samples: stats.samples + batch.reduce((n, p) => n + p.samples.length, 0), batches: stats.batches + 1 }
    for (const p of batch) {
      const w = written.get(p)
      if (!w) {
        p.reject(new NotFoundError(`Node ${p.nodeId} was deleted`))
        continue
      }
      const newest = p.samples.reduce((a, b) => (b.ts > a.ts ? b : a))
      registry.applySamples(p.nodeId, seenAt, { ...newest, detail: newest.detail ?? null })
      p.resolve({ accepted: p.samples.length, stored: w.stored, duplicates: p.samples.length - w.stored, lastSeen: seenAt })
    }
  }

  // The empty-queue check and the reset of `flushing` happen in one synchronous step (no await
  // between them), so a report submitted at any moment is either taken by this loop or starts a new one.
  async function flush(): Promise<void> {
    try {
      while (queue.length) {
        // Let requests whose bodies have already arrived reach the queue, so they share this transaction.
        await new Promise(resolve => setImmediate(resolve))
        let rows = 0
        let take = 0
        while (take < queue.length && (take === 0 || rows + queue[take]!.samples.length <= maxBatchRows)) rows += queue[take++]!.samples.length
        const batch = queue.slice(0, take)
        queue = queue.slice(take)
        await settle(batch)
      }
    }
    finally {
      flushing = null
    }
  }

  /** Stores one node's samples; resolves after they are committed. */
  function submit(nodeId: number, samples: SampleInput[]): Promise<IngestResult> {
    return new Promise<IngestResult>((resolve, reject) => {
      queue.push({ nodeId, samples, resolve, reject })
      flushing ??= flush()
    })
  }

  return {
    submit,
    /**
     * Stores an agent's report and answers once it is committed: 404 when its node was deleted
     * while it waited, 503 with Retry-After (the cause logged here, once) when the write failed.
     */
    async report(nodeId: number, report: StatsReport): Promise<IngestAnswer> {
      try {
        const r = await submit(nodeId, samplesFromReport(report, new Date()))
        return { node_id: nodeId, accepted: r.accepted, stored: r.stored, duplicates: r.duplicates, last_seen: r.lastSeen.toISOString() }
      }
      catch (error) {
        if (error instanceof NotFoundError) throw error
        console.error(`[nodepulse] storing a report of node ${nodeId} failed: ${describeError(error)}`)
        throw new UnavailableError('The report could not be stored right now; retry later', 5)
      }
    },
    /** Waits for every queued report to be written (graceful stop). */
    async drain(): Promise<void> {
      while (flushing) await flushing
    },
    /** Counters since start. */
    stats: () => ({ ...stats, queued: queue.length }),
  }
}

export type Ingest = ReturnType<typeof createIngest>

const running = startedInstance<Ingest>()
/** The running ingest (503 until start-up has finished). */
export const useIngest = running.use
/** Publishes the running ingest (start-up) or withdraws it (stop). */
export const setIngest = running.set
