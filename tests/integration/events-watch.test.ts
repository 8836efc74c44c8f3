/**
 * Events the server finds by itself, on a server of its own with short thresholds (unreachable
 * after 2 s, stale after 5 s): each is produced by its condition and by no other, once, and a
 * restart neither repeats nor loses one. Waits are generous: `until` returns as soon as its condition holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IncidentDetail, IncidentPage, IncidentView } from '../../shared/contracts/incidents'
import type { DeliveryView, NodeView, WebhookWithSecret } from '../../shared/contracts/rest'
import type { EventPage, EventStats, EventView } from '../../shared/contracts/seed002'
import { unique } from './helpers'
import { startDedicated, until, sleep, type CreatedAgent, type Dedicated } from './support/dedicated'
import { startReceiver } from './support/receiver'
import { json, openStream } from './sse'

let d: Dedicated

beforeAll(async () => {
  d = await startDedicated('watch', { NODEPULSE_STALE_AFTER: '5', NODEPULSE_UNREACHABLE_AFTER: '2', NODEPULSE_HEARTBEAT_INTERVAL: '1', NODEPULSE_PENDING_GRACE: '8' })
})
afterAll(async () => {
  await d?.stop()
})

async function eventsOf(query: string): Promise<EventView[]> {
  const res = await d.call<EventPage>('GET', `/api/v1/events?limit=500&${query}`)
  expect(res.status, res.text).toBe(200)
  return res.body.events.reverse()
}

/** The types of a node's events, oldest first, leaving out its incidents' own events (tested below). */
const typesOf = async (node: CreatedAgent) => (await eventsOf(`node_id=${node.id}`)).filter(e => e.resource_type !== 'incident').map(e => e.event_type)
const statusesOf = async (node: CreatedAgent) => (await eventsOf(`node_id=${node.id}&event_type=node_status_update`)).map(e => `${e.data.previous_status}->${e.data.status}`)
const clusterOf = async (cluster: string) => (await eventsOf(`cluster_id=${cluster}&event_type=cluster_status_update`)).map(e => e.data.status)

