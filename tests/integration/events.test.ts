/**
 * Seed 002's backend on the shared server: agent events, the history with filters and cursor
 * paging, acknowledgement, event stats, maintenance, and the event stream with its filters,
 * Last-Event-ID and `since` replay.
 */
import { describe, expect, it } from 'vitest'
import type { NodeView } from '../../shared/contracts/rest'
import type { EventPage, EventStats, EventView } from '../../shared/contracts/seed002'
import { api, asAdmin, createAgent, createApiToken, createUser, expectError, openStream as openOnce, type CreatedNode } from './helpers'
import { json, openStream, type SseMessage } from './sse'

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const EVENT_KEYS = ['acknowledged_at', 'acknowledged_by', 'cluster_id', 'created_at', 'data', 'event_type', 'id', 'incident_id', 'message', 'node_id', 'resource_type', 'severity', 'timestamp']

function sendEvent(node: CreatedNode, body: unknown, token = node.token) {
  return api<EventView>('POST', `/api/v1/nodes/${node.id}/events`, { auth: { bearer: token }, json: body })
}

async function history(query: string) {
  const res = await api<EventPage>('GET', `/api/v1/events?${query}`, { auth: await asAdmin() })
  expect(res.status, res.text).toBe(200)
  return res.body
}

const isEvent = (m: SseMessage) => m.data !== undefined && m.event !== 'heartbeat' && m.event !== 'connected'

describe('POST /api/v1/nodes/{id}/events (agents)', () => {
  it('stores an agent\'s event with its node, cluster and defaults, and answers 201 with it', async () => {
    const node = await createAgent(undefined, { cluster: 'eu-1' })
    const res = await sendEvent(node, { event_type: 'backup_failed', message: 'pg_dump exited with 1', data: { job: 'nightly' }, timestamp: Math.floor(Date.now() / 1000) - 30 })
    expect(res.status, res.text).toBe(201)
    expect(Object.keys(res.body).sort()).toEqual(EVENT_KEYS)
    expect(res.body).toMatchObject({
      event_type: 'backup_failed', severity: 'error', node_id: node.id, cluster_id: 'eu-1', resource_type: 'backup', message: 'pg_dump exited with 1',
      data: { hostname: node.hostname, source: 'agent', agent: { job: 'nightly' } }, acknowledged_at: null, acknowledged_by: null,
    })
    expect(res.body.data.reported_at).toMatch(ISO_UTC)
    expect(res.body.created_at).toMatch(ISO_UTC)
    expect(Math.abs(res.body.timestamp - Date.now() / 1000)).toBeLessThan(10)

    const report = await sendEvent(node, { event_type: 'error_report', severity: 'warning', resource_type: 'disk' })
    expect(report.status).toBe(201)
    expect(report.body).toMatchObject({ event_type: 'error_report', severity: 'warning', resource_type: 'disk', message: `${node.hostname}: an error was reported` })
  })

  it('refuses bad events with the field named, and stores none of them', async () => {
    const node = await createAgent()
    const other = await createAgent()
    expectError(await sendEvent(node, { event_type: 'node_removed' }), 422, 'event_type')
    expectError(await sendEvent(node, { event_type: 'backup_failed', severity: 'fatal' }), 422, 'severity')
    expectError(await sendEvent(node, { event_type: 'backup_failed', extra: 1 }), 422, 'extra')
    expectError(await sendEvent(node, { event_type: 'backup_failed', timestamp: Date.now() / 1000 + 3600 }), 422, 'timestamp', 'future')
    expectError(await api('POST', `/api/v1/nodes/${node.id}/events`, { auth: { bearer: node.token }, raw: '{"event_type":' }), 400, 'Malformed JSON')
    expectError(await api('POST', `/api/v1/nodes/${node.id}/events`, { auth: { bearer: node.token }, raw: JSON.stringify({ event_type: 'error_report', data: { blob: 'x'.repeat(20_000) } }) }), 413)
    expectError(await api('POST', `/api/v1/nodes/${node.id}/events`, { json: { event_type: 'error_report' } }), 401)
    expectError(await sendEvent(node, { event_type: 'error_report' }, 'npa_not-a-token'), 401)
    expectError(await sendEvent(node, { event_type: 'error_report' }, other.token), 403)
    expectError(await api('POST', '/api/v1/nodes/999999/events', { auth: { bearer: node.token }, json: { event_type: 'error_report' } }), 404)
    // A user's admin token is not a node's token.
    expectError(await sendEvent(node, { event_type: 'error_report' }, (await createApiToken('admin')).token), 401)
    expect((await history(`node_id=${node.id}&event_type=backup_failed&event_type=error_report`)).events).toEqual([])
  })
})

