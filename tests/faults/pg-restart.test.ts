/**
 * Fault injection: the PostgreSQL server is stopped under load and started again. Meanwhile ingest
 * must answer 503 with Retry-After (never another 5xx, never hang), /api/health 503, and the
 * server process must live on; once the database is back everything continues without an
 * operator: reports are stored again, and a stream client that resumes with Last-Event-ID has every
 * acknowledged report exactly once, in order. Every acknowledged sample is in the database.
 *
 * The PostgreSQL is a private one (tests/faults/privatePostgres.ts), never the machine's shared one.
 * Runs wherever PostgreSQL's server binaries are installed (CI installs them). Prints its figures.
 */
import postgres from 'postgres'
import { afterAll, describe, expect, it } from 'vitest'
import { startServer, type RunningServer } from '../integration/support/server'
import { postgresBin, startPrivatePostgres, type PrivatePostgres } from './privatePostgres'
import { admin, createAgents, push, resumingReader, sleep, until, type Message } from './support'

const AGENTS = 20
const DOWN_MS = 4000
/** An answer slower than this is a hang (postgres.js's own reconnect back-off made them up to 20 s). */
const HANG_MS = 10_000
const bin = postgresBin()

describe('PostgreSQL restarted under load', () => {
  let pg: PrivatePostgres | undefined
  let srv: RunningServer | undefined
  afterAll(async () => {
    await srv?.stop()
    pg?.remove()
  })

  it.runIf(bin)('ingest answers 503 with Retry-After while it is down, and everything continues once it is back', async () => {
    pg = await startPrivatePostgres(bin!)
    srv = await startServer({ label: 'pg-restart', databaseUrl: pg.url, env: { NODEPULSE_SAMPLE_INTERVAL: '3600' } })
    const base = srv.info.baseURL
    const pid = srv.pid
    const { cookie } = await admin(srv)
    const agents = await createAgents(srv, cookie, AGENTS, 'pg-restart')
    const ours = new Set(agents.map(a => a.id))

    const reports: { id: number, key: string }[] = []
    const reader = resumingReader(`${base}/stream/reports`, {
      headers: { cookie },
      onMessage(m: Message) {
        if (m.event !== 'reports') return
        const r = JSON.parse(m.data!) as { id: number, node_id: number, sampled_at: string }
        if (ours.has(r.node_id)) reports.push({ id: r.id, key: `${r.node_id}@${Date.parse(r.sampled_at)}` })
      },
    })
    const stop = new AbortController()
    const load = push(base, agents, stop.signal, { pauseMs: 50, hangMs: HANG_MS })
    try {
      await until('reports flow', () => reports.length >= 100, 30_000)

      const downAt = Date.now()
      pg.stop('fast')
      await until('ingest answers 503 while the database is down', () => load.answers.some(a => a.at > downAt && a.status === 503), 15_000)
      const health = await fetch(`${base}/api/health`, { signal: AbortSignal.timeout(15_000) })
      const healthBody = await health.json() as { database: { ok: boolean } }
      expect(health.status).toBe(503)
      expect(healthBody.database.ok).toBe(false)
      // The outage itself: the load keeps going against a database that is not there.
      await sleep(DOWN_MS)
      const upAt = Date.now()
      pg.start()
      await until('ingest stores reports again', () => load.answers.some(a => a.at > upAt && a.status === 200), 60_000)
      const recoveredMs = load.answers.find(a => a.at > upAt && a.status === 200)!.at - upAt
      await until('/api/health answers 200 again', async () => (await fetch(`${base}/api/health`)).status === 200, 30_000)
      const reportsBefore = reports.length
      await until('the stream carries new reports', () => reports.length > reportsBefore + 50, 30_000)
      stop.abort()
      await load.done

      const acked = [...load.acked].flatMap(([node, list]) => list.map(ts => `${node}@${ts}`))
      await until('the stream has every acknowledged report', () => {
        const seen = new Set(reports.map(r => r.key))
        return acked.every(k => seen.has(k))
      }, 30_000)
      await reader.close()

      const during = load.answers.filter(a => a.at > downAt && a.at < upAt)
      const statuses = [...new Set(load.answers.map(a => a.status))].sort()
      const unavailable = load.answers.filter(a => a.status === 503)
      const slowest = Math.max(...load.answers.map(a => a.ms))
      console.log(`[faults] PostgreSQL restart under load: ${AGENTS} agents; down ${((upAt - downAt) / 1000).toFixed(1)} s; answers ${load.answers.length} (statuses ${statuses.join(', ')}), 503 ${unavailable.length} (all with Retry-After: ${unavailable.every(a => a.retryAfter !== null)}), during the outage ${during.length}; hangs ${load.hangs()}, slowest answer ${slowest.toFixed(0)} ms; first report stored ${recoveredMs} ms after the database was back; stream connections ${reader.connections()} (refused: ${reader.refusals.join(', ') || 'none'}), reports on the stream ${reports.length}, acknowledged ${acked.length}`)

      // No crash: the same process answered throughout.
      expect(srv.pid).toBe(pid)
      expect(load.hangs()).toBe(0)
      expect(recoveredMs).toBeLessThan(HANG_MS)
      expect(statuses.every(s => s === 200 || s === 503), `statuses ${statuses.join(', ')}`).toBe(true)
      expect(unavailable.length).toBeGreaterThan(0)
      expect(unavailable.every(a => a.retryAfter !== null && Number(a.retryAfter) > 0)).toBe(true)
      // Every message exactly once, in order.
      const ids = reports.map(r => r.id)
      expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!), 'report ids strictly increasing').toBe(true)
      expect(new Set(reports.map(r => r.key)).size).toBe(reports.length)

      // Every acknowledged sample is stored.
      const sql = postgres(pg.url, { max: 1, onnotice: () => {} })
      try {
        const rows = await sql<{ node_id: number, ms: number }[]>`select node_id, (extract(epoch from ts) * 1000)::bigint::float8 as ms from node_samples where node_id = any(${[...ours]})`
        const stored = new Set(rows.map(r => `${r.node_id}@${Number(r.ms)}`))
        expect(acked.filter(k => !stored.has(k))).toEqual([])
      }
      finally {
        await sql.end({ timeout: 5 })
      }
    }
    finally {
      stop.abort()
      await load.done
      await reader.close()
    }
  }, 180_000)
})
