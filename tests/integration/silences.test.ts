/**
 * Silences on a server of their own with short thresholds (unreachable after 2 s, stale after 5 s):
 * the API's validation, a silenced event stored and marked but not delivered while another event
 * is, a maintenance window that starts and ends on its own, and the bell leaving silenced
 * incidents and events out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IncidentPage } from '../../shared/contracts/incidents'
import type { NodeView, WebhookWithSecret } from '../../shared/contracts/rest'
import type { EventPage, EventStats, EventView } from '../../shared/contracts/seed002'
import type { SilenceView } from '../../shared/contracts/silences'
import { unique } from './helpers'
import { startDedicated, until, type CreatedAgent, type Dedicated } from './support/dedicated'
import { startReceiver, type Receiver } from './support/receiver'

let d: Dedicated
let r: Receiver

beforeAll(async () => {
  d = await startDedicated('silences', { NODEPULSE_STALE_AFTER: '5', NODEPULSE_UNREACHABLE_AFTER: '2', NODEPULSE_PENDING_GRACE: '8' })
  r = await startReceiver()
})
afterAll(async () => {
  await r?.close()
  await d?.stop()
})

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString()

async function silence(json: Record<string, unknown>): Promise<SilenceView> {
  const res = await d.call<SilenceView>('POST', '/api/v1/silences', { json: { ends_at: inSeconds(3600), reason: 'kernel update', ...json } })
  expect(res.status, res.text).toBe(201)
  return res.body
}

async function agentEvent(node: CreatedAgent, message: string): Promise<EventView> {
  const res = await d.call<EventView>('POST', `/api/v1/nodes/${node.id}/events`, { json: { event_type: 'backup_failed', message }, auth: { bearer: node.token } })
  expect(res.status, res.text).toBe(201)
  return res.body
}

async function eventsOf(query: string): Promise<EventView[]> {
  const res = await d.call<EventPage>('GET', `/api/v1/events?limit=500&${query}`)
  expect(res.status, res.text).toBe(200)
  return res.body.events.reverse()
}

const stats = async () => (await d.call<EventStats>('GET', '/api/v1/events/stats')).body

async function webhook(eventTypes: string[]): Promise<number> {
  const hook = await d.call<WebhookWithSecret>('POST', '/api/v1/webhooks', { json: { name: unique('silences'), url: r.url, event_types: eventTypes, min_severity: 'info' } })
  expect(hook.status, hook.text).toBe(201)
  return hook.body.id
}

describe('what a silence mutes', () => {
  // First, while the master is the only other node, so no other incident opens meanwhile.
  it('incidents of a silenced label open and show, but the bell does not count them and no webhook says so; they count again once the silence ends', async () => {
    const hook = await webhook(['incident_opened'])
    const s = await silence({ label: 'cluster=r9', reason: 'rack r9 powered down' })
    const node = await d.createAgent(undefined, { cluster: 'r9' })
    await d.report(node, { cpu_percent: 5, disk_percent: 5 })
    const open = async () => (await d.call<IncidentPage>('GET', '/api/v1/incidents?state=open')).body.incidents
    // The node's incident (unreachable, then stale) and its cluster's (degraded).
    await until('the node\'s and the cluster\'s incidents', async () => {
      const now = await open()
      return now.some(i => i.node_id === node.id) && now.some(i => i.cluster_id === 'r9' && i.kind === 'cluster')
    }, 20_000)
    const ids = (await open()).filter(i => i.node_id === node.id || i.cluster_id === 'r9').map(i => i.id)
    const opened = (await eventsOf('event_type=incident_opened')).filter(e => ids.includes(e.incident_id!))
    expect(opened.map(e => e.data.silenced_by)).toEqual([{ id: s.id, reason: 'rack r9 powered down' }, { id: s.id, reason: 'rack r9 powered down' }])
    expect((await open()).filter(i => ids.includes(i.id)).map(i => i.silenced_by)).toEqual([{ id: s.id, reason: 'rack r9 powered down' }, { id: s.id, reason: 'rack r9 powered down' }])
    const counted = (await stats()).open_incidents
    await d.call('POST', `/api/v1/silences/${s.id}/end`)
    expect((await open()).filter(i => ids.includes(i.id)).map(i => i.silenced_by)).toEqual([null, null])
    expect((await stats()).open_incidents).toBe(counted + 2)
    await until('no delivery pending', async () => (await d.call<{ deliveries: { state: string }[] }>('GET', `/api/v1/webhooks/${hook}/deliveries`)).body.deliveries.every(x => x.state !== 'pending'))
    expect(r.received.some(x => ids.includes(x.body.event.incident_id!))).toBe(false)
    await d.call('DELETE', `/api/v1/nodes/${node.id}`)
    await d.call('DELETE', `/api/v1/webhooks/${hook}`)
  })

  it('silences the removal of a node by the labels it had', async () => {
    const rack = `r${Date.now()}`
    const node = await d.createAgent(undefined, { rack })
    const s = await silence({ label: `rack=${rack}`, event_types: ['node_removed'], reason: 'decommissioning the rack' })
    expect((await d.call('DELETE', `/api/v1/nodes/${node.id}`)).status).toBe(204)
    const [removed] = await eventsOf(`node_id=${node.id}&event_type=node_removed`)
    expect(removed!.data).toMatchObject({ labels: { rack }, silenced_by: { id: s.id, reason: 'decommissioning the rack' } })
    await d.call('POST', `/api/v1/silences/${s.id}/end`)
  })

  it('stores and marks a silenced event but delivers no webhook for it, while an event of another node still goes', async () => {
    const hook = await webhook(['backup_failed'])
    const [quiet, loud] = [await d.createAgent(), await d.createAgent()]
    const s = await silence({ node_ids: [quiet.id], reason: 'replacing disks' })
    const before = (await stats()).unacknowledged
    const muted = await agentEvent(quiet, 'muted backup failure')
    await agentEvent(loud, 'loud backup failure')
    await r.waitFor('the loud node\'s event', rs => rs.some(x => x.body.event.node_id === loud.id))
    // Matching follows event order: the loud event came after the muted one, so the muted one was judged already.
    await until('no delivery pending', async () => (await d.call<{ deliveries: { state: string }[] }>('GET', `/api/v1/webhooks/${hook}/deliveries`)).body.deliveries.every(x => x.state !== 'pending'))
    expect(r.received.some(x => x.body.event.node_id === quiet.id)).toBe(false)
    const [stored] = await eventsOf(`node_id=${quiet.id}&event_type=backup_failed`)
    expect(stored).toMatchObject({ id: muted.id, data: { silenced_by: { id: s.id, reason: 'replacing disks' } } })
    expect((await eventsOf(`node_id=${loud.id}&event_type=backup_failed`))[0]!.data.silenced_by).toBeUndefined()
    // The bell's second count: the loud error counts, the silenced one does not.
    expect((await stats()).unacknowledged).toBe(before + 1)
    await d.call('POST', `/api/v1/silences/${s.id}/end`)
    await d.call('DELETE', `/api/v1/webhooks/${hook}`)
  })

  it('a maintenance window starts and ends on its own, logged once each, muting only while it runs', async () => {
    const node = await d.createAgent()
    const s = await silence({ node_ids: [node.id], starts_at: inSeconds(1.5), ends_at: inSeconds(4), reason: 'window' })
    expect(s.state).toBe('scheduled')
    const lifeOf = async () => (await eventsOf('resource_type=silence')).filter(e => e.data.silence_id === s.id).map(e => e.event_type)
    await until('the window started', async () => (await lifeOf()).includes('silence_started'), 10_000)
    expect((await d.call<SilenceView>('GET', `/api/v1/silences/${s.id}`)).body.state).toBe('active')
    const during = await agentEvent(node, 'during the window')
    await until('the window ended', async () => (await lifeOf()).includes('silence_ended'), 10_000)
    expect((await d.call<SilenceView>('GET', `/api/v1/silences/${s.id}`)).body.state).toBe('expired')
    const after = await agentEvent(node, 'after the window')
    const stored = await eventsOf(`node_id=${node.id}&event_type=backup_failed`)
    expect(stored.find(e => e.id === during.id)!.data.silenced_by).toEqual({ id: s.id, reason: 'window' })
    expect(stored.find(e => e.id === after.id)!.data.silenced_by).toBeUndefined()
    expect(await lifeOf()).toEqual(['silence_created', 'silence_started', 'silence_ended'])
  })

})

describe('silences API', () => {
  it('creates, lists by state, changes, ends and deletes a silence', async () => {
    // The master: agents of their own would go offline after the grace and change the counts of the tests above.
    const node = (await d.call<NodeView[]>('GET', '/api/v1/nodes')).body.find(n => n.kind === 'master')!
    const s = await silence({ node_ids: [node.id], event_types: ['backup_failed'], label: 'env=prod', reason: '  disk swap  ' })
    expect(s).toEqual({
      id: expect.any(Number), node_ids: [node.id], label: 'env=prod', event_types: ['backup_failed'], starts_at: expect.any(String), ends_at: expect.any(String),
      ended_at: null, reason: 'disk swap', created_by: 'admin', created_at: expect.any(String), state: 'active',
    })
    const later = await silence({ node_ids: [node.id], starts_at: inSeconds(600), ends_at: inSeconds(1200) })
    expect(later.state).toBe('scheduled')
    const active = await d.call<SilenceView[]>('GET', '/api/v1/silences?state=active')
    expect(active.body.map(x => x.id)).toContain(s.id)
    expect(active.body.map(x => x.id)).not.toContain(later.id)
    expect((await d.call<SilenceView[]>('GET', '/api/v1/silences?state=scheduled')).body.map(x => x.id)).toEqual([later.id])

    const patched = await d.call<SilenceView>('PATCH', `/api/v1/silences/${s.id}`, { json: { reason: 'disk swap, rack 4', ends_at: inSeconds(7200) } })
    expect(patched.status, patched.text).toBe(200)
    expect(patched.body).toMatchObject({ reason: 'disk swap, rack 4', state: 'active' })

    expect((await d.call('DELETE', `/api/v1/silences/${s.id}`)).status).toBe(409)
    const ended = await d.call<SilenceView>('POST', `/api/v1/silences/${s.id}/end`)
    expect(ended.status, ended.text).toBe(200)
    expect(ended.body).toMatchObject({ state: 'expired', ended_at: expect.any(String) })
    expect((await d.call<SilenceView[]>('GET', '/api/v1/silences?state=expired')).body[0]!.id).toBe(s.id)
    expect((await d.call('PATCH', `/api/v1/silences/${s.id}`, { json: { reason: 'x' } })).status).toBe(409)
    expect((await d.call('DELETE', `/api/v1/silences/${s.id}`)).status).toBe(204)
    expect((await d.call('DELETE', `/api/v1/silences/${later.id}`)).status).toBe(204)
    expect((await d.call('GET', `/api/v1/silences/${s.id}`)).status).toBe(404)

    const life = (await eventsOf('resource_type=silence')).filter(e => e.data.silence_id === s.id)
    expect(life.map(e => e.event_type)).toEqual(['silence_created', 'silence_changed', 'silence_ended', 'silence_deleted'])
    // Messages give times to the minute in UTC, as a person reads them; data keeps the exact ISO time.
    const minute = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`
    expect(life[0]!.message).toContain(`active until ${minute(s.ends_at)}`)
    expect(life[1]!.message).toContain(`until ${minute(patched.body.ends_at)}, disk swap, rack 4`)
    expect(life[1]!.data.ends_at).toBe(patched.body.ends_at)
    const scheduled = (await eventsOf('resource_type=silence')).find(e => e.data.silence_id === later.id && e.event_type === 'silence_created')!
    expect(scheduled.message).toContain(`scheduled from ${minute(later.starts_at)} until ${minute(later.ends_at)}`)
  })

  it('refuses bad input with 400/422 naming the field, and unknown ids with 404', async () => {
    const bad = async (json: unknown, field: string) => {
      const res = await d.call('POST', '/api/v1/silences', { json })
      expect(res.status, res.text).toBe(422)
      expect(res.body.message).toContain(field)
    }
    await bad({ ends_at: inSeconds(60), reason: 'x' }, 'node_ids: give at least one matcher')
    await bad({ node_ids: [987001], ends_at: inSeconds(60), reason: 'x' }, 'node_ids: node 987001 does not exist')
    await bad({ event_types: ['backup_failed'], starts_at: inSeconds(120), ends_at: inSeconds(60), reason: 'x' }, 'ends_at: must be after starts_at')
    await bad({ event_types: ['backup_failed'], ends_at: '275760-01-01T00:00:00Z', reason: 'x' }, 'ends_at')
    await bad({ event_types: ['backup_failed'], ends_at: '9000-01-01T00:00:00Z', reason: 'x' }, 'ends_at: must be at most 366 days')
    await bad({ event_types: ['backup_failed'], ends_at: inSeconds(60), reason: 'a\u0000b' }, 'reason: must not contain NUL')
    await bad({ event_types: ['backup_failed'], ends_at: inSeconds(60) }, 'reason')
    await bad({ label: 'no-equals', ends_at: inSeconds(60), reason: 'x' }, 'label: must be name=value')
    const s = await silence({ event_types: ['error_report'] })
    const patch = await d.call('PATCH', `/api/v1/silences/${s.id}`, { json: { ends_at: new Date(Date.now() - 60_000).toISOString() } })
    expect(patch.status, patch.text).toBe(422)
    expect(patch.body.message).toContain('ends_at')
    expect((await d.call('PATCH', `/api/v1/silences/${s.id}`, { json: {} })).status).toBe(422)
    for (const [method, path] of [['GET', '/api/v1/silences/987001'], ['PATCH', '/api/v1/silences/987001'], ['POST', '/api/v1/silences/987001/end'], ['DELETE', '/api/v1/silences/987001']] as const) {
      const res = await d.call(method, path, method === 'PATCH' ? { json: { reason: 'x' } } : {})
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(404)
    }
    expect((await d.call('GET', '/api/v1/silences/abc')).status).toBe(400)
    expect((await d.call('GET', '/api/v1/silences?state=soon')).status).toBe(400)
    await d.call('POST', `/api/v1/silences/${s.id}/end`)
  })
})