describe('GET /api/v1/events', () => {
  it('pages newest first with a cursor, without gaps or repeats', async () => {
    const node = await createAgent()
    for (let i = 0; i < 5; i++) expect((await sendEvent(node, { event_type: 'error_report', message: `m${i}` })).status).toBe(201)
    const first = await history(`node_id=${node.id}&event_type=error_report&limit=2`)
    expect(first.events.map(e => e.message)).toEqual(['m4', 'm3'])
    expect(first.next_cursor).toBe(first.events[1]!.id)
    const second = await history(`node_id=${node.id}&event_type=error_report&limit=2&cursor=${first.next_cursor}`)
    expect(second.events.map(e => e.message)).toEqual(['m2', 'm1'])
    const third = await history(`node_id=${node.id}&event_type=error_report&limit=2&cursor=${second.next_cursor}`)
    expect(third.events.map(e => e.message)).toEqual(['m0'])
    expect(third.next_cursor).toBeNull()
  })

  it('filters by node, cluster, resource type, event type, severity (repeatable) and minimum severity', async () => {
    const a = await createAgent(undefined, { cluster: 'filter-a' })
    const b = await createAgent(undefined, { cluster: 'filter-b' })
    await sendEvent(a, { event_type: 'backup_started' })
    await sendEvent(a, { event_type: 'backup_completed' })
    await sendEvent(a, { event_type: 'error_report', severity: 'warning', resource_type: 'disk' })
    await sendEvent(b, { event_type: 'backup_failed' })
    const types = (page: EventPage) => page.events.map(e => e.event_type).sort()
    const both = `node_id=${a.id}&node_id=${b.id}`
    expect(types(await history(both))).toEqual(['backup_completed', 'backup_failed', 'backup_started', 'error_report', 'node_registered', 'node_registered'])
    expect(types(await history(`cluster_id=filter-b`))).toEqual(['backup_failed', 'node_registered'])
    expect(types(await history(`${both}&resource_type=disk`))).toEqual(['error_report'])
    expect(types(await history(`${both}&event_type=backup_started&event_type=backup_failed`))).toEqual(['backup_failed', 'backup_started'])
    expect(types(await history(`${both}&severity=success&severity=warning`))).toEqual(['backup_completed', 'error_report'])
    expect(types(await history(`${both}&min_severity=warning`))).toEqual(['backup_failed', 'error_report'])
    expect(types(await history(`${both}&acknowledged=true`))).toEqual([])
    // A removal is logged under the node's cluster too, so a cluster filter still shows it.
    expect((await api('DELETE', `/api/v1/nodes/${b.id}`, { auth: await asAdmin() })).status).toBe(204)
    expect(types(await history(`cluster_id=filter-b`))).toEqual(['backup_failed', 'node_registered', 'node_removed'])
  })

  it('answers 400 naming a bad filter or paging parameter, and 401 without auth', async () => {
    const auth = await asAdmin()
    expectError(await api('GET', '/api/v1/events?severity=fatal', { auth }), 400, 'severity')
    expectError(await api('GET', '/api/v1/events?node_id=abc', { auth }), 400, 'node_id')
    expectError(await api('GET', '/api/v1/events?limit=0', { auth }), 400, 'limit')
    expectError(await api('GET', '/api/v1/events?limit=501', { auth }), 400, 'limit')
    expectError(await api('GET', '/api/v1/events?cursor=x', { auth }), 400, 'cursor')
    expectError(await api('GET', '/api/v1/events?since=yesterday', { auth }), 400, 'since')
    expectError(await api('GET', '/api/v1/events'), 401)
    expectError(await api('GET', '/api/v1/events/999999999', { auth }), 404)
  })
})

