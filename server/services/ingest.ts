import { inArray, sql } from 'drizzle-orm'
import type { IngestAnswer, StatsReport } from '../../shared/contracts/ingest'
import type { Database } from '../db'
import { nodes, nodeSamples, type SampleValues } from '../db/schema'
import { isDatabaseUnreachable, NotFoundError, UnavailableError } from './errors'
import { createJournal, lockJournal, type Journal, type ReportEntry } from './journal'
import type { Registry } from './registry'
import { startedInstance } from './started'
import { describeError } from './logSafe'

/** A validated sample ready to store; detail is optional (the seed's plain reports carry none). */
export type SampleInput = Omit<SampleValues, 'detail'> & Partial<Pick<SampleValues, 'detail'>>

export interface IngestResult { accepted: number, stored: number, duplicates: number, lastSeen: Date }

interface Pending { nodeId: number, samples: SampleInput[], resolve: (r: IngestResult) => void, reject: (e: unknown) => void }

// Postgres allows 65,535 bind parameters per statement; 8 per row.
const ROWS_PER_INSERT = 4000

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
    const result = new Map<Pending, { stored: number }>()
    const entries: ReportEntry[] = []
    await db.transaction(async (tx) => {
      await lockJournal(tx, journal)
      const nodeIds = [...new Set(batch.map(p => p.nodeId))]
      // Lock the nodes' rows: a concurrent delete waits, and a node already gone fails only its own reports.
      const alive = new Set((await tx.select({ id: nodes.id }).from(nodes).where(inArray(nodes.id, nodeIds)).for('update')).map(r => r.id))
      const insertedKeys = new Set<string>()
      const rows = batch.filter(p => alive.has(p.nodeId)).flatMap(p => p.samples.map(s => ({ ...s, nodeId: p.nodeId, receivedAt: now, detail: s.detail ?? null })))
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        const inserted = await tx.insert(nodeSamples).values(rows.slice(i, i + ROWS_PER_INSERT))
          .onConflictDoNothing({ target: [nodeSamples.nodeId, nodeSamples.ts] })
          .returning({
            id: nodeSamples.id, nodeId: nodeSamples.nodeId, ts: nodeSamples.ts, receivedAt: nodeSamples.receivedAt, cpuPercent: nodeSamples.cpuPercent,
            memoryPercent: nodeSamples.memoryPercent, diskPercent: nodeSamples.diskPercent, uptimeSeconds: nodeSamples.uptimeSeconds, activeBackups: nodeSamples.activeBackups,
          })
        for (const r of inserted) {
          insertedKeys.add(`${r.nodeId}@${r.ts.getTime()}`)
          entries.push(r)
        }
      }
      if (alive.size) {
        await tx.update(nodes).set({ lastSeen: sql`greatest(${nodes.lastSeen}, ${now.toISOString()}::timestamptz)` })
          .where(inArray(nodes.id, [...alive]))
      }
      for (const p of batch) {
        if (!alive.has(p.nodeId)) continue
        // Count each request's own new rows (a key repeated across requests counts once, for the first).
        let stored = 0
        for (const s of p.samples) {
          const key = `${p.nodeId}@${s.ts.getTime()}`
          if (insertedKeys.delete(key)) stored++
        }
        result.set(p, { stored })
      }
    })
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
