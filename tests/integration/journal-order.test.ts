/**
 * The journal's order when writers run in parallel (instances sharing one Postgres): writers on
 * different connections commit in any order, yet every reader announces the same entries in the
 * same order, with no gap and no repeat, and a writer still open holds back only what comes after
 * it. Service level, on a fresh database of the project's driver (the concurrency part on Postgres).
 */
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase, rowsOf, type DatabaseHandle } from '../../server/db'
import { nodes, nodeSamples, settings } from '../../server/db/schema'
import { createMemberApi } from '../../server/services/federation/memberApi'
import { createHistoryRollup } from '../../server/services/history/rollup'
import { parseHistoryTiers } from '../../server/services/history/tiers'
import { createIngest } from '../../server/services/ingest'
import { createJournal, finalPosition, journalWriterQuery, type Journal } from '../../server/services/journal'
import { createRegistry } from '../../server/services/registry'
import { server } from './helpers'
import { openHistoryDatabase } from './support/historyDb'
import { sleep, until } from './support/dedicated'

let handle: DatabaseHandle
let close = async () => {}
let nodeId: number
let second = 0

beforeAll(async () => {
  ({ handle, close } = await openHistoryDatabase())
  const [node] = await handle.db.insert(nodes).values({ hostname: 'journal-order', kind: 'agent' }).returning({ id: nodes.id })
  nodeId = node!.id
}, 60_000)

afterAll(async () => {
  await close()
})

const sample = () => ({ nodeId, ts: new Date(Date.UTC(2025, 0, 1) + ++second * 1000), cpuPercent: second % 100, diskPercent: 1 })

/** A shared journal and the positions it announces, in order. */
async function reader(db: DatabaseHandle['db']) {
  const journal = createJournal(db, { shared: true })
  await journal.load()
  const announced: number[] = []
  journal.onCommit(entries => announced.push(...entries.map(e => e.row.id)))
  return { journal, announced }
}

/**
 * A writer that registers, stores `n` samples and stays open until `commit` (or `rollback`): a
 * report batch of another instance caught between drawing its positions and committing.
 */
async function openWriter(db: DatabaseHandle['db'], journal: Journal, n: number) {
  let end!: (commit: boolean) => void
  const ending = new Promise<boolean>(resolve => (end = resolve))
  let stored!: (ids: number[]) => void
  const ids = new Promise<number[]>(resolve => (stored = resolve))
  const done = db.transaction(async (tx) => {
    await tx.execute(journalWriterQuery(journal))
    const rows = await tx.insert(nodeSamples).values(Array.from({ length: n }, sample)).returning({ id: nodeSamples.id })
    stored(rows.map(r => r.id))
    if (!(await ending)) tx.rollback()
  }).catch((error: unknown) => {
    // drizzle rejects a rolled-back transaction on purpose; anything else is a failure.
    if (!(error instanceof Error && /rollback/i.test(error.message))) throw error
  })
  return {
    ids: await ids,
    commit: async () => {
      end(true)
      await done
    },
    rollback: async () => {
      end(false)
      await done
    },
  }
}

describe('the journal\'s final position', () => {
  it('is the newest position drawn when no writer is open', async () => {
    const [row] = await handle.db.insert(nodeSamples).values(sample()).returning({ id: nodeSamples.id })
    expect(await finalPosition(handle.db)).toBe(row!.id)
  })
})

