/**
 * A node's `state` (online → unreachable → stale) in the REST views and seed 000's streams, on a
 * server of its own with short thresholds (unreachable after 2 s, stale after 6 s): each view says
 * unreachable while the watcher's `node_unreachable` stands, and `status` keeps the seed's values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NodeView } from '../../shared/contracts/rest'
import type { NodeStatsSnapshot, NodeStreamSnapshot } from '../../shared/contracts/seed000'
import type { EventPage } from '../../shared/contracts/seed002'
import { startDedicated, until, type CreatedAgent, type Dedicated } from './support/dedicated'
import { json, openStream, type SseMessage, type SseStream } from './sse'

let d: Dedicated
const streams: SseStream[] = []

beforeAll(async () => {
  d = await startDedicated('state', { NODEPULSE_STALE_AFTER: '6', NODEPULSE_UNREACHABLE_AFTER: '2', NODEPULSE_HEARTBEAT_INTERVAL: '1' })
})
afterAll(async () => {
  streams.forEach(s => s.close())
  await d?.stop()
})

const view = async (node: CreatedAgent) => {
  const res = await d.call<NodeView>('GET', `/api/v1/nodes/${node.id}`)
  expect(res.status, res.text).toBe(200)
  return res.body
}
const listed = async (node: CreatedAgent) => {
  const res = await d.call<NodeView[]>('GET', '/api/v1/nodes')
  expect(res.status, res.text).toBe(200)
  return res.body.find(n => n.id === node.id)!
}
const eventTypes = async (node: CreatedAgent) => {
  const res = await d.call<EventPage>('GET', `/api/v1/events?limit=100&node_id=${node.id}`)
  return res.body.events.map(e => e.event_type)
}
/** A data message's JSON; comments and heartbeats carry none. */
const parsed = <T>(m: SseMessage): Partial<T> => (m.data ? json<Partial<T>>(m) : {})
async function open(path: string) {
  const s = await openStream(path, { bearer: d.bearer }, {}, d.baseURL)
  expect(s.status).toBe(200)
  streams.push(s)
  return s
}

describe('a node\'s state', () => {
  it('is online while it reports, unreachable once silent past the threshold (as the event says), then stale, in REST and both streams', async () => {
    const node = await d.createAgent()
    expect(await view(node)).toMatchObject({ status: 'offline', state: 'pending' })
    await d.report(node, { cpu_percent: 42, memory_percent: 50, disk_percent: 60 })
    const fresh = await view(node)
    expect(fresh).toMatchObject({ status: 'online', state: 'online', cpu_percent: 42 })

    const unified = await open('/api/v1/metrics/nodes/stats/stream?interval=1')
    const perNode = await open(`/api/v1/metrics/nodes/${node.id}/stats/stream?interval=1`)

    // The watcher raises node_unreachable; from then on every view says unreachable while status stays online.
    await until('node_unreachable', async () => (await eventTypes(node)).includes('node_unreachable'), 15_000)
    expect(await view(node)).toMatchObject({ status: 'online', state: 'unreachable', cpu_percent: 42 })
    expect(await listed(node)).toMatchObject({ status: 'online', state: 'unreachable' })
    const snapshot = json<NodeStatsSnapshot>(await unified.next(m => parsed<NodeStatsSnapshot>(m).nodes?.find(n => n.id === node.id)?.state === 'unreachable', 10_000)).nodes.find(n => n.id === node.id)!
    expect(snapshot).toMatchObject({ status: 'online', state: 'unreachable', cpu_percent: 42, last_seen: fresh.last_seen })
    const single = json<NodeStreamSnapshot>(await perNode.next(m => parsed<NodeStreamSnapshot>(m).node?.state === 'unreachable', 10_000)).node!
    expect(single).toMatchObject({ status: 'online', state: 'unreachable', cpu_percent: 42 })

    await until('stale', async () => (await view(node)).status === 'stale', 15_000)
    expect(await view(node)).toMatchObject({ status: 'stale', state: 'stale' })
    const stale = json<NodeStatsSnapshot>(await unified.next(m => parsed<NodeStatsSnapshot>(m).nodes?.find(n => n.id === node.id)?.state === 'stale', 10_000))
    expect(stale.nodes.find(n => n.id === node.id)).toMatchObject({ status: 'stale', state: 'stale' })

    // Reporting again brings every view back to online, and the master stays online throughout.
    await d.report(node, { cpu_percent: 7, memory_percent: 50, disk_percent: 60 })
    expect(await view(node)).toMatchObject({ status: 'online', state: 'online', cpu_percent: 7 })
    const master = (await d.call<NodeView[]>('GET', '/api/v1/nodes')).body.find(n => n.is_master)!
    expect(master).toMatchObject({ status: 'online', state: 'online' })
  })

  it('refuses an unknown node with 404, not a state', async () => {
    const res = await d.call('GET', '/api/v1/nodes/999999')
    expect(res.status).toBe(404)
  })
})