describe('the watcher', () => {
  // First, while the master is the only other node: the fleet (every node, no cluster label) is a
  // cluster of its own, with cluster_id null. Its node is deleted at the end, so later tests' silent
  // nodes, which leave the fleet degraded for good, come after.
  it('turns the fleet degraded (cluster_id null) while a node without a cluster label has gone silent, and ok again when it reports', async () => {
    const fleet = async () => (await eventsOf('event_type=cluster_status_update')).filter(e => e.cluster_id === null)
    const node = await d.createAgent()
    await d.report(node, { cpu_percent: 5, disk_percent: 5 })
    await until('the fleet degraded by the silent node', async () => {
      const last = (await fleet()).at(-1)
      return last?.data.status === 'degraded' && (last.data.not_online as string[]).includes(node.hostname)
    }, 20_000)
    const degraded = (await fleet()).at(-1)!
    expect(degraded).toMatchObject({ severity: 'warning', resource_type: 'cluster', node_id: null, data: { status: 'degraded', not_online: [node.hostname] } })
    await d.report(node, { cpu_percent: 5, disk_percent: 5 })
    await until('the fleet ok again', async () => (await fleet()).at(-1)?.data.status === 'ok', 15_000)
    expect((await fleet()).at(-1)).toMatchObject({ severity: 'success', cluster_id: null, data: { status: 'ok', previous_status: 'degraded', not_online: [] } })
    expect((await d.call('DELETE', `/api/v1/nodes/${node.id}`)).status).toBe(204)
  })

  it('logs offline → online on the first report, unreachable, stale, then reachable and online again, each once', async () => {
    const node = await d.createAgent(undefined, { cluster: 'w1' })
    expect(await typesOf(node)).toEqual(['node_registered'])
    await d.report(node, { cpu_percent: 5, disk_percent: 5 })
    await until('online', async () => (await statusesOf(node)).length === 1, 15_000)
    expect(await statusesOf(node)).toEqual(['offline->online'])
    const online = (await eventsOf(`node_id=${node.id}&event_type=node_status_update`))[0]!
    expect(online).toMatchObject({ severity: 'success', cluster_id: 'w1', resource_type: 'node', data: { hostname: node.hostname, status: 'online' } })

    await until('unreachable', async () => (await typesOf(node)).includes('node_unreachable'), 15_000)
    await until('stale', async () => (await statusesOf(node)).length === 2, 15_000)
    const stale = (await eventsOf(`node_id=${node.id}&event_type=node_status_update`))[1]!
    expect(stale).toMatchObject({ severity: 'warning', data: { previous_status: 'online', status: 'stale' } })
    expect(stale.message).toContain('stale')

    await d.report(node, { cpu_percent: 5, disk_percent: 5 })
    await until('online again', async () => (await statusesOf(node)).length === 3, 15_000)
    // Silent again from here, it will be unreachable again in 2 s; nothing else may follow.
    expect((await typesOf(node)).slice(0, 6)).toEqual(['node_registered', 'node_status_update', 'node_unreachable', 'node_status_update', 'node_reachable', 'node_status_update'])
    // The next thing the watcher finds is its second unreachable (2 s); no status change may come before it.
    await until('unreachable again', async () => (await typesOf(node)).filter(t => t === 'node_unreachable').length === 2, 15_000)
    expect(await statusesOf(node)).toEqual(['offline->online', 'online->stale', 'stale->online'])
  })

  it('turns a cluster degraded while a node of it is not online, ok again when it is, and leaves nodes in maintenance out', async () => {
    const a = await d.createAgent(undefined, { cluster: 'w2' })
    const b = await d.createAgent(undefined, { cluster: 'w2' })
    // A probe (no cluster) going unreachable shows a watcher pass that began while a and b were
    // pending; a second probe's, one pass later, that this pass (its cluster look included) has ended.
    for (const probe of [await d.createAgent(), await d.createAgent()]) {
      await d.report(probe, { cpu_percent: 1, disk_percent: 1 })
      await until('the probe unreachable', async () => (await typesOf(probe)).includes('node_unreachable'), 15_000)
    }
    await d.report(a, { cpu_percent: 1, disk_percent: 1 })
    await d.report(b, { cpu_percent: 1, disk_percent: 1 })
    await until('both online', async () => (await statusesOf(a)).length === 1 && (await statusesOf(b)).length === 1, 15_000)
    // Pending (added, not reported yet, within NODEPULSE_PENDING_GRACE) nodes never made w2 degraded.
    expect(await clusterOf('w2')).toEqual([])

    // b goes into maintenance and stops reporting; a keeps reporting: w2 stays ok.
    expect((await d.call('PATCH', `/api/v1/nodes/${b.id}`, { json: { maintenance: true } })).status).toBe(200)
    // a reports every 500 ms until b has gone stale (5 s).
    const bStatus = async () => (await eventsOf(`node_id=${b.id}&event_type=node_status_update`)).at(-1)?.data.status
    const end = Date.now() + 20_000
    while (await bStatus() !== 'stale') {
      expect(Date.now(), 'b goes stale within 20 s').toBeLessThan(end)
      await d.report(a, { cpu_percent: 1, disk_percent: 1 })
      await sleep(500)
    }
    await d.report(a, { cpu_percent: 1, disk_percent: 1 })
    expect(await clusterOf('w2')).toEqual([])
    // b's own status changes are still logged, marked as muted by maintenance.
    const muted = (await eventsOf(`node_id=${b.id}&event_type=node_status_update`)).at(-1)!
    expect(muted.data).toMatchObject({ status: 'stale', maintenance: true })

    // a stops too: w2 degrades, naming a and not b.
    await until('w2 degraded', async () => (await clusterOf('w2')).at(-1) === 'degraded', 15_000)
    const degraded = (await eventsOf('cluster_id=w2&event_type=cluster_status_update')).at(-1)!
    expect(degraded).toMatchObject({ severity: 'warning', data: { status: 'degraded', previous_status: 'ok', not_online: [a.hostname] } })
    await d.report(a, { cpu_percent: 1, disk_percent: 1 })
    await until('w2 ok again', async () => (await clusterOf('w2')).at(-1) === 'ok', 15_000)
    expect(await clusterOf('w2')).toEqual(['degraded', 'ok'])
    const okEvent = (await eventsOf('cluster_id=w2&event_type=cluster_status_update')).at(-1)!
    expect(okEvent).toMatchObject({ severity: 'success', resource_type: 'cluster', node_id: null, data: { status: 'ok', previous_status: 'degraded', not_online: [] } })
  })

  it('logs backup_started and backup_completed as active_backups rises and falls, and nothing while it holds (a node that never sends it has none: see the first test)', async () => {
    const node = await d.createAgent()
    const backups = async () => (await eventsOf(`node_id=${node.id}&resource_type=backup`)).map(e => `${e.event_type}:${e.data.previous_active_backups}->${e.data.active_backups}`)
    const now = Date.now()
    await d.report(node, { cpu_percent: 1, disk_percent: 1, active_backups: 2, timestamp: new Date(now - 4000).toISOString() })
    await d.report(node, { cpu_percent: 1, disk_percent: 1, active_backups: 2, timestamp: new Date(now - 3000).toISOString() })
    await d.report(node, { cpu_percent: 1, disk_percent: 1, active_backups: 1, timestamp: new Date(now - 2000).toISOString() })
    // A late catch-up sample from before says nothing about now.
    await d.report(node, { cpu_percent: 1, disk_percent: 1, active_backups: 7, timestamp: new Date(now - 10_000).toISOString() })
    await d.report(node, { cpu_percent: 1, disk_percent: 1, active_backups: 0, timestamp: new Date(now - 1000).toISOString() })
    await until('two backup events', async () => (await backups()).length >= 3, 15_000)
    await sleep(500)
    expect(await backups()).toEqual(['backup_started:0->2', 'backup_completed:2->1', 'backup_completed:1->0'])
    const started = (await eventsOf(`node_id=${node.id}&event_type=backup_started`))[0]!
    expect(started).toMatchObject({ severity: 'info', data: { source: 'active_backups' } })
    expect(started.message).toBe(`2 backups started on ${node.hostname}`)
  })

  it('resumes after a restart without repeating or losing a transition, and replays the stream from Last-Event-ID', async () => {
    const node = await d.createAgent(undefined, { cluster: 'w3' })
    await d.report(node, { cpu_percent: 1, disk_percent: 1 })
    await until('online', async () => (await statusesOf(node)).length === 1, 15_000)
    const s = await openStream(`/api/v1/events/stream?node_id=${node.id}`, { bearer: d.bearer }, {}, d.baseURL)
    const connected = await s.next()
    s.close()
    await d.srv.restart()
    // Down while restarting: stale and unreachable are found once, by the restarted server.
    await until('stale after restart', async () => (await statusesOf(node)).length === 2, 15_000)
    await sleep(1500)
    expect(await statusesOf(node)).toEqual(['offline->online', 'online->stale'])
    expect((await typesOf(node)).filter(t => t === 'node_unreachable')).toHaveLength(1)

    const r = await openStream(`/api/v1/events/stream?node_id=${node.id}&resource_type=node`, { bearer: d.bearer }, { 'last-event-id': connected.id! }, d.baseURL)
    await r.next()
    const replayed = [json<EventView>(await r.next(m => m.data !== undefined && m.event !== 'heartbeat')), json<EventView>(await r.next(m => m.data !== undefined && m.event !== 'heartbeat'))]
    expect(replayed.map(e => e.event_type)).toEqual(['node_unreachable', 'node_status_update'])
    r.close()
  })

  it('sends named heartbeat events on the event stream', async () => {
    const s = await openStream('/api/v1/events/stream', { bearer: d.bearer }, {}, d.baseURL)
    await s.next()
    const beat = await s.next(m => m.event === 'heartbeat', 3000)
    expect(json<{ event_type: string, timestamp: number }>(beat)).toEqual({ event_type: 'heartbeat', timestamp: expect.any(Number) })
    expect(beat.id).toBeUndefined()
    s.close()
  })
})

