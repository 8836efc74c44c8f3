import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DatabaseHandle } from '../../server/db'
import { nodes, nodeSamples } from '../../server/db/schema'
import { createJournal, type JournalEntry, type ReportEntry } from '../../server/services/journal'
import { memoryDatabase } from './db'

let handle: DatabaseHandle
let nodeId: number

beforeAll(async () => {
  handle = await memoryDatabase()
  const [node] = await handle.db.insert(nodes).values({ hostname: 'journal-unit', kind: 'agent' }).returning({ id: nodes.id })
  nodeId = node!.id
}, 60_000)

afterAll(async () => {
  await handle?.close()
})

let second = 0
/** Stores `n` samples as a writer would (positions drawn from the shared sequence); their entries. */
async function store(n: number): Promise<JournalEntry[]> {
  const rows = await handle.db.insert(nodeSamples).values(Array.from({ length: n }, () => ({
    nodeId, ts: new Date(Date.UTC(2025, 0, 1) + ++second * 1000), cpuPercent: second % 100, diskPercent: 1,
  }))).returning()
  return rows.map(({ detail: _detail, ...row }): JournalEntry => ({ kind: 'report', row: row satisfies ReportEntry }))
}

/** A journal on the test database and the positions it announces, in order. */
async function journalOf(shared: boolean) {
  const journal = createJournal(handle.db, { shared })
  await journal.load()
  const announced: JournalEntry[] = []
  journal.onCommit(entries => announced.push(...entries))
  return { journal, announced, positions: () => announced.map(e => e.row.id) }
}

describe('createJournal', () => {
  it('announces each position once, however often it is handed over', async () => {
    const { journal, announced, positions } = await journalOf(false)
    const [a, b, c] = await store(3)
    await journal.committed([a!, b!])
    await journal.committed([b!, c!])
    await journal.committed([a!])
    expect(positions()).toEqual([a!.row.id, b!.row.id, c!.row.id])
    expect(journal.position()).toBe(c!.row.id)
    expect(announced[2]).toBe(c)
  })

  it('shared: announces a write\'s own entries as handed over when nothing can sit before them', async () => {
    const { journal, announced } = await journalOf(true)
    const ours = await store(2)
    await journal.committed(ours)
    // The very objects, not rows read back: no catch-up query was needed.
    expect(announced).toHaveLength(2)
    expect(announced[0]).toBe(ours[0])
    expect(announced[1]).toBe(ours[1])
  })

  it('shared: after a gap, announces what another instance committed first, then the write\'s own, each once in position order', async () => {
    const { journal, announced, positions } = await journalOf(true)
    const others = await store(2)
    const ours = await store(2)
    await journal.committed(ours)
    expect(positions()).toEqual([...others, ...ours].map(e => e.row.id))
    // Read back from the database, the same figures.
    expect(announced.map(e => e.kind === 'report' && e.row.cpuPercent)).toEqual([...others, ...ours].map(e => e.kind === 'report' && e.row.cpuPercent))
    // The NOTIFY of the other instance's write arriving late changes nothing.
    await journal.catchUp()
    expect(announced).toHaveLength(4)
  })

  it('shared: a write whose positions another writer\'s sit among is read back, not announced as handed over', async () => {
    const { journal, announced, positions } = await journalOf(true)
    const [first] = await store(1)
    const [others] = await store(1)
    const [last] = await store(1)
    await journal.committed([first!, last!])
    expect(positions()).toEqual([first!, others!, last!].map(e => e.row.id))
    expect(announced[0]).not.toBe(first)
  })
})
