import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { server } from './helpers'
import { json, openStream } from './sse'
import { startServer, type RunningServer } from './support/server'

// Two NodePulse processes on one fresh Postgres database: the scale-out of DESIGN.md.
const adminUrl = process.env.TEST_DATABASE_URL
const PASSWORD = `cluster-${randomBytes(6).toString('hex')}`
let a: RunningServer
let b: RunningServer
let drop = async () => {}

async function bearer(base: string): Promise<string> {
  const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) })
  const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!
  const res = await fetch(`${base}/api/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify({ name: 'cluster', role: 'admin' }) })
  return ((await res.json()) as { token: string }).token
}

const leader = async (s: RunningServer) => ((await (await fetch(`${s.info.baseURL}/api/health`)).json()) as { leader: boolean }).leader

describe.runIf(server.driver === 'postgres' && adminUrl)('several instances on one Postgres', () => {
  beforeAll(async () => {
    const name = `np_cluster_${randomBytes(6).toString('hex')}`
    const admin = postgres(adminUrl!, { max: 1, onnotice: () => {} })
    await admin.unsafe(`create database ${name}`)
    drop = async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end({ timeout: 5 })
    }
    const url = new URL(adminUrl!)
    url.pathname = `/${name}`
    const env = { NODEPULSE_ADMIN_PASSWORD: PASSWORD, NODEPULSE_SAMPLE_INTERVAL: '3600' }
    a = await startServer({ label: 'cluster-a', databaseUrl: url.toString(), env: { ...env, NODEPULSE_HOSTNAME: 'host-a' } })
    b = await startServer({ label: 'cluster-b', databaseUrl: url.toString(), env: { ...env, NODEPULSE_HOSTNAME: 'host-b' } })
  }, 120_000)
  afterAll(async () => {
    await a?.stop()
    await b?.stop()
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
      const first = json<{ node_id: number, cpu_percent: number, hostname: string }>(await stream.next(m => m.event === 'reports', 5000))
      expect(first).toMatchObject({ node_id: node.id, cpu_percent: 41, hostname: 'shared-agent' })
      // B learnt of the node A created: its agent token works there too, and B shows the figure A stored.
      expect((await post(b.info.baseURL, 42)).status).toBe(200)
      expect(json<{ cpu_percent: number }>(await stream.next(m => m.event === 'reports', 5000)).cpu_percent).toBe(42)
      const seen = await fetch(`${a.info.baseURL}/api/v1/nodes/${node.id}`, { headers: { authorization: `Bearer ${tokenA}` } })
      expect(await seen.json()).toMatchObject({ status: 'online', cpu_percent: 42 })
    }
    finally {
      stream.close()
    }
  })

  it('runs periodic jobs on exactly one instance, and the other takes over when it stops', async () => {
    const [la, lb] = [await leader(a), await leader(b)]
    expect([la, lb].filter(Boolean)).toHaveLength(1)
    const [holder, other] = la ? [a, b] : [b, a]
    await holder.stop()
    const deadline = Date.now() + 15_000
    while (!(await leader(other))) {
      if (Date.now() > deadline) throw new Error('the remaining instance did not take the leader lock within 15 s')
      await new Promise(r => setTimeout(r, 250))
    }
  }, 30_000)
})
