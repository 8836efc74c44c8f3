import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NodeStats } from '../../shared/contracts/seed000'
import { startOwnServer } from './support/dedicated'
import type { RunningServer } from './support/server'
import { json, openStream } from './sse'

// Its own server (on the project's driver): a 2 s stale threshold and a 1 s heartbeat would disturb the shared one.
let srv: RunningServer
let stop: () => Promise<void>
let bearer: string
beforeAll(async () => {
  ({ srv, stop } = await startOwnServer('status', { NODEPULSE_STALE_AFTER: '2', NODEPULSE_HEARTBEAT_INTERVAL: '1' }))
  const login = await fetch(`${srv.info.baseURL}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: srv.info.adminUser, password: srv.info.adminPassword }) })
  const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!
  const token = await fetch(`${srv.info.baseURL}/api/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify({ name: 'status', role: 'admin' }) })
  bearer = ((await token.json()) as { token: string }).token
})
afterAll(() => stop?.())

const call = (method: string, path: string, body?: unknown, auth = bearer) => fetch(`${srv.info.baseURL}${path}`, {
  method, headers: { 'content-type': 'application/json', authorization: `Bearer ${auth}` }, body: body === undefined ? undefined : JSON.stringify(body),
})

describe('node status on the unified stream', () => {
  it('goes offline → online on a report → stale after NODEPULSE_STALE_AFTER → online again', async () => {
    const node = (await (await call('POST', '/api/v1/nodes', { hostname: 'status-node' })).json()) as NodeStats & { token: string }
    const s = await openStream('/api/v1/metrics/nodes/stats/stream?interval=1', { bearer }, {}, srv.info.baseURL)
    try {
      const statusOf = (m: { data?: string }) => m.data === undefined ? undefined : json<{ nodes?: NodeStats[] }>(m as never).nodes?.find(n => n.id === node.id)?.status
      await s.next(m => statusOf(m) === 'offline')
      expect((await call('POST', `/api/v1/nodes/${node.id}/stats`, { cpu_percent: 1, disk_percent: 2 }, node.token)).status).toBe(200)
      const online = await s.next(m => statusOf(m) === 'online', 3000)
      const stale = await s.next(m => statusOf(m) === 'stale', 5000)
      // Stale no sooner than the 2 s threshold after the report, by the server's clock.
      const lastSeen = Date.parse(json<{ nodes: NodeStats[] }>(online).nodes.find(n => n.id === node.id)!.last_seen!)
      expect(Date.parse(json<{ timestamp: string }>(stale).timestamp) - lastSeen).toBeGreaterThan(2000)
      expect((await call('POST', `/api/v1/nodes/${node.id}/stats`, { cpu_percent: 1, disk_percent: 2 }, node.token)).status).toBe(200)
      await s.next(m => statusOf(m) === 'online', 3000)
    }
    finally {
      s.close()
    }
  })

  it('sends heartbeat comments at NODEPULSE_HEARTBEAT_INTERVAL', async () => {
    const s = await openStream('/api/v1/metrics/nodes/stats/stream?interval=60', { bearer }, {}, srv.info.baseURL)
    try {
      const first = await s.next(m => m.comment === 'heartbeat', 3000)
      const second = await s.next(m => m.comment === 'heartbeat', 3000)
      expect(second.receivedAt - first.receivedAt).toBeGreaterThanOrEqual(800)
    }
    finally {
      s.close()
    }
  })
})
