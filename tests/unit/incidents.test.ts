import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { describeDuration } from '../../shared/contracts/incidents'
import type { DatabaseHandle } from '../../server/db'
import { incidents as incidentsTable } from '../../server/db/schema'
import type { EventLog, NewEvent } from '../../server/services/events'
import { correlateEvent, createIncidents, incidentRule, notifiedSeverity, type Incidents } from '../../server/services/incidents'
import type { Journal } from '../../server/services/journal'
import type { Registry } from '../../server/services/registry'
import { matchesWebhook } from '../../server/services/webhookDelivery'
import { createWebhookDispatcher, type WebhookDispatcher } from '../../server/services/webhookDispatcher'
import type { Webhooks } from '../../server/services/webhooks'
import { startReceiver, type Receiver } from '../integration/support/receiver'
import { openNotifyStack, stopStarted } from './notifyStack'

const ev = (type: string, over: Partial<{ nodeId: number | null, clusterId: string | null, data: Record<string, unknown> }> = {}) =>
  ({ type, nodeId: 7, clusterId: null, ...over, data: { hostname: 'db-1', ...over.data } })

describe('incidentRule', () => {
  it('opens a node incident on unreachable, stale, offline or a Valkey node down, and resolves it when the node is back or removed', () => {
    for (const e of [ev('node_unreachable'), ev('node_status_update', { data: { status: 'stale' } }), ev('node_status_update', { data: { status: 'offline' } }), ev('valkey_node_down')]) {
      expect(incidentRule(e)).toEqual({ key: 'node:7', kind: 'node', action: 'open', title: 'Node db-1 is down' })
    }
    for (const e of [ev('node_reachable'), ev('node_status_update', { data: { status: 'online' } }), ev('valkey_node_up'), ev('node_removed')]) {
      expect(incidentRule(e)).toMatchObject({ key: 'node:7', action: 'resolve' })
    }
  })

  it('opens a cluster incident per cluster (the fleet is ""), and one per threshold rule and node', () => {
    expect(incidentRule(ev('cluster_status_update', { nodeId: null, clusterId: 'eu', data: { status: 'degraded' } })))
      .toEqual({ key: 'cluster:eu', kind: 'cluster', action: 'open', title: 'Cluster eu is degraded' })
    expect(incidentRule(ev('cluster_status_update', { nodeId: null, data: { status: 'ok' } }))).toMatchObject({ key: 'cluster:', action: 'resolve' })
    expect(incidentRule(ev('threshold_exceeded', { data: { hostname: 'db-1', rule_id: 3, rule: 'hot' } })))
      .toEqual({ key: 'threshold:3:7', kind: 'threshold', action: 'open', title: 'db-1: rule "hot" firing' })
    expect(incidentRule(ev('threshold_recovered', { data: { rule_id: 3 } }))).toMatchObject({ key: 'threshold:3:7', action: 'resolve' })
  })

  it('leaves events that are no problem of their own alone', () => {
    for (const type of ['node_registered', 'node_updated', 'backup_failed', 'error_report', 'event_acknowledged', 'incident_opened']) expect(incidentRule(ev(type))).toBeNull()
    expect(incidentRule(ev('node_unreachable', { nodeId: null }))).toBeNull()
  })

  it('judges incident events by their incident\'s severity, and says durations in plain words', () => {
    expect(notifiedSeverity({ type: 'incident_resolved', severity: 'success', data: { incident_severity: 'error' } })).toBe('error')
    expect(notifiedSeverity({ type: 'node_reachable', severity: 'success', data: { incident_severity: 'error' } })).toBe('success')
    expect([42, 300, 3600, 4320, 7260].map(describeDuration)).toEqual(['42 s', '5 min', '1 h', '1 h 12 min', '2 h 1 min'])
  })

  it('sends webhooks without types the incident\'s changes instead of its events; named types stay raw', () => {
    const all = { eventTypes: [], minSeverity: 'warning' as const }
    expect(matchesWebhook(all, { type: 'node_unreachable', severity: 'warning', incidentId: 3 })).toBe(false)
    expect(matchesWebhook(all, { type: 'node_unreachable', severity: 'warning', incidentId: null })).toBe(true)
    expect(matchesWebhook(all, { type: 'incident_resolved', severity: 'success', incidentId: 3, data: { incident_severity: 'warning' } })).toBe(true)
    expect(matchesWebhook(all, { type: 'incident_resolved', severity: 'success', incidentId: 3, data: { incident_severity: 'info' } })).toBe(false)
    const raw = { eventTypes: ['node_unreachable'], minSeverity: 'warning' as const }
    expect(matchesWebhook(raw, { type: 'node_unreachable', severity: 'warning', incidentId: 3 })).toBe(true)
    expect(matchesWebhook(raw, { type: 'incident_opened', severity: 'info', incidentId: 3, data: { incident_severity: 'warning' } })).toBe(false)
  })
})

