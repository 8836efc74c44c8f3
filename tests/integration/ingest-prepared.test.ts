/**
 * The hot statements (a report batch, the request log's insert) run as prepared statements on
 * PostgreSQL: they answer exactly what drizzle's `execute` answers, and a batch is one statement
 * prepared once per connection, not described again before every run. Service level, on a fresh
 * database of the project's driver.
 */
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { executePrepared, rowsOf, type DatabaseHandle } from '../../server/db'
import { createIngest } from '../../server/services/ingest'
import { createJournal } from '../../server/services/journal'
import { createRegistry, type Registry } from '../../server/services/registry'
import { createRequestLog } from '../../server/services/requestLog'
import { server } from './helpers'
import { openHistoryDatabase } from './support/historyDb'

let handle: DatabaseHandle
let close = async () => {}
let registry: Registry

beforeAll(async () => {
  ({ handle, close } = await openHistoryDatabase())
  registry = createRegistry(handle.db)
  await registry.load()
}, 60_000)

afterAll(async () => {
  await close()
})

let second = 0
const sample = () => ({ ts: new Date(Date.UTC(2025, 0, 1) + ++second * 1000), cpuPercent: second % 100, memoryPercent: null, diskPercent: 1, uptimeSeconds: 7, activeBackups: null, detail: { load: { '1m': 0.5, '5m': 0.25, '15m': 0.1 } } })

describe('executePrepared', () => {
  it('answers the rows db.execute answers, the first time and when run again', async () => {
    const query = sql`select ${3}::int as i, ${'a\'b'}::text as t, ${JSON.stringify({ x: [1, null] })}::jsonb as j, null::float8 as n,
      ${2.5}::float8 as f, ${'2025-01-01T00:00:00.000Z'}::timestamptz as at, ${`{1,2}`}::int[] as ids`
    const expected = rowsOf(await handle.db.execute(query))
    expect(expected).toHaveLength(1)
    expect(await executePrepared(handle.db, query)).toEqual(expected)
    expect(await executePrepared(handle.db, query)).toEqual(expected)
  })

  it('rejects with the database\'s refusal (as the error or its cause, as drizzle wraps it)', async () => {
    const error: unknown = await executePrepared(handle.db, sql`select ${'not a number'}::int`).then(() => undefined, (e: unknown) => e)
    const messages: string[] = []
    for (let e = error; e instanceof Error; e = e.cause) messages.push(e.message)
    expect(messages.join('\n')).toMatch(/invalid input syntax for type integer/)
  })
})

describe('ingest and the request log through prepared statements', () => {
  it('stores every batch, answers each report, and the request log keeps only its newest rows', async () => {
    const node = await registry.create({ hostname: 'prepared-ingest', kind: 'agent' })
    const journal = createJournal(handle.db, { shared: server.driver === 'postgres' })
    await journal.load()
    const announced: number[] = []
    journal.onCommit(entries => announced.push(...entries.map(e => e.row.id)))
    const ingest = createIngest(handle.db, registry, { journal })
    const answers = []
    for (let i = 0; i < 4; i++) answers.push(await ingest.submit(node.id, [sample(), sample()]))
    expect(answers.map(a => a.stored)).toEqual([2, 2, 2, 2])
    expect(announced).toHaveLength(8)
    const [stored] = rowsOf<{ n: number }>(await handle.db.execute(sql`select count(*)::int as n from node_samples where node_id = ${node.id} and detail is not null`))
    expect(stored!.n).toBe(8)
    // A repeat of a stored sample stores nothing (the statement's ON CONFLICT, prepared or not).
    const storedTs = new Date(Date.UTC(2025, 0, 1) + second * 1000)
    const again = await ingest.submit(node.id, [{ ...sample(), ts: storedTs }])
    expect(again).toMatchObject({ stored: 0, duplicates: 1 })
    journal.close()

    const log = createRequestLog(handle.db, registry, { maxRows: 4, flushMs: 60_000 })
    const written: number[] = []
    log.onWrite(entries => written.push(...entries.map(e => e.id)))
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 3; i++) log.record({ nodeId: node.id, method: 'POST', endpoint: `/api/v1/nodes/${node.id}/stats`, statusCode: i ? 200 : 422, latencyMs: i, errorMessage: i ? '' : 'Invalid body', at: new Date() })
      await log.flush()
    }
    expect(written).toHaveLength(6)
    const kept = await log.recent(100)
    expect(kept.map(e => e.id)).toEqual(written.slice(-4))
    await log.close()
  })

  it.runIf(server.driver === 'postgres')('runs a batch as one statement prepared once on its connection (Postgres)', async () => {
    const node = await registry.create({ hostname: 'prepared-once', kind: 'agent' })
    const journal = createJournal(handle.db, { shared: true })
    await journal.load()
    const ingest = createIngest(handle.db, registry, { journal })
    // One after another, so every statement runs on the same (idle) connection of the pool.
    for (let i = 0; i < 6; i++) await ingest.submit(node.id, [sample()])
    // pg_prepared_statements lists the named statements of the session that reads it; an unnamed
    // statement (how drizzle sends every query) is not listed.
    const rows = rowsOf<{ name: string }>(await handle.db.execute(sql`select name from pg_prepared_statements where statement like '%insert into node_samples%'`))
    expect(rows).toHaveLength(1)
    journal.close()
  })
})