describe('POST /api/v1/events/{id}/ack', () => {
  it('acknowledges once, records who and when, logs event_acknowledged, and lowers the open count', async () => {
    const node = await createAgent()
    const failed = (await sendEvent(node, { event_type: 'backup_failed' })).body
    const viewer = await createUser('viewer')
    const stats = async () => (await api<EventStats>('GET', '/api/v1/events/stats', { auth: viewer.auth })).body
    const before = (await stats()).unacknowledged
    expect(before).toBeGreaterThanOrEqual(1)

    const ack = await api<EventView>('POST', `/api/v1/events/${failed.id}/ack`, { auth: viewer.auth })
    expect(ack.status, ack.text).toBe(200)
    expect(ack.body).toMatchObject({ id: failed.id, acknowledged_by: viewer.username })
    expect(ack.body.acknowledged_at).toMatch(ISO_UTC)
    expect((await stats()).unacknowledged).toBe(before - 1)

    const again = await api<EventView>('POST', `/api/v1/events/${failed.id}/ack`, { auth: await asAdmin() })
    expect(again.status).toBe(200)
    expect(again.body.acknowledged_by).toBe(viewer.username)
    const acks = (await history(`event_type=event_acknowledged&node_id=${node.id}`)).events
    expect(acks).toHaveLength(1)
    expect(acks[0]).toMatchObject({ resource_type: 'event', severity: 'info', data: { acknowledged_event_id: failed.id, acknowledged_by: viewer.username } })
    expect((await history(`node_id=${node.id}&acknowledged=true`)).events.map(e => e.id)).toEqual([failed.id])

    expectError(await api('POST', '/api/v1/events/999999999/ack', { auth: viewer.auth }), 404)
    expectError(await api('POST', '/api/v1/events/abc/ack', { auth: viewer.auth }), 400)
    expectError(await api('POST', `/api/v1/events/${failed.id}/ack`), 401)
  })
})

describe('GET /api/v1/events/stats', () => {
  it('counts the last hour per minute, by type and by severity', async () => {
    const auth = await asAdmin()
    const before = (await api<EventStats>('GET', '/api/v1/events/stats', { auth })).body
    const node = await createAgent()
    await sendEvent(node, { event_type: 'backup_failed' })
    await sendEvent(node, { event_type: 'error_report', severity: 'warning' })
    const after = (await api<EventStats>('GET', '/api/v1/events/stats', { auth })).body
    expect(after.per_minute).toHaveLength(60)
    expect(after.since).toBe(after.per_minute[0]!.minute)
    // node_registered, backup_failed and error_report (other tests may add more meanwhile).
    expect(after.total - before.total).toBeGreaterThanOrEqual(3)
    expect(after.by_type.backup_failed! - (before.by_type.backup_failed ?? 0)).toBeGreaterThanOrEqual(1)
    expect(after.by_severity.error - before.by_severity.error).toBeGreaterThanOrEqual(1)
    expect(after.per_minute.reduce((n, b) => n + b.count, 0)).toBe(after.total)
    const last = after.per_minute.at(-1)!
    expect(last.error + last.warning).toBeGreaterThanOrEqual(2)
  })
})

describe('maintenance mode', () => {
  it('is switched with PATCH, shows on the node, and logs node_maintenance once per change', async () => {
    const auth = await asAdmin()
    const node = await createAgent()
    const on = await api<NodeView>('PATCH', `/api/v1/nodes/${node.id}`, { auth, json: { maintenance: true } })
    expect(on.status, on.text).toBe(200)
    expect(on.body.maintenance).toBe(true)
    expect((await api<NodeView>('PATCH', `/api/v1/nodes/${node.id}`, { auth, json: { maintenance: true } })).status).toBe(200)
    expect((await api<NodeView>('GET', `/api/v1/nodes/${node.id}`, { auth })).body.maintenance).toBe(true)
    // An agent's own event while in maintenance is marked, so alerts stay quiet.
    expect((await sendEvent(node, { event_type: 'backup_failed' })).body.data.maintenance).toBe(true)
    const off = await api<NodeView>('PATCH', `/api/v1/nodes/${node.id}`, { auth, json: { maintenance: false } })
    expect(off.body.maintenance).toBe(false)
    const logged = (await history(`node_id=${node.id}&event_type=node_maintenance`)).events
    expect(logged.map(e => e.data.maintenance)).toEqual([false, true])
    expectError(await api('PATCH', `/api/v1/nodes/${node.id}`, { auth, json: { maintenance: 'yes' } }), 422, 'maintenance')
    const viewer = await createUser('viewer')
    expectError(await api('PATCH', `/api/v1/nodes/${node.id}`, { auth: viewer.auth, json: { maintenance: true } }), 403)
  })
})