describe('the incident lifecycle (PGlite)', () => {
  let handle: DatabaseHandle
  let journal: Journal
  let registry: Registry
  let log: EventLog
  let service: Incidents
  let hooks: Webhooks
  const dispatchers: WebhookDispatcher[] = []
  const receivers: Receiver[] = []

  beforeAll(async () => {
    ({ handle, journal, registry, log, hooks } = await openNotifyStack({ correlate: correlateEvent }))
    service = createIncidents(handle.db, log)
  }, 60_000)
  afterEach(() => stopStarted(handle, dispatchers, receivers))
  afterAll(async () => {
    await handle?.close()
  })

  const node = async (hostname: string) => (await registry.create({ hostname, kind: 'agent' })).id
  const down = (nodeId: number, type: string, data: Record<string, unknown> = {}, severity: NewEvent['severity'] = 'warning') =>
    log.record({ type, severity, nodeId, message: `${type} ${nodeId}`, data: { hostname: `h${nodeId}`, ...data } })
  const openOf = async (nodeId: number) => (await service.list({ state: 'open', node_id: [nodeId], severity: [], kind: [] })).incidents

  it('opens one incident through unreachable → stale, collects its events, is acknowledged once and resolves when the node is back', async () => {
    const id = await node('inc-a')
    const first = await down(id, 'node_unreachable')
    await down(id, 'node_status_update', { status: 'stale' })
    await down(id, 'node_status_update', { status: 'offline' }, 'error')
    const [open] = await openOf(id)
    expect(open).toMatchObject({ kind: 'node', node_id: id, state: 'open', severity: 'error', title: `Node h${id} is down`, event_count: 3, acknowledged_at: null })
    expect(first.incidentId).toBe(open!.id)

    const acked = await service.acknowledge(open!.id, 'alice')
    expect(acked).toMatchObject({ acknowledged_by: 'alice', acknowledged_at: expect.any(String) })
    const again = await service.acknowledge(open!.id, 'bob')
    expect(again).toMatchObject({ acknowledged_by: 'alice', acknowledged_at: acked.acknowledged_at })

    await down(id, 'node_reachable', {}, 'success')
    await down(id, 'node_status_update', { status: 'online' }, 'success')
    expect(await openOf(id)).toEqual([])
    const detail = await service.get(open!.id)
    expect(detail.state).toBe('resolved')
    expect(detail.duration_seconds).toBe(Math.round((Date.parse(detail.resolved_at!) - Date.parse(detail.opened_at)) / 1000))
    expect(detail.events.map(e => e.event_type)).toEqual([
      'node_unreachable', 'incident_opened', 'node_status_update', 'node_status_update', 'incident_acknowledged', 'node_reachable', 'incident_resolved', 'node_status_update',
    ])
    expect(detail.events.every(e => e.incident_id === open!.id)).toBe(true)
    expect(detail.events.find(e => e.event_type === 'incident_resolved')!.data).toMatchObject({ incident_id: open!.id, incident_severity: 'error', duration_seconds: detail.duration_seconds })

    // Down again: a new incident, not the old one reopened.
    await down(id, 'node_unreachable')
    const [second] = await openOf(id)
    expect(second!.id).not.toBe(open!.id)
  })

  it('opens no incident for an event logged in maintenance, and one per cluster and per threshold rule', async () => {
    const id = await node('inc-maint')
    await down(id, 'node_unreachable', { maintenance: true })
    expect(await openOf(id)).toEqual([])
    await log.record({ type: 'cluster_status_update', severity: 'warning', clusterId: 'inc-c', resourceType: 'cluster', message: 'degraded', data: { status: 'degraded' } })
    await log.record({ type: 'cluster_status_update', severity: 'warning', clusterId: 'inc-c', resourceType: 'cluster', message: 'degraded', data: { status: 'degraded' } })
    const clusters = (await service.list({ state: 'open', kind: ['cluster'], node_id: [], severity: [] })).incidents.filter(i => i.cluster_id === 'inc-c')
    expect(clusters).toHaveLength(1)
    expect(clusters[0]!.event_count).toBe(2)
    await log.record({ type: 'cluster_status_update', severity: 'success', clusterId: 'inc-c', resourceType: 'cluster', message: 'ok', data: { status: 'ok' } })
    expect((await service.get(clusters[0]!.id)).state).toBe('resolved')

    const hot = await node('inc-hot')
    await down(hot, 'threshold_exceeded', { rule_id: 1, rule: 'cpu' }, 'error')
    await down(hot, 'threshold_exceeded', { rule_id: 2, rule: 'mem' })
    expect((await openOf(hot)).map(i => i.kind)).toEqual(['threshold', 'threshold'])
    await down(hot, 'threshold_recovered', { rule_id: 1 }, 'success')
    expect((await openOf(hot)).map(i => i.title)).toEqual([`h${hot}: rule "mem" firing`])
  })

  it('acknowledges all incidents a filter matches, each once, and pages newest first', async () => {
    const a = await node('inc-all-a')
    const b = await node('inc-all-b')
    await down(a, 'node_unreachable')
    await down(b, 'node_unreachable', {}, 'error')
    const answer = await service.acknowledgeAll({ state: 'open', node_id: [a, b], severity: ['error'], kind: [] }, 'carol')
    expect(answer.acknowledged).toBe(1)
    expect((await openOf(b))[0]).toMatchObject({ acknowledged_by: 'carol' })
    expect((await openOf(a))[0]).toMatchObject({ acknowledged_by: null })
    expect((await service.acknowledgeAll({ state: 'open', node_id: [b], severity: [], kind: [] }, 'carol')).acknowledged).toBe(0)

    const first = await service.list({ node_id: [a, b], severity: [], kind: [] }, { limit: 1 })
    expect(first.incidents).toHaveLength(1)
    const second = await service.list({ node_id: [a, b], severity: [], kind: [] }, { limit: 1, cursor: first.next_cursor! })
    expect(second.incidents[0]!.id).toBeLessThan(first.incidents[0]!.id)
    await expect(service.get(999_999)).rejects.toThrow('Incident 999999 not found')
    await expect(service.acknowledge(999_999, 'x')).rejects.toThrow('Incident 999999 not found')
  })

  it('keeps one open incident per problem in the database itself', async () => {
    const id = await node('inc-unique')
    await down(id, 'node_unreachable')
    await expect(handle.db.insert(incidentsTable).values({ key: `node:${id}`, kind: 'node', severity: 'warning', title: 't', openedAt: new Date(), lastEventAt: new Date() }))
      .rejects.toThrow()
  })

  it('notifies a webhook without types once per change (opened, acknowledged, resolved) and reminds while open until acknowledged', async () => {
    const plain = await startReceiver()
    const raw = await startReceiver()
    receivers.push(plain, raw)
    const hooked = createWebhookDispatcher({ db: handle.db, journal, registry, isLeader: () => true }, { timeoutMs: 2000, retryMs: 2500, version: '9.9.9', pollMs: 100 })
    dispatchers.push(hooked)
    hooked.start()
    await hooks.create({ type: 'webhook', name: 'pager', url: plain.url, repeat_seconds: 1 })
    await hooks.create({ type: 'webhook', name: 'raw', url: raw.url, event_types: ['node_unreachable', 'node_reachable'], min_severity: 'info' })
    const id = await node('inc-hook')
    await down(id, 'node_unreachable')
    await down(id, 'node_status_update', { status: 'stale' })
    const reminded = await plain.waitFor('the opening and a reminder', rs => rs.filter(r => r.body.repeat > 0).length >= 1)
    const opened = reminded[0]!.body
    expect(opened.event.event_type).toBe('incident_opened')
    expect(opened.incident).toMatchObject({ node_id: id, state: 'open' })
    const reminder = reminded.find(r => r.body.repeat > 0)!.body
    expect(reminder.event.id).toBe(opened.event.id)
    expect(reminder.reminder).toMatch(new RegExp(`^Incident #${opened.incident!.id} still open after \\d+ s: Node h${id} is down$`))

    await service.acknowledge(opened.incident!.id, 'dave')
    await plain.waitFor('the acknowledgement', rs => rs.some(r => r.body.event.event_type === 'incident_acknowledged'))
    await hooked.idle()
    const afterAck = plain.received.filter(r => r.body.repeat > 0).length
    await down(id, 'node_reachable', {}, 'success')
    await plain.waitFor('the resolution', rs => rs.some(r => r.body.event.event_type === 'incident_resolved'))
    await hooked.idle()
    // An observation window, not a synchronisation: reminders were due every second before the acknowledgement.
    await new Promise(done => setTimeout(done, 1500))
    await hooked.idle()
    expect(plain.received.filter(r => r.body.repeat > 0).length).toBe(afterAck)
    expect(plain.received.filter(r => r.body.repeat === 0).map(r => r.body.event.event_type)).toEqual(['incident_opened', 'incident_acknowledged', 'incident_resolved'])
    const resolved = plain.received.find(r => r.body.event.event_type === 'incident_resolved')!.body
    expect(resolved.incident).toMatchObject({ state: 'resolved', acknowledged_by: 'dave', duration_seconds: expect.any(Number) })
    expect(resolved.event.data).toMatchObject({ incident_severity: 'warning' })
    expect(raw.received.map(r => r.body.event.event_type)).toEqual(['node_unreachable', 'node_reachable'])
  })
})