describe('incidents', () => {
  const incidentsOf = async (query: string) => {
    const res = await d.call<IncidentPage>('GET', `/api/v1/incidents?${query}`)
    expect(res.status, res.text).toBe(200)
    return res.body.incidents
  }

  it('a silent node opens one incident through unreachable → stale, acknowledged once, resolved with its duration when it reports again; a webhook without types gets exactly opened, acknowledged, resolved', async () => {
    const r = await startReceiver()
    const hook = await d.call<WebhookWithSecret>('POST', '/api/v1/webhooks', { json: { name: unique('incidents'), url: r.url } })
    expect(hook.status, hook.text).toBe(201)
    try {
      const node = await d.createAgent(undefined, { cluster: 'inc' })
      await d.report(node, { cpu_percent: 1, disk_percent: 1 })
      await until('stale', async () => (await statusesOf(node)).includes('online->stale'), 15_000)
      const [open, ...more] = await incidentsOf(`node_id=${node.id}`)
      expect(more).toEqual([])
      expect(open).toMatchObject({ kind: 'node', node_id: node.id, cluster_id: 'inc', state: 'open', severity: 'warning', title: `Node ${node.hostname} is down`, acknowledged_at: null })
      expect(open!.event_count).toBeGreaterThanOrEqual(2)
      expect((await incidentsOf(`state=open&kind=cluster`)).some(i => i.cluster_id === 'inc')).toBe(true)
      const stats = await d.call<EventStats>('GET', '/api/v1/events/stats')
      expect(stats.body.open_incidents).toBeGreaterThanOrEqual(2)

      const ack = await d.call<IncidentView>('POST', `/api/v1/incidents/${open!.id}/acknowledge`)
      expect(ack.status, ack.text).toBe(200)
      expect(ack.body).toMatchObject({ id: open!.id, acknowledged_by: expect.any(String), acknowledged_at: expect.any(String) })
      const again = await d.call<IncidentView>('POST', `/api/v1/incidents/${open!.id}/acknowledge`)
      expect(again.body.acknowledged_at).toBe(ack.body.acknowledged_at)
      expect((await d.call<EventStats>('GET', '/api/v1/events/stats')).body.open_incidents).toBe(stats.body.open_incidents - 1)

      await d.report(node, { cpu_percent: 1, disk_percent: 1 })
      await until('resolved', async () => (await incidentsOf(`node_id=${node.id}&state=resolved`)).length === 1, 15_000)
      await until('the cluster incident resolved', async () => !(await incidentsOf('state=open&kind=cluster')).some(i => i.cluster_id === 'inc'), 15_000)
      const detail = await d.call<IncidentDetail>('GET', `/api/v1/incidents/${open!.id}`)
      expect(detail.status, detail.text).toBe(200)
      expect(detail.body.duration_seconds).toBe(Math.round((Date.parse(detail.body.resolved_at!) - Date.parse(detail.body.opened_at)) / 1000))
      const types = detail.body.events.map(e => e.event_type)
      expect(types.filter(t => t.startsWith('incident_'))).toEqual(['incident_opened', 'incident_acknowledged', 'incident_resolved'])
      expect(types.slice(0, 2)).toEqual(['node_unreachable', 'incident_opened'])
      expect(types).toContain('node_reachable')
      expect(detail.body.events.every(e => e.incident_id === open!.id)).toBe(true)

      // The receiver: one notification per change of this node's incident, none of its raw events.
      const ofNode = () => r.received.filter(x => x.body.event.node_id === node.id).map(x => x.body.event.event_type)
      await r.waitFor('the resolution', () => ofNode().includes('incident_resolved'), 15_000)
      await until('every delivery settled', async () => {
        const res = await d.call<{ deliveries: DeliveryView[] }>('GET', `/api/v1/webhooks/${hook.body.id}/deliveries`)
        return res.body.deliveries.every(x => x.state !== 'pending')
      })
      expect(ofNode()).toEqual(['incident_opened', 'incident_acknowledged', 'incident_resolved'])
      const resolved = r.received.find(x => x.body.event.event_type === 'incident_resolved' && x.body.event.node_id === node.id)!.body
      expect(resolved.incident).toMatchObject({ id: open!.id, state: 'resolved', duration_seconds: detail.body.duration_seconds })
    }
    finally {
      await d.call('DELETE', `/api/v1/webhooks/${hook.body.id}`)
      await r.close()
    }
  })

  it('a node added but not reported yet is pending: no unreachable or incident before its grace (8 s); then it is, until it reports (the cluster side: the w2 test)', async () => {
    const node = await d.createAgent(undefined, { cluster: 'pend' })
    const view = await d.call<NodeView>('GET', `/api/v1/nodes/${node.id}`)
    expect(view.body.state).toBe('pending')
    await until('overdue', async () => (await typesOf(node)).includes('node_unreachable'), 20_000)
    const created = Date.parse(view.body.created_at)
    const [gone] = await eventsOf(`node_id=${node.id}&event_type=node_unreachable`)
    expect(gone!.data).toMatchObject({ never_reported: true })
    expect(gone!.message).toContain('has not reported since it was added')
    expect(Date.parse(gone!.created_at) - created).toBeGreaterThanOrEqual(7_900)
    expect((await d.call<NodeView>('GET', `/api/v1/nodes/${node.id}`)).body.state).toBe('offline')
    const [incident] = await incidentsOf(`node_id=${node.id}&state=open`)
    expect(Date.parse(incident!.opened_at) - created).toBeGreaterThanOrEqual(7_900)

    await d.report(node, { cpu_percent: 1, disk_percent: 1 })
    await until('resolved', async () => (await incidentsOf(`node_id=${node.id}&state=resolved`)).length === 1, 15_000)
  })

  it('acknowledges every incident a filter matches, and answers bad input with 400 naming the field and unknown ids with 404', async () => {
    const node = await d.createAgent()
    await d.report(node, { cpu_percent: 1, disk_percent: 1 })
    await until('open', async () => (await incidentsOf(`node_id=${node.id}&state=open`)).length === 1, 15_000)
    const all = await d.call<{ acknowledged: number, ids: number[] }>('POST', `/api/v1/incidents/acknowledge?node_id=${node.id}&acknowledged=false`)
    expect(all.status, all.text).toBe(200)
    expect(all.body.acknowledged).toBe(1)
    expect((await incidentsOf(`node_id=${node.id}&acknowledged=false`))).toEqual([])
    expect((await d.call('POST', `/api/v1/incidents/acknowledge?node_id=${node.id}`)).body).toEqual({ acknowledged: 0, ids: [] })

    for (const [path, field] of [['/api/v1/incidents?state=closed', 'state'], ['/api/v1/incidents?limit=0', 'limit'], ['/api/v1/incidents?severity=loud', 'severity'], ['/api/v1/incidents?colour=red', 'colour'], ['/api/v1/incidents/abc', 'id']] as const) {
      const res = await d.call('GET', path)
      expect(res.status, path).toBe(400)
      expect(res.body.message).toContain(field)
    }
    const typo = await d.call('POST', '/api/v1/incidents/acknowledge?nodeid=1')
    expect(typo.status).toBe(400)
    expect(typo.body.message).toContain('nodeid')
    expect((await d.call('GET', '/api/v1/incidents/987001')).status).toBe(404)
    const missing = await d.call('POST', '/api/v1/incidents/987001/acknowledge')
    expect(missing.status).toBe(404)
    expect(missing.body.message).toBe('Incident 987001 not found')
  })
})