describe('GET /api/v1/events/stream', () => {
  it('sends connected first, then each event as `event: <event_type>` with the seed\'s JSON, filtered per client', async () => {
    const auth = await asAdmin()
    const mine = await createAgent()
    const other = await createAgent()
    const s = await openStream(`/api/v1/events/stream?node_id=${mine.id}&severity=error&severity=warning`, auth)
    expect(s.status).toBe(200)
    expect(s.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const connected = await s.next()
    expect(connected.event).toBe('connected')
    expect(connected.retry).toBeGreaterThan(0)
    expect(json<{ event_type: string, timestamp: number }>(connected)).toMatchObject({ event_type: 'connected', filters: { node_id: [mine.id], severity: ['error', 'warning'] } })

    await sendEvent(other, { event_type: 'backup_failed' })
    await sendEvent(mine, { event_type: 'backup_started' })
    const failed = (await sendEvent(mine, { event_type: 'backup_failed', message: 'disk full' })).body
    const got = await s.next(isEvent)
    expect(got.event).toBe('backup_failed')
    expect(got.id).toMatch(new RegExp(`^\\d+-${failed.id}$`))
    const body = json<EventView>(got)
    expect(Object.keys(body).sort()).toEqual(EVENT_KEYS)
    expect(body).toMatchObject({ event_type: 'backup_failed', id: failed.id, node_id: mine.id, message: 'disk full' })
    expect(Number.isInteger(body.timestamp)).toBe(true)
    // Nothing of the other node, and not the info event, arrived before or after.
    await sendEvent(mine, { event_type: 'error_report' })
    expect(json<EventView>(await s.next(isEvent)).event_type).toBe('error_report')
    expect(s.messages.filter(isEvent).map(m => m.event)).toEqual(['backup_failed', 'error_report'])
    s.close()
  })

  it('replays what a client missed after its Last-Event-ID exactly once and in order, then goes live', async () => {
    const auth = await asAdmin()
    const node = await createAgent()
    const s = await openStream(`/api/v1/events/stream?node_id=${node.id}`, auth)
    await s.next()
    await sendEvent(node, { event_type: 'error_report', message: 'seen' })
    const seen = await s.next(isEvent)
    s.close()
    for (const m of ['missed-1', 'missed-2', 'missed-3']) await sendEvent(node, { event_type: 'error_report', message: m })

    const missed = ['missed-1', 'missed-2', 'missed-3']
    const resumes: { headers: Record<string, string>, query: string }[] = [{ headers: { 'last-event-id': seen.id! }, query: '' }, { headers: {}, query: `&lastEventId=${seen.id}` }]
    for (const [i, resume] of resumes.entries()) {
      const r = await openStream(`/api/v1/events/stream?node_id=${node.id}${resume.query}`, auth, resume.headers)
      expect((await r.next()).event).toBe('connected')
      const replayed = []
      for (const _ of missed) replayed.push(json<EventView>(await r.next(isEvent)).message)
      expect(replayed).toEqual(missed)
      await sendEvent(node, { event_type: 'error_report', message: `live-${i}` })
      expect(json<EventView>(await r.next(isEvent)).message).toBe(`live-${i}`)
      expect(r.messages.filter(isEvent)).toHaveLength(missed.length + 1)
      r.close()
      // The next resume from the same id has missed this live event too.
      missed.push(`live-${i}`)
    }
  })

  it('replays from a time with ?since=, and answers an unknown position with reset', async () => {
    const auth = await asAdmin()
    const node = await createAgent()
    const since = new Date(Date.now() - 1000).toISOString()
    await sendEvent(node, { event_type: 'backup_started' })
    const s = await openStream(`/api/v1/events/stream?node_id=${node.id}&since=${encodeURIComponent(since)}`, auth)
    await s.next()
    // node_registered happened within the last second too.
    const first = [await s.next(isEvent), await s.next(isEvent)]
    expect(first.map(m => m.event)).toEqual(['node_registered', 'backup_started'])
    s.close()

    const unknown = await openStream(`/api/v1/events/stream?lastEventId=1-999999999999`, auth)
    await unknown.next()
    const reset = await unknown.next(m => m.event === 'reset')
    expect(json<{ event_type: string, reason: string }>(reset)).toMatchObject({ event_type: 'reset', reason: 'unknown_position' })
    unknown.close()
  })

  it('answers 400 for a bad filter and 401 without auth, before streaming; takes ?token=', async () => {
    const auth = await asAdmin()
    for (const [query, field] of [['severity=fatal', 'severity'], ['node_id=0', 'node_id'], ['min_severity=x', 'min_severity'], ['since=soon', 'since']]) {
      const res = await openOnce(`/api/v1/events/stream?${query}`, auth)
      expect(res.status, query).toBe(400)
      expect(res.contentType).toMatch(/json/)
      expect(JSON.parse(res.text).message).toContain(field)
    }
    const anonymous = await openStream('/api/v1/events/stream')
    expect(anonymous.status).toBe(401)
    anonymous.close()
    const token = await createApiToken('viewer')
    const ticket = await api<{ token: string }>('POST', '/api/v1/auth/stream-token', { auth: { bearer: token.token } })
    const byTicket = await openStream(`/api/v1/events/stream?token=${ticket.body.token}`)
    expect(byTicket.status).toBe(200)
    expect((await byTicket.next()).event).toBe('connected')
    byTicket.close()
  })
})
