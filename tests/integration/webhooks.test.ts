import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DeliveryView, WebhookView, WebhookWithSecret } from '../../shared/contracts/rest'
import { api, asAdmin, createAgent, createApiToken, createUser, expectError, unique } from './helpers'
import { startDedicated, sleep, until, type Dedicated } from './support/dedicated'
import { startReceiver, verifySignature, type Received, type Receiver } from './support/receiver'

const receivers: Receiver[] = []
const created: number[] = []

afterAll(async () => {
  const auth = await asAdmin()
  await Promise.all(created.map(id => api('DELETE', `/api/v1/webhooks/${id}`, { auth })))
  await Promise.all(receivers.map(r => r.close()))
})

async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const r = await startReceiver(...args)
  receivers.push(r)
  return r
}

async function createWebhook(body: Record<string, unknown>): Promise<WebhookWithSecret> {
  const res = await api<WebhookWithSecret>('POST', '/api/v1/webhooks', { auth: await asAdmin(), json: { name: unique('hook'), ...body } })
  expect(res.status, res.text).toBe(201)
  created.push(res.body.id)
  return res.body
}

async function deliveries(id: number, query = ''): Promise<{ deliveries: DeliveryView[], next_cursor: number | null }> {
  const res = await api<{ deliveries: DeliveryView[], next_cursor: number | null }>('GET', `/api/v1/webhooks/${id}/deliveries${query}`, { auth: await asAdmin() })
  expect(res.status, res.text).toBe(200)
  return res.body
}

/**
 * Waits until none of these webhooks' deliveries is still pending. Matching follows event order, so
 * once a later event has reached a receiver every earlier match is queued: when nothing is
 * pending any more, every delivery there will be has been made.
 */
async function settled(...ids: number[]): Promise<void> {
  await until('every delivery settled', async () => {
    for (const id of ids) if ((await deliveries(id)).deliveries.some(d => d.state === 'pending')) return false
    return true
  }, 15_000)
}

async function patchNode(id: number, json: Record<string, unknown>): Promise<void> {
  const res = await api('PATCH', `/api/v1/nodes/${id}`, { auth: await asAdmin(), json })
  expect(res.status, res.text).toBe(200)
}

/** Other test files share the server: only what concerns this node counts. */
const about = (nodeId: number) => (rs: Received[]) => rs.filter(r => r.body.event.node_id === nodeId)
const types = (rs: Received[]) => rs.map(r => r.body.event.event_type)

