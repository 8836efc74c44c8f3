import { count, eq } from 'drizzle-orm'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { nodes, nodeSamples } from '../../server/db/schema'
import { NotFoundError } from '../../server/services/errors'
import { createIngest, samplesFromReport, type SampleInput } from '../../server/services/ingest'
import { createJournal, type JournalEntry } from '../../server/services/journal'
import { memoryRegistry } from './db'

const t = memoryRegistry()

let hostCounter = 0
const agent = () => t.registry.create({ hostname: `unit-${++hostCounter}`, kind: 'agent' })
const base = Date.UTC(2025, 0, 1)
const at = (s: number, cpu = 1): SampleInput => ({ ts: new Date(base + s * 1000), cpuPercent: cpu, memoryPercent: null, diskPercent: 2, uptimeSeconds: null, activeBackups: null })

/** Lets pending I/O run, as between two HTTP requests (see the "right after" tests for why). */
const nextTurn = () => new Promise(resolve => setImmediate(resolve))

/** The promise, or a rejection when it has not settled within `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([promise, sleep(ms).then(() => Promise.reject(new Error(`still pending after ${ms} ms`)))])
}

async function storedCount(nodeId: number): Promise<number> {
  const [row] = await t.handle.db.select({ n: count() }).from(nodeSamples).where(eq(nodeSamples.nodeId, nodeId))
  return row!.n
}

describe('samplesFromReport', () => {
  const received = new Date('2025-06-01T12:00:00Z')

  it('stamps a bare sample with the receive time and fills missing figures and detail with null', () => {
    expect(samplesFromReport({ cpu_percent: 5, disk_percent: 6 }, received)).toEqual([
      { ts: received, cpuPercent: 5, memoryPercent: null, diskPercent: 6, uptimeSeconds: null, activeBackups: null, detail: null },
    ])
  })

  it('keeps each sample\'s host detail as sent', () => {
    const detail = { processes: 7, load: { '1m': 1, '5m': 2, '15m': 3 } }
    expect(samplesFromReport({ cpu_percent: 5, disk_percent: 6, detail }, received)[0]!.detail).toEqual(detail)
  })

  it('keeps a batch in order with its own timestamps', () => {
    const t1 = new Date('2025-06-01T11:00:00Z')
    const t2 = new Date('2025-06-01T11:00:05Z')
    expect(samplesFromReport({ samples: [
      { cpu_percent: 1, disk_percent: 2, memory_percent: 3, uptime_seconds: 4, active_backups: 5, timestamp: t2 },
      { cpu_percent: 6, disk_percent: 7, timestamp: t1 },
    ] }, received)).toEqual([
      { ts: t2, cpuPercent: 1, memoryPercent: 3, diskPercent: 2, uptimeSeconds: 4, activeBackups: 5, detail: null },
      { ts: t1, cpuPercent: 6, memoryPercent: null, diskPercent: 7, uptimeSeconds: null, activeBackups: null, detail: null },
    ])
  })
})

describe('createIngest (group commit)', () => {
  it('writes reports submitted together in one transaction after the first, and stores every sample', async () => {
    const ingest = createIngest(t.handle.db, t.registry)
    const a = await agent()
    const b = await agent()
    const c = await agent()
    const targets = [a, b, c]
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => ingest.submit(targets[i % 3]!.id, [at(i)])))
    for (const r of results) expect(r).toMatchObject({ accepted: 1, stored: 1, duplicates: 0 })
    // Group commit: at most the first report is written alone; the rest share one transaction.
    const stats = ingest.stats()
    expect(stats).toMatchObject({ reports: 60, samples: 60, queued: 0 })
    expect(stats.batches).toBeGreaterThanOrEqual(1)
    expect(stats.batches).toBeLessThanOrEqual(2)
    expect(await storedCount(a.id)).toBe(20)
    expect(await storedCount(b.id)).toBe(20)
    expect(await storedCount(c.id)).toBe(20)
  })

  it('splits batches at maxBatchRows without splitting a report', async () => {
    const ingest = createIngest(t.handle.db, t.registry, { maxBatchRows: 10 })
    const node = await agent()
    const reports = Array.from({ length: 5 }, (_, r) => [0, 1, 2, 3].map(i => at(100 + r * 4 + i)))
    const results = await Promise.all(reports.map(samples => ingest.submit(node.id, samples)))
    for (const r of results) expect(r).toMatchObject({ accepted: 4, stored: 4, duplicates: 0 })
    // Two 4-row reports fit in 10 rows, three would not: five reports take three transactions.
    expect(ingest.stats()).toMatchObject({ reports: 5, samples: 20, batches: 3 })
    expect(await storedCount(node.id)).toBe(20)
  })

  it('counts re-sent samples as duplicates and stores them once', async () => {
    const ingest = createIngest(t.handle.db, t.registry)
    const node = await agent()
    const batch = [at(1), at(2), at(3)]
    expect(await ingest.submit(node.id, batch)).toMatchObject({ accepted: 3, stored: 3, duplicates: 0 })
    await nextTurn()
    expect(await ingest.submit(node.id, batch)).toMatchObject({ accepted: 3, stored: 0, duplicates: 3 })
    await nextTurn()
    expect(await ingest.submit(node.id, [at(3), at(4)])).toMatchObject({ accepted: 2, stored: 1, duplicates: 1 })
    expect(await storedCount(node.id)).toBe(4)
  })

  it('credits a sample sent twice in one group commit to the first report only', async () => {
    const ingest = createIngest(t.handle.db, t.registry)
    const node = await agent()
    const warmup = ingest.submit(node.id, [at(0)])
    const [first, second] = await Promise.all([ingest.submit(node.id, [at(10)]), ingest.submit(node.id, [at(10), at(11)])])
    await warmup
    expect(first).toMatchObject({ stored: 1, duplicates: 0 })
    expect(second).toMatchObject({ accepted: 2, stored: 1, duplicates: 1 })
    expect(await storedCount(node.id)).toBe(3)
  })

  it('keeps the same timestamp apart for different nodes', async () => {
    const ingest = createIngest(t.handle.db, t.registry)
    const a = await agent()
    const b = await agent()
    const [ra, rb] = await Promise.all([ingest.submit(a.id, [at(50)]), ingest.submit(b.id, [at(50)])])
    expect(ra.stored).toBe(1)
    expect(rb.stored).toBe(1)
  })

  it('rejects a deleted node\'s report with NotFoundError while the others in its batch succeed', async () => {
    const ingest = createIngest(t.handle.db, t.registry)
    const alive = await agent()
    const doomed = await agent()
    const other = await agent()
    await t.registry.remove(doomed.id)
    const warmup = ingest.submit(other.id, [at(0)])
    const settled = await Promise.allSettled([
      ingest.submit(alive.id, [at(1), at(2)]),
      ingest.submit(doomed.id, [at(1)]),
      ingest.submit(other.id, [at(1)]),
    ])
    await warmup
    expect(settled[0]).toMatchObject({ status: 'fulfilled', value: { accepted: 2, stored: 2, duplicates: 0 } })
    expect(settled[1].status).toBe('rejected')
    expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(NotFoundError)
    expect(settled[2]).toMatchObject({ status: 'fulfilled', value: { stored: 1 } })
    // The three reports after the warm-up shared one transaction.
    expect(ingest.stats()).toMatchObject({ reports: 3 })
    expect(ingest.stats().batches).toBeLessThanOrEqual(2)
    expect(await storedCount(doomed.id)).toBe(0)
    expect(await storedCount(alive.id)).toBe(2)
  })

  it('rejects only the report the database refuses; the others of its batch are stored', async () => {
    const ingest = createIngest(t.handle.db, t.registry)
    const node = await agent()
    const warmup = ingest.submit(node.id, [at(0)])
    // uptime beyond bigint makes the INSERT fail.
    const bad = ingest.submit(node.id, [{ ...at(1), uptimeSeconds: 1e20 }])
    const neighbour = ingest.submit(node.id, [at(2)])
    await warmup
    await expect(bad).rejects.toThrow()
    await expect(neighbour).resolves.toMatchObject({ stored: 1 })
    expect(await storedCount(node.id)).toBe(2)
    expect(await ingest.submit(node.id, [at(3)])).toMatchObject({ stored: 1 })
    expect(await storedCount(node.id)).toBe(3)
  })

  it('announces a batch\'s stored samples once each, in position order, with the figures of the first of a repeat', async () => {
    const journal = createJournal()
    const announced: JournalEntry[] = []
    journal.onCommit(entries => announced.push(...entries))
    const ingest = createIngest(t.handle.db, t.registry, { journal })
    const a = await agent()
    const b = await agent()
    const warmup = ingest.submit(a.id, [at(0)])
    const results = await Promise.all([
      ingest.submit(a.id, [at(2, 20), at(1, 10)]), ingest.submit(b.id, [at(1, 30)]), ingest.submit(a.id, [at(1, 99), at(3, 40)]),
    ])
    await warmup
    expect(results.map(r => r.stored)).toEqual([2, 1, 1])
    const reports = announced.flatMap(e => (e.kind === 'report' ? [e.row] : []))
    expect(reports.map(r => r.id)).toEqual([...reports.map(r => r.id)].sort((x, y) => x - y))
    expect(new Set(reports.map(r => r.id)).size).toBe(5)
    // Positions follow the order the samples were submitted in; a repeat keeps the first one's figures.
    expect(reports.map(r => [r.nodeId, r.ts.getTime(), r.cpuPercent])).toEqual([
      [a.id, at(0).ts.getTime(), 1], [a.id, at(2).ts.getTime(), 20], [a.id, at(1).ts.getTime(), 10], [b.id, at(1).ts.getTime(), 30], [a.id, at(3).ts.getTime(), 40],
    ])
    const stored = await t.handle.db.select().from(nodeSamples).where(eq(nodeSamples.nodeId, a.id)).orderBy(nodeSamples.id)
    expect(stored.map(r => [r.id, r.cpuPercent])).toEqual(reports.filter(r => r.nodeId === a.id).map(r => [r.id, r.cpuPercent]))
  })

  it('moves last_seen in memory and in the database, and shows the newest sample', async () => {
    const ingest = createIngest(t.handle.db, t.registry)
    const node = await agent()
    const before = Date.now()
    const result = await ingest.submit(node.id, [at(20, 7), at(30, 9), at(25, 8)])
    const state = t.registry.get(node.id)!
    expect(state.lastSeen).toEqual(result.lastSeen)
    expect(result.lastSeen.getTime()).toBeGreaterThanOrEqual(before)
    expect(state.latest).toMatchObject({ ts: at(30).ts, cpuPercent: 9 })
    const [row] = await t.handle.db.select().from(nodes).where(eq(nodes.id, node.id))
    expect(row!.lastSeen!.getTime()).toBeGreaterThanOrEqual(before - 1)
    // An older catch-up batch does not replace the newest figures.
    await ingest.submit(node.id, [at(5, 1)])
    expect(t.registry.get(node.id)!.latest).toMatchObject({ ts: at(30).ts, cpuPercent: 9 })
  })

  it('writes a report submitted right after the previous one resolved (no later report needed)', async () => {
    const ingest = createIngest(t.handle.db, t.registry)
    const node = await agent()
    await ingest.submit(node.id, [at(1)])
    // Submitted in the continuation of the first: the old flush has not yet reset `flushing`.
    await expect(within(ingest.submit(node.id, [at(2)]), 3000)).resolves.toMatchObject({ stored: 1 })
  })

  it('drain() does not return while a report submitted right after another is still queued', async () => {
    const ingest = createIngest(t.handle.db, t.registry)
    const node = await agent()
    await ingest.submit(node.id, [at(1)])
    void ingest.submit(node.id, [at(2)]).catch(() => {})
    await within(ingest.drain(), 3000)
    expect(ingest.stats().queued).toBe(0)
    expect(await storedCount(node.id)).toBe(2)
  })

  it('drain() waits until everything queued is written', async () => {
    const ingest = createIngest(t.handle.db, t.registry)
    const node = await agent()
    const pending = Array.from({ length: 10 }, (_, i) => ingest.submit(node.id, [at(i)]))
    await ingest.drain()
    expect(ingest.stats().queued).toBe(0)
    expect(await storedCount(node.id)).toBe(10)
    await Promise.all(pending)
  })
})
