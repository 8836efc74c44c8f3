import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventsMessage } from '../../shared/contracts/seed001'
import { server } from './helpers'
import { json, openStream, type SseMessage } from './sse'
import { dataOf } from './support/channels'
import { until } from './support/dedicated'
import { parseProm } from './support/prom'
import { startServer, type RunningServer } from './support/server'

// Two NodePulse processes on one fresh Postgres database: the scale-out of DESIGN.md.
const adminUrl = process.env.TEST_DATABASE_URL
const PASSWORD = `cluster-${randomBytes(6).toString('hex')}`
let a: RunningServer
let b: RunningServer
let drop = async () => {}
/** The cluster's own database, for what the instances cannot be asked to do (a write without NOTIFY). */
let sql: postgres.Sql

async function bearer(base: string): Promise<string> {
  const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) })
  const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!
  const res = await fetch(`${base}/api/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify({ name: 'cluster', role: 'admin' }) })
  return ((await res.json()) as { token: string }).token
}

const leader = async (s: RunningServer) => ((await (await fetch(`${s.info.baseURL}/api/health`)).json()) as { leader: boolean }).leader
const named = (event: string) => (m: SseMessage) => m.event === event
const idAt = (position: number) => `${Math.floor(Date.now() / 1000)}-${position}`
/** The first named event after `connected` on a resumed stream: the replay, or a reset. */
const firstAfterConnected = async (s: Awaited<ReturnType<typeof openStream>>) => {
  await s.next(named('connected'), 5000)
  return s.next(m => m.event !== undefined && m.event !== 'heartbeat', 5000)
}

/** A fresh database of the test's own on TEST_DATABASE_URL, and how to drop it. */
async function clusterDatabase(): Promise<{ url: URL, drop: () => Promise<void> }> {
  const name = `np_cluster_${randomBytes(6).toString('hex')}`
  const admin = postgres(adminUrl!, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  const url = new URL(adminUrl!)
  url.pathname = `/${name}`
  return {
    url,
    drop: async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end({ timeout: 5 })
    },
  }
}

describe.runIf(server.driver === 'postgres' && adminUrl)('several instances on one Postgres', () => {
  beforeAll(async () => {
    const db = await clusterDatabase()
    drop = db.drop
    const url = db.url
    sql = postgres(url.toString(), { max: 1, onnotice: () => {} })
    // Masters sample once, at start, and each instance judges the other's by its samples: thresholds
    // as long as the interval keep them from turning unreachable or stale (and logging it) mid-test.
    const env = { NODEPULSE_ADMIN_PASSWORD: PASSWORD, NODEPULSE_SAMPLE_INTERVAL: '3600', NODEPULSE_STALE_AFTER: '3600', NODEPULSE_UNREACHABLE_AFTER: '3600' }
    a = await startServer({ label: 'cluster-a', databaseUrl: url.toString(), env: { ...env, NODEPULSE_HOSTNAME: 'host-a' } })
    b = await startServer({ label: 'cluster-b', databaseUrl: url.toString(), env: { ...env, NODEPULSE_HOSTNAME: 'host-b' } })
  }, 120_000)
  afterAll(async () => {
    await a?.stop()
    await b?.stop()
    await sql?.end({ timeout: 5 })
    await drop()
  })

  it('delivers a report posted to one instance to a subscriber of the other, and shares the registry', async () => {
    const tokenA = await bearer(a.info.baseURL)
    const tokenB = await bearer(b.info.baseURL)
    const created = await fetch(`${a.info.baseURL}/api/v1/nodes`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenA}` }, body: JSON.stringify({ hostname: 'shared-agent' }) })
    const node = (await created.json()) as { id: number, token: string }
    const stream = await openStream('/stream/reports', { bearer: tokenB }, {}, b.info.baseURL)
    try {
      await stream.next(m => m.event === 'connected')
      const post = (base: string, cpu: number) => fetch(`${base}/api/v1/nodes/${node.id}/stats`, {
        method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${node.token}` }, body: JSON.stringify({ cpu_percent: cpu, disk_percent: 5 }),
      })
      expect((await post(a.info.baseURL, 41)).status).toBe(200)
      // Only the agent's reports: each master's start-up sample may arrive at any point.
      const ofNode = (m: SseMessage) => m.event === 'reports' && json<{ node_id: number }>(m).node_id === node.id
      const first = json<{ node_id: number, cpu_percent: number, hostname: string }>(await stream.next(ofNode, 5000))
      expect(first).toMatchObject({ node_id: node.id, cpu_percent: 41, hostname: 'shared-agent' })
      // B learnt of the node A created: its agent token works there too, and B shows the figure A stored.
      expect((await post(b.info.baseURL, 42)).status).toBe(200)
      expect(json<{ cpu_percent: number }>(await stream.next(ofNode, 5000)).cpu_percent).toBe(42)
      // A reads B's report on B's NOTIFY, or on its retry when that came before B's writer had ended
      // (instances write in parallel): soon, not necessarily before B's own subscriber has it.
      const onA = async () => (await (await fetch(`${a.info.baseURL}/api/v1/nodes/${node.id}`, { headers: { authorization: `Bearer ${tokenA}` } })).json()) as { status: string, cpu_percent: number }
      await until('A showing the figure B stored', async () => (await onA()).cpu_percent === 42, 5000)
      expect(await onA()).toMatchObject({ status: 'online', cpu_percent: 42 })
    }
    finally {
      stream.close()
    }
  })

  it('replays rows another instance committed that this one has not read yet (a lost NOTIFY) instead of answering reset', async () => {
    const token = await bearer(a.info.baseURL)
    await new Promise(r => setTimeout(r, 500)) // the token's own writes are caught up with
    // Written straight into the shared tables without a NOTIFY: no instance has read them.
    const [first] = await sql<{ id: number }[]>`insert into events (type, message) values ('cluster_probe', 'written without NOTIFY (1)') returning id`
    const [second] = await sql<{ id: number }[]>`insert into events (type, message) values ('cluster_probe', 'written without NOTIFY (2)') returning id`
    const s = await openStream('/stream/events', { bearer: token }, { 'last-event-id': idAt(Number(first!.id)) }, a.info.baseURL)
    try {
      const replayed = await firstAfterConnected(s)
      expect(replayed.event, `resuming from ${first!.id} on an instance that had not read it`).toBe('events')
      expect(dataOf<EventsMessage>(replayed).logs.map(l => l.id)).toEqual([Number(second!.id)])
      await new Promise(r => setTimeout(r, 1500)) // an events batch later: not sent again
      const probes = s.messages.filter(m => m.event === 'events').flatMap(m => dataOf<EventsMessage>(m).logs).filter(l => l.event_type === 'cluster_probe')
      expect(probes.map(l => l.id)).toEqual([Number(second!.id)])
    }
    finally {
      s.close()
    }
  })

  it('tells a client resuming from a position the leader\'s retention purged to reset, on every instance', async () => {
    const token = await bearer(a.info.baseURL)
    const [row] = await sql<{ max: number }[]>`select greatest((select max(id) from events), (select max(id) from node_samples))::int as max`
    const purgedUpTo = Number(row!.max)
    // As the leader's housekeeping records it after deleting rows up to that position.
    await sql`insert into settings (key, value) values ('purged_position', ${String(purgedUpTo)}) on conflict (key) do update set value = excluded.value`
    for (const s of [a, b]) {
      const stream = await openStream('/stream/all', { bearer: token }, { 'last-event-id': idAt(purgedUpTo - 1) }, s.info.baseURL)
      try {
        const reset = await firstAfterConnected(stream)
        expect(reset.event, s.info.baseURL).toBe('reset')
        expect(dataOf<{ reason: string }>(reset).reason).toBe('position_expired')
      }
      finally {
        stream.close()
      }
    }
  })

  it('agrees on silences: one created on one instance mutes the events the other logs, and ending it there unmutes them here', async () => {
    const [tokenA, tokenB] = [await bearer(a.info.baseURL), await bearer(b.info.baseURL)]
    const call = async <T>(base: string, token: string, method: string, path: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: body === undefined ? undefined : JSON.stringify(body) })
      expect(res.status, `${method} ${path}`).toBeLessThan(300)
      return (await res.json()) as T
    }
    const node = await call<{ id: number, token: string }>(a.info.baseURL, tokenA, 'POST', '/api/v1/nodes', { hostname: 'silenced-agent' })
    const logOn = (base: string) => call<{ data: { silenced_by?: { id: number } } }>(base, node.token, 'POST', `/api/v1/nodes/${node.id}/events`, { event_type: 'error_report', message: 'probe' })
    const silence = await call<{ id: number }>(a.info.baseURL, tokenA, 'POST', '/api/v1/silences', { node_ids: [node.id], ends_at: new Date(Date.now() + 3_600_000).toISOString(), reason: 'both instances' })
    // The other instance learns of it through the journal's NOTIFY: each try logs one more event there.
    await until('B muting the node', async () => (await logOn(b.info.baseURL)).data.silenced_by?.id === silence.id, 10_000)
    await call(b.info.baseURL, tokenB, 'POST', `/api/v1/silences/${silence.id}/end`)
    await until('A no longer muting it', async () => (await logOn(a.info.baseURL)).data.silenced_by === undefined, 10_000)
  })

  it('runs periodic jobs on exactly one instance; when that one is killed outright the other takes the lock and runs them', async () => {
    const [la, lb] = [await leader(a), await leader(b)]
    expect([la, lb].filter(Boolean)).toHaveLength(1)
    const [holder, other] = la ? [a, b] : [b, a]
    const tokens = new Map([[holder, await bearer(holder.info.baseURL)], [other, await bearer(other.info.baseURL)]])
    const lastRun = async (s: RunningServer) => {
      const res = await fetch(`${s.info.baseURL}/metrics`, { headers: { authorization: `Bearer ${tokens.get(s)}` } })
      expect(res.status).toBe(200)
      return parseProm(await res.text()).get('nodepulse_housekeeping_last_run_timestamp_seconds')
    }
    // The leader ran housekeeping when it took the lock at start; the other never has.
    await until('the leader\'s housekeeping at start', async () => (await lastRun(holder))! > 0, 10_000)
    expect(await lastRun(other)).toBe(0)

    // SIGKILL: no graceful shutdown releases the lock; Postgres frees it when the connection dies.
    const killedAt = Date.now() / 1000
    await holder.kill()
    await until('the remaining instance holding the leader lock', () => leader(other), 15_000)
    await until('the new leader running housekeeping', async () => (await lastRun(other))! >= Math.floor(killedAt), 10_000)
  }, 40_000)
})

// A pair of its own whose masters sample every second and turn stale after 3 s of silence, so the
// death of one instance shows on the other within seconds.
describe.runIf(server.driver === 'postgres' && adminUrl)('an instance that dies, seen from the one that lives on', () => {
  let x: RunningServer
  let y: RunningServer
  let dropPair = async () => {}
  beforeAll(async () => {
    const db = await clusterDatabase()
    dropPair = db.drop
    const env = { NODEPULSE_ADMIN_PASSWORD: PASSWORD, NODEPULSE_SAMPLE_INTERVAL: '1', NODEPULSE_STALE_AFTER: '3' }
    x = await startServer({ label: 'cluster-x', databaseUrl: db.url.toString(), env })
    y = await startServer({ label: 'cluster-y', databaseUrl: db.url.toString(), env })
  }, 120_000)
  afterAll(async () => {
    await x?.stop()
    await y?.stop()
    await dropPair()
  })

  it('shows the dead instance\'s master stale, and the new leader\'s watcher logs it', async () => {
    const holder = (await leader(x)) ? x : y
    const other = holder === x ? y : x
    const token = await bearer(other.info.baseURL)
    interface Master { id: number, hostname: string, status: string, is_master: boolean, last_seen: string | null }
    const masters = async () => ((await (await fetch(`${other.info.baseURL}/api/v1/nodes`, { headers: { authorization: `Bearer ${token}` } })).json()) as Master[])
      .filter(n => n.is_master)
    const [dead, alive] = [holder.info.masterHostname, other.info.masterHostname]
    // Both instances sample their hosts: each sees both masters online.
    await until('both masters online on the survivor-to-be', async () => (await masters()).filter(m => m.status === 'online').length === 2, 10_000)

    await holder.kill()
    await until('the dead instance\'s master turning stale', async () => (await masters()).find(m => m.hostname === dead)?.status === 'stale', 15_000)
    const after = await masters()
    expect(after.find(m => m.hostname === alive)).toMatchObject({ status: 'online', last_seen: null })
    const deadMaster = after.find(m => m.hostname === dead)!
    expect(deadMaster.last_seen).not.toBeNull()
    // The survivor took the lead, and its watcher logged the change of a node it does not sample.
    await until('the survivor holding the leader lock', () => leader(other), 15_000)
    await until('node_status_update online → stale for the dead master', async () => {
      const res = await fetch(`${other.info.baseURL}/api/v1/events?node_id=${deadMaster.id}&event_type=node_status_update`, { headers: { authorization: `Bearer ${token}` } })
      const page = (await res.json()) as { events: { data: { previous_status?: string, status?: string } }[] }
      return page.events.some(e => e.data.previous_status === 'online' && e.data.status === 'stale')
    }, 15_000)
  }, 60_000)
})