describe('webhook CRUD', () => {
  it('POST creates a webhook and shows its secret once; GET lists it without the secret', async () => {
    const name = unique('ops')
    const res = await api<WebhookWithSecret>('POST', '/api/v1/webhooks', { auth: await asAdmin(), json: { name: `  ${name} `, url: 'https://hooks.example.com/T0/B1/xyz' } })
    expect(res.status, res.text).toBe(201)
    created.push(res.body.id)
    expect(res.body).toEqual({
      id: expect.any(Number), name, type: 'webhook', url: 'https://hooks.example.com/T0/B1/xyz', settings: {}, secrets_set: [], labels: '', event_types: [], min_severity: 'warning', repeat_seconds: 0,
      enabled: true, created_at: expect.any(String), last_delivery: null, secret: expect.stringMatching(/^npw_[\w-]{43}$/),
    })
    const { secret, ...view } = res.body
    const list = await api<WebhookView[]>('GET', '/api/v1/webhooks', { auth: await asAdmin() })
    expect(list.status).toBe(200)
    expect(list.body.find(w => w.id === view.id)).toEqual(view)
    expect(list.text).not.toContain(secret.slice(4))
    const one = await api<WebhookView>('GET', `/api/v1/webhooks/${view.id}`, { auth: await asAdmin() })
    expect(one.body).toEqual(view)
    expect(one.text).not.toContain(secret.slice(4))
  })

  it('takes every field at creation', async () => {
    const hook = await createWebhook({ url: 'http://127.0.0.1:9/x', event_types: ['node_removed', 'node_status_update'], min_severity: 'error', repeat_seconds: 600, enabled: false })
    expect(hook).toMatchObject({ event_types: ['node_removed', 'node_status_update'], min_severity: 'error', repeat_seconds: 600, enabled: false })
  })

  it('PATCH changes the given fields only', async () => {
    const hook = await createWebhook({ url: 'http://127.0.0.1:9/a' })
    const res = await api<WebhookView>('PATCH', `/api/v1/webhooks/${hook.id}`, { auth: await asAdmin(), json: { url: 'http://127.0.0.1:9/b', min_severity: 'info', event_types: ['node_updated'] } })
    expect(res.status, res.text).toBe(200)
    expect(res.body).toMatchObject({ id: hook.id, name: hook.name, url: 'http://127.0.0.1:9/b', min_severity: 'info', event_types: ['node_updated'], repeat_seconds: 0, enabled: true })
    expect(res.body).not.toHaveProperty('secret')
    expect((await api<WebhookView>('GET', `/api/v1/webhooks/${hook.id}`, { auth: await asAdmin() })).body).toEqual(res.body)
  })

  it('answers 422 naming each bad field, and 400 for malformed JSON', async () => {
    const auth = await asAdmin()
    const post = (json: unknown) => api('POST', '/api/v1/webhooks', { auth, json })
    expectError(await post({ name: 'x', url: 'ftp://example.com/' }), 422, 'url', 'http')
    expectError(await post({ name: 'x', url: 'not a url' }), 422, 'url')
    expectError(await post({ url: 'https://example.com/' }), 422, 'name')
    expectError(await post({ name: 'x', url: 'https://example.com/', event_types: ['node_exploded'] }), 422, 'event_types.0')
    expectError(await post({ name: 'x', url: 'https://example.com/', min_severity: 'critical' }), 422, 'min_severity')
    expectError(await post({ name: 'x', url: 'https://example.com/', repeat_seconds: -1 }), 422, 'repeat_seconds')
    expectError(await post({ name: 'x', url: 'https://example.com/', repeat_seconds: 1.5 }), 422, 'repeat_seconds')
    expectError(await post({ name: 'x', url: 'https://example.com/', secret: 'mine' }), 422, 'secret')
    expectError(await api('POST', '/api/v1/webhooks', { auth, raw: '{"name":' }), 400, 'Malformed JSON')
    const hook = await createWebhook({ url: 'https://example.com/' })
    expectError(await api('PATCH', `/api/v1/webhooks/${hook.id}`, { auth, json: {} }), 422, 'at least one field')
    expectError(await api('PATCH', `/api/v1/webhooks/${hook.id}`, { auth, json: { enabled: 'yes' } }), 422, 'enabled')
  })

  it('answers 404 for an unknown webhook on every route, and 400 for a bad id', async () => {
    const auth = await asAdmin()
    const id = 2_000_000_000
    expectError(await api('GET', `/api/v1/webhooks/${id}`, { auth }), 404, `Webhook ${id} not found`)
    expectError(await api('PATCH', `/api/v1/webhooks/${id}`, { auth, json: { enabled: false } }), 404, `Webhook ${id} not found`)
    expectError(await api('DELETE', `/api/v1/webhooks/${id}`, { auth }), 404, `Webhook ${id} not found`)
    expectError(await api('POST', `/api/v1/webhooks/${id}/secret`, { auth }), 404, `Webhook ${id} not found`)
    expectError(await api('POST', `/api/v1/webhooks/${id}/test`, { auth }), 404, `Webhook ${id} not found`)
    expectError(await api('GET', `/api/v1/webhooks/${id}/deliveries`, { auth }), 404, `Webhook ${id} not found`)
    expectError(await api('GET', '/api/v1/webhooks/abc', { auth }), 400, 'id')
  })

  it('DELETE removes a webhook (204, then 404)', async () => {
    const hook = await createWebhook({ url: 'https://example.com/' })
    const res = await api('DELETE', `/api/v1/webhooks/${hook.id}`, { auth: await asAdmin() })
    expect(res.status).toBe(204)
    expect(res.text).toBe('')
    expectError(await api('GET', `/api/v1/webhooks/${hook.id}`, { auth: await asAdmin() }), 404)
    expectError(await api('DELETE', `/api/v1/webhooks/${hook.id}`, { auth: await asAdmin() }), 404)
    const list = await api<WebhookView[]>('GET', '/api/v1/webhooks', { auth: await asAdmin() })
    expect(list.body.map(w => w.id)).not.toContain(hook.id)
  })

  it('viewers may read (URL reduced to its origin) but not write; no credentials get 401', async () => {
    const hook = await createWebhook({ url: 'https://hooks.example.com/services/T0/B1/secret-part' })
    const viewer = await createUser('viewer')
    const list = await api<WebhookView[]>('GET', '/api/v1/webhooks', { auth: viewer.auth })
    expect(list.status).toBe(200)
    expect(list.body.find(w => w.id === hook.id)?.url).toBe('https://hooks.example.com/…')
    expect(list.text).not.toContain('secret-part')
    const one = await api<WebhookView>('GET', `/api/v1/webhooks/${hook.id}`, { auth: viewer.auth })
    expect(one.body.url).toBe('https://hooks.example.com/…')
    expect((await api('GET', `/api/v1/webhooks/${hook.id}/deliveries`, { auth: viewer.auth })).status).toBe(200)
    const token = await createApiToken('viewer')
    for (const auth of [viewer.auth, { bearer: token.token }]) {
      expectError(await api('POST', '/api/v1/webhooks', { auth, json: { name: 'x', url: 'https://example.com/' } }), 403, 'admin')
      expectError(await api('PATCH', `/api/v1/webhooks/${hook.id}`, { auth, json: { enabled: false } }), 403)
      expectError(await api('DELETE', `/api/v1/webhooks/${hook.id}`, { auth }), 403)
      expectError(await api('POST', `/api/v1/webhooks/${hook.id}/secret`, { auth }), 403)
      expectError(await api('POST', `/api/v1/webhooks/${hook.id}/test`, { auth }), 403)
    }
    expectError(await api('GET', '/api/v1/webhooks'), 401)
    expectError(await api('POST', `/api/v1/webhooks/${hook.id}/test`), 401)
  })

  it('deliveries: 400 for a bad cursor or limit', async () => {
    const hook = await createWebhook({ url: 'https://example.com/' })
    const auth = await asAdmin()
    expectError(await api('GET', `/api/v1/webhooks/${hook.id}/deliveries?cursor=abc`, { auth }), 400, 'cursor')
    expectError(await api('GET', `/api/v1/webhooks/${hook.id}/deliveries?limit=0`, { auth }), 400, 'limit')
    expectError(await api('GET', `/api/v1/webhooks/${hook.id}/deliveries?limit=1000`, { auth }), 400, 'limit')
    expect(await deliveries(hook.id)).toEqual({ deliveries: [], next_cursor: null })
  })
})

