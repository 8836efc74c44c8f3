/**
 * Seed 003's member API on the shared server: nodes with stable sources, readings and observations
 * paged by cursor (every row once, in order), limits, bad parameters, and read-only viewer access.
 */
import { describe, expect, it } from 'vitest'
import {
  MAX_PAGE, memberNodesBody, memberStatsBody, observationsBody, readingsBody, type ClusterReadingsData, type ClusterStatsData, type ObservationsBody, type ReadingsBody,
} from '../../shared/contracts/seed003'
import type { SeedEnvelope } from '../../shared/contracts/seed004'
import { api, createAgent, createApiToken, expectError, report, sample } from './helpers'

const viewer = createApiToken('viewer').then(t => ({ bearer: t.token }))

async function readAll<T extends ReadingsBody | ObservationsBody>(path: string, since: string, limit: number): Promise<{ pages: T[], last: string }> {
  const pages: T[] = []
  let cursor = since
  for (;;) {
    const res = await api<T>('GET', `${path}?since=${cursor}&limit=${limit}`, { auth: await viewer })
    expect(res.status, res.text).toBe(200)
    pages.push(res.body)
    cursor = res.body.next_cursor
    if (!res.body.more) return { pages, last: cursor }
  }
}

describe('member API', () => {
  it('lists this server\'s nodes with a stable source id', async () => {
    const agent = await createAgent()
    const res = await api('GET', '/api/nodes', { auth: await viewer })
    expect(res.status, res.text).toBe(200)
    const body = memberNodesBody.parse(res.body)
    const mine = body.nodes.find(n => n.id === agent.id)!
    expect(mine.source).toBe(`nodepulse:${body.instance}/${agent.id}`)
    expect(mine).toMatchObject({ hostname: agent.hostname, kind: 'agent', status: 'offline', member: null })
  })

  it('pages readings by cursor: each sample once, in order, at most `limit` per page', async () => {
    const start = readingsBody.parse((await api('GET', '/api/readings?limit=1', { auth: await viewer })).body)
    // The cursor after everything so far: page to the end first.
    const { last: before } = await readAll<ReadingsBody>('/api/readings', start.next_cursor, MAX_PAGE)
    const agent = await createAgent()
    const samples = Array.from({ length: 7 }, (_, i) => sample(100 - i, { cpu_percent: i }))
    expect((await report(agent.id, agent.token, { json: { samples } })).status).toBe(200)
    const { pages, last } = await readAll<ReadingsBody>('/api/readings', before, 3)
    for (const p of pages) expect(readingsBody.parse(p).readings.length).toBeLessThanOrEqual(3)
    const all = pages.flatMap(p => p.readings)
    const ids = all.map(r => r.id)
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
    expect(new Set(ids).size).toBe(ids.length)
    const mine = all.filter(r => r.node.id === agent.id)
    expect(mine.map(r => r.cpu_percent)).toEqual([0, 1, 2, 3, 4, 5, 6])
    expect(mine[0]!.node.hostname).toBe(agent.hostname)
    // Nothing new of this node after the last cursor.
    const after = await api<ReadingsBody>('GET', `/api/readings?since=${last}`, { auth: await viewer })
    expect(after.body.readings.filter(r => r.node.id === agent.id)).toEqual([])
  })

  it('pages observations by cursor and names each event\'s node', async () => {
    const first = observationsBody.parse((await api('GET', '/api/observations?limit=1', { auth: await viewer })).body)
    const { last: before } = await readAll<ObservationsBody>('/api/observations', first.next_cursor, MAX_PAGE)
    const agent = await createAgent()
    for (const message of ['one', 'two', 'three']) {
      const res = await api('POST', `/api/v1/nodes/${agent.id}/events`, { auth: { bearer: agent.token }, json: { event_type: 'error_report', message } })
      expect(res.status, res.text).toBeLessThan(300)
    }
    const { pages } = await readAll<ObservationsBody>('/api/observations', before, 2)
    const mine = pages.flatMap(p => observationsBody.parse(p).observations).filter(o => o.node?.id === agent.id && o.event_type === 'error_report')
    expect(mine.map(o => o.message)).toEqual(['one', 'two', 'three'])
    expect(mine[0]!.node!.hostname).toBe(agent.hostname)
  })

  it('sums stats over nodes and breaks them down per node', async () => {
    const agent = await createAgent()
    await report(agent.id, agent.token, { json: { samples: [sample(20), sample(10)] } })
    const res = await api('GET', '/api/stats', { auth: await viewer })
    expect(res.status, res.text).toBe(200)
    const body = memberStatsBody.parse(res.body)
    expect(body.nodes.find(n => n.id === agent.id)).toMatchObject({ samples: 2, status: 'online', kind: 'agent' })
    expect(body.totals.nodes).toBe(body.nodes.length)
    expect(body.totals.online + body.totals.stale + body.totals.offline).toBe(body.totals.nodes)
    expect(body.totals.samples).toBe(body.nodes.reduce((a, n) => a + n.samples, 0))
  })

  it('refuses bad cursors and limits with 400 naming the parameter', async () => {
    const auth = await viewer
    expectError(await api('GET', '/api/readings?since=abc', { auth }), 400, 'since')
    expectError(await api('GET', '/api/readings?since=-1', { auth }), 400, 'since')
    expectError(await api('GET', '/api/observations?limit=0', { auth }), 400, 'limit')
    expectError(await api('GET', `/api/observations?limit=${MAX_PAGE + 1}`, { auth }), 400, 'limit')
    expectError(await api('GET', '/api/readings?limit=ten', { auth }), 400, 'limit')
  })

  it('needs a token or session, and is read-only', async () => {
    for (const path of ['/api/nodes', '/api/readings', '/api/observations', '/api/stats']) {
      expectError(await api('GET', path), 401)
      expectError(await api('GET', path, { auth: { bearer: 'npt_wrong' } }), 401)
    }
    expect((await api('POST', '/api/readings', { auth: await viewer, json: {} })).status).toBeGreaterThanOrEqual(403)
  })

  it('caches the cluster API for the aggregation interval (the seed\'s 60 s here), per query; the member API is never cached', async () => {
    const auth = await viewer
    const stats = async () => (await api<SeedEnvelope<ClusterStatsData>>('GET', '/api/cluster/stats', { auth })).body.data
    const readings = async (query: string) => (await api<SeedEnvelope<ClusterReadingsData>>('GET', `/api/cluster/readings?${query}`, { auth })).body.data
    const before = await stats()
    const newest = await readings('limit=5')
    const agent = await createAgent()
    expect((await report(agent.id, agent.token, { json: sample(1) })).status).toBe(200)
    // The member API sees the new node and sample at once…
    expect(memberStatsBody.parse((await api('GET', '/api/stats', { auth })).body).nodes.some(n => n.id === agent.id && n.samples === 1)).toBe(true)
    // …the cluster API answers what it computed, for up to 60 s: the same figures, a fresh envelope time.
    const after = await stats()
    expect({ ...after, timestamp: '' }).toEqual({ ...before, timestamp: '' })
    expect(after.nodes.some(n => n.id === agent.id)).toBe(false)
    expect((await readings('limit=5')).readings).toEqual(newest.readings)
    // Another query is another entry, computed now.
    expect((await readings(`node=${agent.id}`)).readings.map(r => r.node.id)).toEqual([agent.id])
  })
})
