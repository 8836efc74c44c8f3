/**
 * Fault injection: the server is killed with SIGKILL (no graceful stop, as a crash or the OOM
 * killer would) while 50 agents push samples. Every sample the server acknowledged with a 2xx must
 * be in the database after a restart: an acknowledgement is a promise that it was committed.
 * Runs on PGlite, and on Postgres too when TEST_DATABASE_URL is set. Prints its figures.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import postgres from 'postgres'
import { afterAll, describe, expect, it } from 'vitest'
import { startServer, type RunningServer } from '../integration/support/server'

const AGENTS = 50
const PUSH_MS = 4000

interface Agent { id: number, token: string }

async function json<T>(res: Response): Promise<T> {
  const text = await res.text()
  if (!res.ok) throw new Error(`${res.status}: ${text}`)
  return JSON.parse(text) as T
}

/** An admin session on a running server. */
async function adminCookie(srv: RunningServer): Promise<string> {
  const res = await fetch(`${srv.info.baseURL}/api/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: srv.info.adminUser, password: srv.info.adminPassword }),
  })
  await json(res)
  return res.headers.getSetCookie().find(c => c.startsWith('nodepulse_session='))!.split(';')[0]!
}

/**
 * Each agent posts one sample after another (a new timestamp each) until `stop`; the timestamps the
 * server answered 2xx are kept per node. Requests cut off by the kill just fail.
 */
function push(baseURL: string, agents: Agent[], stop: AbortSignal) {
  const acked = new Map<number, number[]>(agents.map(a => [a.id, []]))
  let failed = 0
  const base = Date.now() - 3_600_000
  const loops = agents.map(async (agent, i) => {
    for (let seq = 0; !stop.aborted; seq++) {
      const ts = base + seq * 1000 + i
      try {
        const res = await fetch(`${baseURL}/api/v1/nodes/${agent.id}/stats`, {
          method: 'POST', signal: stop, headers: { 'content-type': 'application/json', 'authorization': `Bearer ${agent.token}` },
          body: JSON.stringify({ cpu_percent: seq % 100, disk_percent: 1, timestamp: new Date(ts).toISOString() }),
        })
        await res.text()
        if (res.status >= 200 && res.status < 300) acked.get(agent.id)!.push(ts)
        else failed++
      }
      catch {
        failed++
        if (!stop.aborted) await new Promise(r => setTimeout(r, 20))
      }
    }
  })
  return { acked, done: Promise.all(loops), failed: () => failed }
}

/** Runs the scenario against a server started by `start` (twice: before and after the kill). */
async function scenario(label: string, start: () => Promise<RunningServer>, stored: (nodeIds: number[]) => Promise<Map<number, Set<number>>>) {
  const first = await start()
  let agents: Agent[] = []
  let second: RunningServer | undefined
  try {
    const cookie = await adminCookie(first)
    agents = await Promise.all(Array.from({ length: AGENTS }, async (_, i) => {
      const res = await fetch(`${first.info.baseURL}/api/v1/nodes`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify({ hostname: `kill9-${i}-${randomBytes(3).toString('hex')}` }) })
      return json<Agent>(res)
    }))
    const stop = new AbortController()
    const load = push(first.info.baseURL, agents, stop.signal)
    await new Promise(r => setTimeout(r, PUSH_MS))
    await first.kill()
    stop.abort()
    await load.done
    const started = performance.now()
    second = await start()
    const restartMs = performance.now() - started
    await second.stop()
    second = undefined
    const inDb = await stored(agents.map(a => a.id))
    let acked = 0
    let lost = 0
    for (const [nodeId, list] of load.acked) {
      acked += list.length
      const have = inDb.get(nodeId) ?? new Set()
      lost += list.filter(ts => !have.has(ts)).length
    }
    const storedTotal = [...inDb.values()].reduce((n, s) => n + s.size, 0)
    console.log(`[faults] kill -9 under load (${label}): ${AGENTS} agents pushed ${(PUSH_MS / 1000).toFixed(0)} s; acknowledged ${acked}, stored ${storedTotal} (unacknowledged but committed: ${storedTotal - acked}), failed or cut off ${load.failed()}, lost ${lost}; restart to healthy ${restartMs.toFixed(0)} ms`)
    expect(acked).toBeGreaterThan(AGENTS)
    expect(lost).toBe(0)
  }
  finally {
    await second?.stop()
    await first.stop()
  }
}

describe('kill -9 while 50 agents push: no acknowledged sample is lost', () => {
  const dirs: string[] = []
  afterAll(() => dirs.forEach(d => rmSync(d, { recursive: true, force: true })))

  it('on PGlite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'np-faults-'))
    dirs.push(dir)
    await scenario('PGlite', () => startServer({ label: 'kill9', dataDir: dir }), async (ids) => {
      const db = await PGlite.create(join(dir, 'db'))
      try {
        const rows = await db.query<{ node_id: number, ms: number }>(`select node_id, (extract(epoch from ts) * 1000)::bigint::float8 as ms from node_samples where node_id = any($1)`, [ids])
        return group(rows.rows)
      }
      finally {
        await db.close()
      }
    })
  }, 180_000)

  it.runIf(process.env.TEST_DATABASE_URL)('on Postgres', async () => {
    const admin = postgres(process.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} })
    const name = `np_test_kill9_${randomBytes(4).toString('hex')}`
    await admin.unsafe(`create database ${name}`)
    const url = new URL(process.env.TEST_DATABASE_URL!)
    url.pathname = `/${name}`
    try {
      await scenario('Postgres', () => startServer({ label: 'kill9-pg', databaseUrl: url.toString() }), async (ids) => {
        const sql = postgres(url.toString(), { max: 1, onnotice: () => {} })
        try {
          const rows = await sql<{ node_id: number, ms: number }[]>`select node_id, (extract(epoch from ts) * 1000)::bigint::float8 as ms from node_samples where node_id = any(${ids})`
          return group(rows)
        }
        finally {
          await sql.end({ timeout: 5 })
        }
      })
    }
    finally {
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end({ timeout: 5 })
    }
  }, 180_000)
})

function group(rows: { node_id: number, ms: number }[]): Map<number, Set<number>> {
  const byNode = new Map<number, Set<number>>()
  for (const r of rows) {
    const set = byNode.get(Number(r.node_id)) ?? new Set<number>()
    set.add(Number(r.ms))
    byNode.set(Number(r.node_id), set)
  }
  return byNode
}