describe('webhook delivery', () => {
  it('POSTs a matching event as signed JSON with the documented headers and records it', async () => {
    const r = await receiver()
    const hook = await createWebhook({ url: r.url })
    const node = await createAgent()
    expect((await api('DELETE', `/api/v1/nodes/${node.id}`, { auth: await asAdmin() })).status).toBe(204)
    const [got] = about(node.id)(await r.waitFor('the node_removed event', rs => about(node.id)(rs).length >= 1))
    expect(got!.headers).toMatchObject({
      'content-type': 'application/json', 'x-nodepulse-event': 'node_removed',
      'user-agent': expect.stringMatching(/^NodePulse\/\d+\.\d+\.\d+/), 'x-nodepulse-delivery': expect.stringMatching(/^\d+$/),
    })
    expect(verifySignature(got!, hook.secret)).toBe(true)
    expect(got!.body).toEqual({
      webhook: { id: hook.id, name: hook.name }, repeat: 0,
      event: expect.objectContaining({ event_type: 'node_removed', severity: 'warning', node_id: node.id, resource_type: 'node', message: expect.stringContaining(node.hostname) }),
    })
    expect(got!.body.event.timestamp).toBe(Math.floor(Date.parse(got!.body.event.created_at) / 1000))
    await expect.poll(async () => (await deliveries(hook.id)).deliveries.find(d => d.id === Number(got!.headers['x-nodepulse-delivery']))).toMatchObject({
      webhook_id: hook.id, event_id: got!.body.event.id, event_type: 'node_removed', repeat: 0, state: 'delivered', attempts: 1,
      response_status: 200, error: null, delivered_at: expect.any(String), next_attempt_at: null,
    })
    const listed = await api<WebhookView>('GET', `/api/v1/webhooks/${hook.id}`, { auth: await asAdmin() })
    expect(listed.body.last_delivery).toMatchObject({ state: expect.any(String), webhook_id: hook.id })
  })

  it('retries after a 500 and ends delivered with attempts 2', async () => {
    const failedOnce = new Set<number>()
    const r = await receiver((req) => {
      const id = req.body.event.id
      if (failedOnce.has(id)) return 200
      failedOnce.add(id)
      return 500
    })
    const hook = await createWebhook({ url: r.url, event_types: ['node_removed'] })
    const node = await createAgent()
    expect((await api('DELETE', `/api/v1/nodes/${node.id}`, { auth: await asAdmin() })).status).toBe(204)
    const [first, second] = about(node.id)(await r.waitFor('the retry', rs => about(node.id)(rs).length >= 2))
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(900)
    expect(second!.headers['x-nodepulse-delivery']).toBe(first!.headers['x-nodepulse-delivery'])
    expect(verifySignature(first!, hook.secret)).toBe(true)
    expect(verifySignature(second!, hook.secret)).toBe(true)
    await expect.poll(async () => (await deliveries(hook.id)).deliveries.find(d => d.event_id === first!.body.event.id)).toMatchObject({
      state: 'delivered', attempts: 2, response_status: 200, error: null,
    })
  })

  it('sends only the event types and severities a webhook asks for', async () => {
    const warnings = await receiver()
    const updates = await receiver()
    const warningsHook = await createWebhook({ url: warnings.url, min_severity: 'warning' })
    const updatesHook = await createWebhook({ url: updates.url, min_severity: 'info', event_types: ['node_updated'] })
    const node = await createAgent()
    await patchNode(node.id, { hostname: unique('renamed') })
    expect((await api('DELETE', `/api/v1/nodes/${node.id}`, { auth: await asAdmin() })).status).toBe(204)
    await warnings.waitFor('node_removed', rs => about(node.id)(rs).length >= 1)
    await updates.waitFor('node_updated', rs => about(node.id)(rs).length >= 1)
    await settled(warningsHook.id, updatesHook.id)
    expect(types(about(node.id)(warnings.received))).toEqual(['node_removed'])
    expect(types(about(node.id)(updates.received))).toEqual(['node_updated'])
  })

  it('stays quiet while a node is in maintenance', async () => {
    const r = await receiver()
    const hook = await createWebhook({ url: r.url, min_severity: 'info', event_types: ['node_updated', 'node_maintenance'] })
    const node = await createAgent()
    await patchNode(node.id, { maintenance: true })
    await patchNode(node.id, { labels: { muted: 'yes' } })
    await patchNode(node.id, { maintenance: false })
    await patchNode(node.id, { labels: { muted: 'no' } })
    await r.waitFor('the events after maintenance', rs => about(node.id)(rs).length >= 2)
    await settled(hook.id)
    const got = about(node.id)(r.received)
    expect(types(got)).toEqual(['node_maintenance', 'node_updated'])
    expect(got[0]!.body.event.data).toMatchObject({ maintenance: false })
    expect(got[1]!.body.event.data).toMatchObject({ labels: { muted: 'no' } })
  })

  it('sends nothing to a disabled webhook', async () => {
    const r = await receiver()
    const on = await receiver()
    const hook = await createWebhook({ url: r.url, enabled: false })
    const onHook = await createWebhook({ url: on.url })
    const node = await createAgent()
    expect((await api('DELETE', `/api/v1/nodes/${node.id}`, { auth: await asAdmin() })).status).toBe(204)
    await on.waitFor('the enabled webhook\'s delivery', rs => about(node.id)(rs).length >= 1)
    await settled(onHook.id)
    expect(r.received).toEqual([])
    expect((await deliveries(hook.id)).deliveries).toEqual([])
  })

  it('POST /test sends a signed webhook_test event now and answers with the delivery', async () => {
    const r = await receiver((_, i) => (i === 0 ? 204 : 500))
    const hook = await createWebhook({ url: r.url })
    const res = await api<DeliveryView>('POST', `/api/v1/webhooks/${hook.id}/test`, { auth: await asAdmin() })
    expect(res.status, res.text).toBe(200)
    expect(res.body).toMatchObject({
      webhook_id: hook.id, event_id: 0, event_type: 'webhook_test', repeat: 0, state: 'delivered', attempts: 1,
      response_status: 204, error: null, duration_ms: expect.any(Number), delivered_at: expect.any(String), next_attempt_at: null,
    })
    expect(r.received).toHaveLength(1)
    expect(r.received[0]!.headers['x-nodepulse-event']).toBe('webhook_test')
    expect(r.received[0]!.headers['x-nodepulse-delivery']).toBe(String(res.body.id))
    expect(r.received[0]!.body).toMatchObject({ webhook: { id: hook.id, name: hook.name }, repeat: 0, event: { id: 0, event_type: 'webhook_test', severity: 'info' } })
    expect(verifySignature(r.received[0]!, hook.secret)).toBe(true)

    const failed = await api<DeliveryView>('POST', `/api/v1/webhooks/${hook.id}/test`, { auth: await asAdmin() })
    expect(failed.body).toMatchObject({ event_id: 0, repeat: 1, state: 'failed', attempts: 1, response_status: 500, error: 'receiver answered HTTP 500' })
    const page = await deliveries(hook.id)
    expect(page.deliveries.map(d => d.id)).toEqual([failed.body.id, res.body.id])
    expect((await api<WebhookView>('GET', `/api/v1/webhooks/${hook.id}`, { auth: await asAdmin() })).body.last_delivery).toEqual(failed.body)
  })

  it('POST /test reports a receiver that cannot be reached', async () => {
    const r = await receiver()
    const url = r.url
    await r.close()
    const hook = await createWebhook({ url })
    const res = await api<DeliveryView>('POST', `/api/v1/webhooks/${hook.id}/test`, { auth: await asAdmin() })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ state: 'failed', response_status: null, error: 'could not connect: connection refused' })
  })

  it('a rotated secret signs from then on; the old one no longer verifies', async () => {
    const r = await receiver()
    const hook = await createWebhook({ url: r.url })
    const res = await api<WebhookWithSecret>('POST', `/api/v1/webhooks/${hook.id}/secret`, { auth: await asAdmin() })
    expect(res.status, res.text).toBe(200)
    expect(res.body.secret).toMatch(/^npw_[\w-]{43}$/)
    expect(res.body.secret).not.toBe(hook.secret)
    expect(res.body).toMatchObject({ id: hook.id, name: hook.name, url: hook.url })
    await api('POST', `/api/v1/webhooks/${hook.id}/test`, { auth: await asAdmin() })
    expect(verifySignature(r.received[0]!, res.body.secret)).toBe(true)
    expect(verifySignature(r.received[0]!, hook.secret)).toBe(false)
  })

  it('pages deliveries newest first with next_cursor', async () => {
    const r = await receiver()
    const hook = await createWebhook({ url: r.url })
    const ids: number[] = []
    for (let i = 0; i < 3; i++) ids.push((await api<DeliveryView>('POST', `/api/v1/webhooks/${hook.id}/test`, { auth: await asAdmin() })).body.id)
    const first = await deliveries(hook.id, '?limit=2')
    expect(first.deliveries.map(d => d.id)).toEqual([ids[2], ids[1]])
    expect(first.next_cursor).toBe(ids[1])
    const rest = await deliveries(hook.id, `?limit=2&cursor=${first.next_cursor}`)
    expect(rest).toMatchObject({ deliveries: [{ id: ids[0], repeat: 0 }], next_cursor: null })
  })
})