describe('revoked credentials', () => {
  it('end the streams opened with them within a heartbeat, and only those', async () => {
    const login = await fetch(`${d.baseURL}/api/v1/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: d.srv.info.adminUser, password: d.srv.info.adminPassword }),
    })
    const cookie = login.headers.getSetCookie().find(c => c.startsWith('nodepulse_session='))!.split(';')[0]!
    const token = await d.call<{ id: number, token: string }>('POST', '/api/v1/tokens', { json: { name: 'revoke-me', role: 'viewer' } })
    const before = (await d.hubStats()).disconnects.revoked
    const bySession = await openStream('/api/v1/events/stream', { cookie }, {}, d.baseURL)
    const byToken = await openStream('/stream/stats', { bearer: token.body.token }, {}, d.baseURL)
    const other = await openStream('/api/v1/metrics/nodes/stats/stream?interval=1', { cookie: d.cookie }, {}, d.baseURL)
    await Promise.all([bySession.next(), byToken.next(), other.next()])

    expect((await d.call('POST', '/api/v1/auth/logout', { auth: { cookie } })).status).toBe(200)
    await Promise.race([bySession.ended, sleep(3000).then(() => { throw new Error('the logged-out session\'s stream is still open') })])
    expect((await d.call('DELETE', `/api/v1/tokens/${token.body.id}`)).status).toBe(204)
    await Promise.race([byToken.ended, sleep(3000).then(() => { throw new Error('the deleted token\'s stream is still open') })])

    // The admin's other session keeps streaming.
    const count = other.messages.length
    await other.next(m => m.data !== undefined && other.messages.indexOf(m) >= count, 3000)
    other.close()
    expect((await d.hubStats()).disconnects.revoked - before).toBe(2)
  })

  it('end the streams of a user who is deleted, within a heartbeat', async () => {
    const username = `gone-${Date.now()}`
    const user = await d.call<{ id: number }>('POST', '/api/v1/users', { json: { username, password: 'viewer-password', role: 'viewer' } })
    expect(user.status).toBe(201)
    const login = await fetch(`${d.baseURL}/api/v1/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: 'viewer-password' }),
    })
    const cookie = login.headers.getSetCookie().find(c => c.startsWith('nodepulse_session='))!.split(';')[0]!
    const stream = await openStream('/stream/stats', { cookie }, {}, d.baseURL)
    await stream.next()
    expect((await d.call('DELETE', `/api/v1/users/${user.body.id}`)).status).toBe(204)
    await Promise.race([stream.ended, sleep(3000).then(() => { throw new Error('the deleted user\'s stream is still open') })])
  })
})