describe.runIf(server.driver === 'postgres')('writers on several connections (Postgres)', () => {
  let other: DatabaseHandle

  beforeAll(async () => {
    other = await openDatabase({ url: handle.url!, dataDir: '' })
  })
  afterAll(async () => {
    await other?.close()
  })

  it('announces writers that commit out of order in one order on every reader, with no gap and no repeat, once the earlier one commits', async () => {
    const a = await reader(handle.db)
    const b = await reader(other.db)
    const registry = createRegistry(other.db)
    await registry.load()
    const ingest = createIngest(other.db, registry, { journal: b.journal })

    // The first writer draws its positions and stays open; an ingest on the other connection
    // draws later ones and commits first.
    const first = await openWriter(handle.db, a.journal, 3)
    const answer = await ingest.submit(nodeId, [{ ts: new Date(Date.UTC(2026, 0, 1)), cpuPercent: 5, memoryPercent: null, diskPercent: 1, uptimeSeconds: null, activeBackups: null }])
    // Acknowledged after its commit, before it can be announced.
    expect(answer.stored).toBe(1)
    const [late] = await handle.db.select({ id: nodeSamples.id }).from(nodeSamples).where(sql`${nodeSamples.ts} = '2026-01-01T00:00:00Z'`)
    expect(late!.id).toBeGreaterThan(first.ids.at(-1)!)
    expect(await finalPosition(handle.db)).toBeLessThan(first.ids[0]!)

    await a.journal.catchUp()
    await sleep(100)
    // Neither reader skips past the open writer.
    expect(a.announced).not.toContain(late!.id)
    expect(b.announced).not.toContain(late!.id)

    await first.commit()
    await a.journal.catchUp()
    // b was not told (no NOTIFY listener here): its own retry finds both writers final.
    await until('the second reader announces the late writer', () => b.announced.includes(late!.id), 5000)
    const expected = [...first.ids, late!.id]
    expect(a.announced.filter(id => id >= first.ids[0]!)).toEqual(expected)
    expect(b.announced).toEqual(a.announced)
    expect(new Set(a.announced).size).toBe(a.announced.length)
    a.journal.close()
    b.journal.close()
  })

  it('a write of this instance that ends a wait announces the other instances\' entries it held back, with no NOTIFY and no retry', async () => {
    // The newest position drawn is committed, so the own write below follows the reader's position without a gap.
    await handle.db.insert(nodeSamples).values(sample())
    const a = await reader(handle.db)
    // This instance's own write, open: its floor holds back what the other instance commits after it.
    const own = await openWriter(handle.db, a.journal, 1)
    expect(own.ids[0]).toBe(a.journal.position() + 1)
    const theirs = await openWriter(other.db, a.journal, 1)
    await theirs.commit()
    await a.journal.catchUp()
    expect(a.announced).toEqual([])
    // No retry timer and no listener: only the own write's commit can bring the other entry.
    a.journal.close()
    await own.commit()
    const [row] = await handle.db.select().from(nodeSamples).where(sql`${nodeSamples.id} = ${own.ids[0]!}`)
    await a.journal.committed([{ kind: 'report', row: row! }])
    expect(a.announced).toEqual([...own.ids, ...theirs.ids])
  })

  it('a rolled-back writer leaves a gap that is passed, not waited for', async () => {
    const a = await reader(handle.db)
    const aborted = await openWriter(handle.db, a.journal, 2)
    const after = await openWriter(other.db, a.journal, 1)
    await after.commit()
    await a.journal.catchUp()
    expect(a.announced).toEqual([])
    await aborted.rollback()
    await until('the writer after the rolled-back one is announced', () => a.announced.includes(after.ids[0]!), 5000)
    expect(a.announced).toEqual(after.ids)
    a.journal.close()
  })

  it('a transaction that takes no positions does not hold the stream back', async () => {
    const a = await reader(other.db)
    let end!: () => void
    const ending = new Promise<void>(resolve => (end = resolve))
    let began!: () => void
    const begun = new Promise<void>(resolve => (began = resolve))
    // A long write elsewhere (it holds a transaction id, so it holds back pg_snapshot_xmin).
    const unrelated = handle.db.transaction(async (tx) => {
      await tx.insert(settings).values({ key: `journal-order-${second}`, value: 'x' })
      began()
      await ending
    })
    await begun
    const writer = await openWriter(other.db, a.journal, 2)
    await writer.commit()
    await a.journal.catchUp()
    expect(a.announced).toEqual(writer.ids)
    end()
    await unrelated
    a.journal.close()
  })

  it('a federation member\'s readings cursor does not pass a sample still being written below newer ones', async () => {
    const a = await reader(handle.db)
    const registry = createRegistry(handle.db)
    await registry.load()
    const api = createMemberApi(handle.db, registry, { instanceId: 'journal-order', staleAfterSeconds: 60, announcedUpTo: () => a.journal.position() })
    const since = a.journal.position()
    const open = await openWriter(handle.db, a.journal, 1)
    const after = await openWriter(other.db, a.journal, 1)
    await after.commit()
    await a.journal.catchUp()
    const early = await api.readings({ since, limit: 100 })
    expect(early.readings.map(r => r.id)).not.toContain(after.ids[0])
    // The cursor handed out stays below the open writer's sample, so the next page still finds it.
    expect(Number(early.next_cursor)).toBeLessThan(open.ids[0]!)
    await open.commit()
    await a.journal.catchUp()
    const next = await api.readings({ since: Number(early.next_cursor), limit: 100 })
    expect(next.readings.map(r => r.id)).toEqual([...open.ids, ...after.ids])
    a.journal.close()
  })

  it('the rollup does not pass a sample still being written below newer ones', async () => {
    const tiers = parseHistoryTiers('raw:48h,1m:14d')
    const rollup = createHistoryRollup(handle.db, tiers)
    await rollup.run()
    const j = createJournal(handle.db, { shared: true })
    const open = await openWriter(handle.db, j, 1)
    const after = await openWriter(other.db, j, 1)
    await after.commit()
    await rollup.run()
    const cursor = async () => Number(rowsOf<{ cursor: string }>(await handle.db.execute(sql`select max(cursor) as cursor from history_progress`))[0]!.cursor)
    expect(await cursor()).toBeLessThan(open.ids[0]!)
    await open.commit()
    await rollup.run()
    expect(await cursor()).toBe(after.ids[0]!)
  })
})