describe('reminders and restarts (own server: stale after 2 s)', () => {
  let d: Dedicated
  beforeAll(async () => {
    d = await startDedicated('hooks', { NODEPULSE_STALE_AFTER: '2', NODEPULSE_UNREACHABLE_AFTER: '3600' })
  })
  afterAll(async () => {
    await d?.stop()
  })

  const hookOn = async (json: Record<string, unknown>) => {
    const res = await d.call<WebhookWithSecret>('POST', '/api/v1/webhooks', { json: { name: unique('pager'), ...json } })
    expect(res.status, res.text).toBe(201)
    return res.body
  }
  const statusEvents = async (nodeId: number) => {
    const res = await d.call<{ events: { data: Record<string, unknown> }[] }>('GET', `/api/v1/events?node_id=${nodeId}&event_type=node_status_update`)
    expect(res.status, res.text).toBe(200)
    return res.body.events.map(e => e.data.status)
  }
  const isStale = (r: Received) => r.body.event.event_type === 'node_status_update' && r.body.event.data.status === 'stale'

  it('repeats a stale node\'s alert every repeat_seconds until it reports again', async () => {
    const r = await receiver()
    const hook = await hookOn({ url: r.url, event_types: ['node_status_update'], repeat_seconds: 1 })
    const agent = await d.createAgent()
    await d.report(agent, { cpu_percent: 1, disk_percent: 1 })
    const got = await r.waitFor('the stale alert and two reminders', rs => about(agent.id)(rs).filter(isStale).length >= 3, 20_000)
    const stale = about(agent.id)(got).filter(isStale)
    expect(stale.slice(0, 3).map(x => x.body.repeat)).toEqual([0, 1, 2])
    expect(new Set(stale.map(x => x.body.event.id)).size).toBe(1)
    expect(stale[2]!.at - stale[1]!.at).toBeGreaterThanOrEqual(900)
    stale.forEach(x => expect(verifySignature(x, hook.secret)).toBe(true))

    // The agent reports again, and keeps reporting: the node is back, the reminders stop.
    const feeding = setInterval(() => void d.call('POST', `/api/v1/nodes/${agent.id}/stats`, { json: { cpu_percent: 1, disk_percent: 1 }, auth: { bearer: agent.token } }), 500)
    try {
      // Its newest status event (they come newest first) says online: the first report's online
      // event is older than the stale one.
      await until('the node back online', async () => (await statusEvents(agent.id))[0] === 'online', 10_000)
      await until('no reminder still being sent', async () => {
        const res = await d.call<{ deliveries: DeliveryView[] }>('GET', `/api/v1/webhooks/${hook.id}/deliveries`)
        return res.body.deliveries.every(x => x.state !== 'pending')
      })
      // Reminders repeat the one stale event; a node that a loaded machine lets go stale again
      // would be a new event (a new alert), not a reminder.
      const reminders = () => about(agent.id)(r.received).filter(x => isStale(x) && x.body.event.id === stale[0]!.body.event.id).length
      const sent = reminders()
      // An observation window, not a synchronisation: reminders were due every second.
      await sleep(2500)
      expect(reminders()).toBe(sent)
    }
    finally {
      clearInterval(feeding)
    }
  })

  it('sends neither the alert nor reminders for a node that goes stale in maintenance', async () => {
    const r = await receiver()
    await hookOn({ url: r.url, repeat_seconds: 1 })
    const agent = await d.createAgent()
    await d.report(agent, { cpu_percent: 1, disk_percent: 1 })
    expect((await d.call('PATCH', `/api/v1/nodes/${agent.id}`, { json: { maintenance: true } })).status).toBe(200)
    await until('the node to go stale', async () => (await statusEvents(agent.id)).includes('stale'), 15_000)
    await sleep(2500)
    expect(about(agent.id)(r.received)).toEqual([])
  })

  it('resumes pending deliveries after a restart', async () => {
    let accepting = false
    const r = await receiver(() => (accepting ? 200 : 503))
    const hook = await hookOn({ url: r.url, event_types: ['node_removed'] })
    const agent = await d.createAgent()
    expect((await d.call('DELETE', `/api/v1/nodes/${agent.id}`)).status).toBe(204)
    await r.waitFor('a refused attempt', rs => about(agent.id)(rs).length >= 1)
    await d.srv.restart()
    // Every answer from now on is a 200: a delivered row proves the restarted server took the pending one up.
    accepting = true
    await until('the delivery to be recorded delivered', async () => {
      const res = await d.call<{ deliveries: DeliveryView[] }>('GET', `/api/v1/webhooks/${hook.id}/deliveries`)
      return res.body.deliveries.some(x => x.state === 'delivered' && x.attempts >= 2 && x.response_status === 200)
    }, 30_000)
  }, 90_000)
})
