import { createHmac } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { eq } from 'drizzle-orm'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { DatabaseHandle } from '../../server/db'
import { events as eventsTable, nodeSamples, webhookDeliveries } from '../../server/db/schema'
import { NotFoundError } from '../../server/services/errors'
import type { EventLog } from '../../server/services/events'
import { createAlerts } from '../../server/services/history/alerts'
import { createHistoryRollup } from '../../server/services/history/rollup'
import { DEFAULT_HISTORY_TIERS, parseHistoryTiers } from '../../server/services/history/tiers'
import { runHousekeeping } from '../../server/services/housekeeping'
import type { Journal } from '../../server/services/journal'
import type { Registry } from '../../server/services/registry'
import { backoffMs, describeNetworkError, generateWebhookSecret, isDownEvent, isPrivateAddress, matchesWebhook, signPayload } from '../../server/services/webhookDelivery'
import { createWebhookDispatcher, type DispatcherOptions, type WebhookDispatcher } from '../../server/services/webhookDispatcher'
import type { Webhooks } from '../../server/services/webhooks'
import { startReceiver, verifySignature, type Receiver } from '../integration/support/receiver'
import { startSmtpReceiver } from '../integration/support/smtp'
import { openNotifyStack, stopStarted } from './notifyStack'

describe('signing and schedule', () => {
  it('signs "<timestamp>.<body>" with HMAC-SHA256 as sha256=<hex>', () => {
    // openssl: printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac npw_test
    expect(signPayload('npw_test', 1_700_000_000, '{"a":1}')).toBe('sha256=cc041f26171e5980a6022be8e199fc1d5544392bdd5a817e7b9b7d244436dedb')
    const body = JSON.stringify({ event: { message: 'ünïcode ✓' } })
    expect(signPayload('k', 1, body)).toBe('sha256=' + createHmac('sha256', 'k').update(`1.${body}`).digest('hex'))
    expect(signPayload('k', 2, body)).not.toBe(signPayload('k', 1, body))
    expect(signPayload('other', 1, body)).not.toBe(signPayload('k', 1, body))
  })

  it('makes 256-bit secrets that differ every time', () => {
    const a = generateWebhookSecret()
    expect(a).toMatch(/^npw_[\w-]{43}$/)
    expect(Buffer.from(a.slice(4), 'base64url')).toHaveLength(32)
    expect(generateWebhookSecret()).not.toBe(a)
  })

  it('backs off 1 s, 2 s, 4 s … and never more than 5 minutes', () => {
    expect([1, 2, 3, 4, 5, 8, 9, 10, 50].map(backoffMs)).toEqual([1000, 2000, 4000, 8000, 16_000, 128_000, 256_000, 300_000, 300_000])
  })

  it('matches event types (empty: all) and a minimum severity', () => {
    const all = { eventTypes: [], minSeverity: 'warning' as const }
    expect(matchesWebhook(all, { type: 'node_removed', severity: 'warning' })).toBe(true)
    expect(matchesWebhook(all, { type: 'node_removed', severity: 'error' })).toBe(true)
    expect(matchesWebhook(all, { type: 'node_registered', severity: 'info' })).toBe(false)
    expect(matchesWebhook(all, { type: 'backup_completed', severity: 'success' })).toBe(false)
    const some = { eventTypes: ['node_updated'], minSeverity: 'info' as const }
    expect(matchesWebhook(some, { type: 'node_updated', severity: 'info' })).toBe(true)
    expect(matchesWebhook(some, { type: 'node_removed', severity: 'error' })).toBe(false)
  })

  it('knows a "down" event: stale or offline status, or unreachable', () => {
    expect(isDownEvent({ type: 'node_status_update', data: { status: 'stale' } })).toBe(true)
    expect(isDownEvent({ type: 'node_status_update', data: { status: 'offline' } })).toBe(true)
    expect(isDownEvent({ type: 'node_status_update', data: { status: 'online' } })).toBe(false)
    expect(isDownEvent({ type: 'node_unreachable', data: {} })).toBe(true)
    expect(isDownEvent({ type: 'node_reachable', data: {} })).toBe(false)
  })
})

describe('webhooks and their dispatcher', () => {
  let handle: DatabaseHandle
  let journal: Journal
  let registry: Registry
  let log: EventLog
  let hooks: Webhooks
  let leader = true
  const dispatchers: WebhookDispatcher[] = []
  const receivers: Receiver[] = []

  beforeAll(async () => {
    ({ handle, journal, registry, log, hooks } = await openNotifyStack())
  }, 60_000)

  afterEach(async () => {
    await stopStarted(handle, dispatchers, receivers)
    leader = true
  })

  afterAll(async () => {
    await handle?.close()
  })

  const start = (o: Partial<DispatcherOptions> = {}) => {
    const s = createWebhookDispatcher({ db: handle.db, journal, registry, isLeader: () => leader }, { timeoutMs: 2000, retryMs: 2500, version: '9.9.9', pollMs: 100, ...o })
    dispatchers.push(s)
    s.start()
    return s
  }
  const receiver = async (...args: Parameters<typeof startReceiver>) => {
    const r = await startReceiver(...args)
    receivers.push(r)
    return r
  }
  const deliveriesOf = async (id: number) => (await hooks.deliveries(id, {})).deliveries
  const until = async (what: string, check: () => Promise<boolean> | boolean, ms = 10_000) => {
    const end = Date.now() + ms
    while (!(await check())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
      await new Promise(r => setTimeout(r, 25))
    }
  }

  it('POSTs a matching event as signed JSON and records it delivered', async () => {
    const r = await receiver()
    const s = start()
    const hook = await hooks.create({ type: 'webhook', name: 'ops', url: r.url, min_severity: 'warning' })
    const node = await registry.create({ hostname: 'wh-signed', kind: 'agent' })
    await log.record({ type: 'node_updated', severity: 'info', nodeId: node.id, message: 'below the minimum severity' })
    const event = await log.record({ type: 'node_removed', severity: 'warning', nodeId: node.id, message: 'Node wh-signed removed', data: { hostname: 'wh-signed' } })
    const [got] = await r.waitFor('the node_removed event', rs => rs.length >= 1)
    expect(got!.method).toBe('POST')
    expect(got!.headers).toMatchObject({
      'content-type': 'application/json', 'user-agent': 'NodePulse/9.9.9', 'x-nodepulse-event': 'node_removed',
    })
    expect(verifySignature(got!, hook.secret)).toBe(true)
    expect(verifySignature(got!, generateWebhookSecret())).toBe(false)
    expect(got!.body).toEqual({
      webhook: { id: hook.id, name: 'ops' }, repeat: 0,
      event: expect.objectContaining({ id: event.id, event_type: 'node_removed', severity: 'warning', node_id: node.id, message: 'Node wh-signed removed', data: { hostname: 'wh-signed' } }),
    })
    await s.idle()
    const [d] = await deliveriesOf(hook.id)
    expect(String(d!.id)).toBe(got!.headers['x-nodepulse-delivery'])
    expect(d).toMatchObject({ event_id: event.id, event_type: 'node_removed', state: 'delivered', attempts: 1, response_status: 200, error: null, next_attempt_at: null })
    expect((await hooks.get(hook.id, 'admin')).last_delivery?.id).toBe(d!.id)
    expect(r.received).toHaveLength(1)
  })

  it('retries after a 500 with backoff and ends delivered on the second attempt', async () => {
    const r = await receiver((_, i) => (i === 0 ? 500 : 200))
    const s = start()
    const hook = await hooks.create({ type: 'webhook', name: 'flaky', url: r.url })
    await log.record({ type: 'node_removed', severity: 'error', message: 'retry me' })
    const [first, second] = await r.waitFor('a retry', rs => rs.length >= 2)
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(900)
    expect(second!.headers['x-nodepulse-delivery']).toBe(first!.headers['x-nodepulse-delivery'])
    expect(verifySignature(second!, hook.secret)).toBe(true)
    await s.idle()
    expect(await deliveriesOf(hook.id)).toMatchObject([{ state: 'delivered', attempts: 2, response_status: 200, error: null }])
  })

  it('gives up with the first attempt that fails NODEPULSE_WEBHOOK_RETRY_HOURS after queueing, and keeps the last error', async () => {
    const r = await receiver(() => 503)
    start({ retryMs: 500 })
    const hook = await hooks.create({ type: 'webhook', name: 'down', url: r.url })
    await log.record({ type: 'node_removed', severity: 'error', message: 'never accepted' })
    await until('the delivery to fail', async () => (await deliveriesOf(hook.id))[0]?.state === 'failed')
    expect(await deliveriesOf(hook.id)).toMatchObject([{ state: 'failed', attempts: 2, response_status: 503, error: 'receiver answered HTTP 503', next_attempt_at: null }])
    expect(r.received).toHaveLength(2)
  })

  it('keeps a failing delivery pending for an hour by default, its next attempt at most 5 min away, and fails the first attempt an hour in', async () => {
    const r = await receiver(() => 503)
    // Every round reads the queue, so a row moved by hand is seen at once.
    const s = start({ retryMs: 3_600_000, fullEveryMs: 0 })
    const hook = await hooks.create({ type: 'webhook', name: 'outage', url: r.url })
    await log.record({ type: 'node_removed', severity: 'error', message: 'receiver down for a while' })
    await until('the first attempt', async () => (await deliveriesOf(hook.id))[0]?.attempts === 1)
    await s.idle()
    const [first] = await deliveriesOf(hook.id)
    expect(first).toMatchObject({ state: 'pending', attempts: 1, error: 'receiver answered HTTP 503' })
    // The receiver has been failing for 59 minutes (20 attempts): the delivery is still pending, due again in 5 minutes.
    const row = eq(webhookDeliveries.id, first!.id)
    const at = (minutes: number) => new Date(Date.now() - minutes * 60_000)
    await handle.db.update(webhookDeliveries).set({ attempts: 20, createdAt: at(59), nextAttemptAt: new Date() }).where(row)
    await s.tick()
    await until('the 21st attempt', async () => (await deliveriesOf(hook.id))[0]?.attempts === 21)
    await s.idle()
    const [late] = await deliveriesOf(hook.id)
    expect(late!.state).toBe('pending')
    expect(Date.parse(late!.next_attempt_at!) - Date.now()).toBeGreaterThan(290_000)
    expect(Date.parse(late!.next_attempt_at!) - Date.now()).toBeLessThanOrEqual(300_000)
    // An hour after it was queued, the next failure is the last.
    await handle.db.update(webhookDeliveries).set({ createdAt: at(60), nextAttemptAt: new Date() }).where(row)
    await s.tick()
    await until('the delivery to fail', async () => (await deliveriesOf(hook.id))[0]?.state === 'failed')
    expect((await deliveriesOf(hook.id))[0]).toMatchObject({ state: 'failed', attempts: 22, next_attempt_at: null, error: 'receiver answered HTTP 503' })
  })

  it('sends a channel with a label selector only the events of nodes whose labels match', async () => {
    const r = await receiver()
    const s = start()
    const hook = await hooks.create({ type: 'webhook', name: 'prod only', url: r.url, labels: 'cluster=prod', event_types: ['node_updated'], min_severity: 'info' })
    const prod = await registry.create({ hostname: 'wh-prod', kind: 'agent', labels: { cluster: 'prod' } })
    const dev = await registry.create({ hostname: 'wh-dev', kind: 'agent', labels: { cluster: 'dev' } })
    await log.record({ type: 'node_updated', severity: 'info', nodeId: dev.id, message: 'dev changed' })
    await log.record({ type: 'node_updated', severity: 'info', nodeId: null, message: 'no node' })
    const wanted = await log.record({ type: 'node_updated', severity: 'info', nodeId: prod.id, message: 'prod changed' })
    await r.waitFor('the prod event', rs => rs.length >= 1)
    await s.idle()
    expect(r.received.map(x => x.body.event.id)).toEqual([wanted.id])
    expect((await deliveriesOf(hook.id)).map(d => d.event_id)).toEqual([wanted.id])
  })

  it('matches a removed node by the labels its node_removed event kept', async () => {
    const r = await receiver()
    const s = start()
    await hooks.create({ type: 'webhook', name: 'prod removals', url: r.url, labels: 'cluster=prod', event_types: ['node_removed'], min_severity: 'info' })
    const prod = await registry.create({ hostname: 'wh-gone-prod', kind: 'agent', labels: { cluster: 'prod' } })
    const dev = await registry.create({ hostname: 'wh-gone-dev', kind: 'agent', labels: { cluster: 'dev' } })
    await registry.remove(prod.id)
    await registry.remove(dev.id)
    // As the node service logs them: after the node is gone, its labels in the event's data.
    await log.record({ type: 'node_removed', severity: 'warning', nodeId: dev.id, message: 'dev removed', data: { hostname: dev.hostname, labels: dev.labels } })
    await log.record({ type: 'node_removed', severity: 'warning', nodeId: dev.id, message: 'labels unreadable', data: { labels: ['cluster=prod'] } })
    const wanted = await log.record({ type: 'node_removed', severity: 'warning', nodeId: prod.id, message: 'prod removed', data: { hostname: prod.hostname, labels: prod.labels } })
    await r.waitFor('the prod removal', rs => rs.length >= 1)
    await s.idle()
    expect(r.received.map(x => x.body.event.id)).toEqual([wanted.id])
  })

  it('counts a receiver that does not answer in time as a failed attempt', async () => {
    const r = await receiver(() => 'hang')
    start({ timeoutMs: 300, retryMs: 0 })
    const hook = await hooks.create({ type: 'webhook', name: 'slow', url: r.url })
    await log.record({ type: 'node_removed', severity: 'error', message: 'too slow' })
    await until('the timeout', async () => (await deliveriesOf(hook.id))[0]?.state === 'failed')
    const [d] = await deliveriesOf(hook.id)
    expect(d).toMatchObject({ attempts: 1, response_status: null })
    expect(d!.error).toContain('no answer within 0.3 s')
  })

  it('stays quiet about a node in maintenance and about events logged in maintenance', async () => {
    const r = await receiver()
    const s = start()
    const hook = await hooks.create({ type: 'webhook', name: 'quiet', url: r.url, min_severity: 'info' })
    const node = await registry.create({ hostname: 'wh-maint', kind: 'agent' })
    await registry.update(node.id, { maintenance: true })
    await log.record({ type: 'node_status_update', severity: 'warning', nodeId: node.id, message: 'stale in maintenance', data: { status: 'stale' } })
    await s.idle()
    await registry.update(node.id, { maintenance: false })
    await log.record({ type: 'node_status_update', severity: 'warning', nodeId: node.id, message: 'flagged', data: { status: 'stale', maintenance: true } })
    const loud = await log.record({ type: 'node_status_update', severity: 'warning', nodeId: node.id, message: 'stale', data: { status: 'stale' } })
    await r.waitFor('the unmuted event', rs => rs.length >= 1)
    await s.idle()
    expect(r.received.map(x => x.body.event.id)).toEqual([loud.id])
    expect((await deliveriesOf(hook.id)).map(d => d.event_id)).toEqual([loud.id])
  })

  it('matches only on the leader; a new leader carries on from where the last one stopped', async () => {
    const r = await receiver()
    leader = false
    const s = start()
    const hook = await hooks.create({ type: 'webhook', name: 'handover', url: r.url })
    const missed = await log.record({ type: 'node_removed', severity: 'warning', message: 'while nobody led' })
    await s.tick()
    expect(await deliveriesOf(hook.id)).toEqual([])
    leader = true
    await r.waitFor('the event logged before the lead was taken', rs => rs.length >= 1)
    expect(r.received[0]!.body.event.id).toBe(missed.id)
  })

  it('sends each event once when two instances both think they lead', async () => {
    const r = await receiver()
    const a = start()
    const b = start()
    const hook = await hooks.create({ type: 'webhook', name: 'twice?', url: r.url })
    const ids: number[] = []
    for (let i = 0; i < 5; i++) ids.push((await log.record({ type: 'node_removed', severity: 'error', message: `race ${i}` })).id)
    await r.waitFor('all five', rs => rs.length >= 5)
    await Promise.all([a.tick(), b.tick()])
    await Promise.all([a.idle(), b.idle()])
    expect(r.received.map(x => x.body.event.id).sort((x, y) => x - y)).toEqual(ids)
    expect(await deliveriesOf(hook.id)).toHaveLength(5)
  })

  it('repeats a node\'s newest down event while it stays down, and stops when it is back or in maintenance', async () => {
    const r = await receiver()
    const s = start()
    const every = await hooks.create({ type: 'webhook', name: 'repeat', url: r.url, repeat_seconds: 1 })
    const once = await receiver()
    const single = await hooks.create({ type: 'webhook', name: 'once', url: once.url })
    const node = await registry.create({ hostname: 'wh-down', kind: 'agent' })
    registry.get(node.id)!.watchedStatus = 'stale'
    const down = await log.record({ type: 'node_status_update', severity: 'warning', nodeId: node.id, message: 'stale', data: { status: 'stale' } })
    await r.waitFor('two reminders', rs => rs.length >= 3)
    expect(r.received.slice(0, 3).map(x => [x.body.event.id, x.body.repeat])).toEqual([[down.id, 0], [down.id, 1], [down.id, 2]])
    // Each reminder is queued repeat_seconds after the one before (arrivals can be closer: an attempt may wait its turn).
    const queuedAt = new Map((await deliveriesOf(every.id)).map(d => [d.repeat, Date.parse(d.created_at)]))
    expect(queuedAt.get(2)! - queuedAt.get(1)!).toBeGreaterThanOrEqual(1000)
    expect(once.received.map(x => x.body.repeat)).toEqual([0])

    registry.get(node.id)!.maintenance = true
    await new Promise(done => setTimeout(done, 1500))
    const inMaintenance = r.received.length
    await new Promise(done => setTimeout(done, 1500))
    expect(r.received.length).toBe(inMaintenance)

    registry.get(node.id)!.maintenance = false
    await r.waitFor('reminders again after maintenance', rs => rs.length > inMaintenance)
    registry.get(node.id)!.watchedStatus = 'online'
    await new Promise(done => setTimeout(done, 1500))
    const back = r.received.length
    await new Promise(done => setTimeout(done, 1500))
    expect(r.received.length).toBe(back)
    await s.idle()
    const repeats = (await deliveriesOf(every.id)).map(d => d.repeat)
    expect(repeats).toEqual([...repeats].sort((x, y) => y - x))
    expect(new Set(repeats).size).toBe(repeats.length)
    expect(await deliveriesOf(single.id)).toHaveLength(1)
  })

  it('repeats node_unreachable while the node stays unreachable, and stops once its node_reachable is logged', async () => {
    const r = await receiver()
    const s = start()
    await hooks.create({ type: 'webhook', name: 'unreachable', url: r.url, repeat_seconds: 1 })
    const node = await registry.create({ hostname: 'wh-unreachable', kind: 'agent' })
    registry.get(node.id)!.watchedReachable = false
    const gone = await log.record({ type: 'node_unreachable', severity: 'warning', nodeId: node.id, message: 'unreachable', data: {} })
    await r.waitFor('the alert and two reminders', rs => rs.length >= 3)
    expect(r.received.slice(0, 3).map(x => [x.body.event.id, x.body.repeat])).toEqual([[gone.id, 0], [gone.id, 1], [gone.id, 2]])
    // The recovery is logged while the registry still says unreachable: the log decides.
    await log.record({ type: 'node_reachable', severity: 'success', nodeId: node.id, message: 'reachable', data: {} })
    await new Promise(done => setTimeout(done, 1500))
    await s.idle()
    const after = r.received.filter(x => x.body.event.id === gone.id).length
    await new Promise(done => setTimeout(done, 1500))
    expect(r.received.filter(x => x.body.event.id === gone.id).length).toBe(after)
  })

  it('does not send an event that was already an hour old when first matched (after a long outage)', async () => {
    const r = await receiver()
    const s = start()
    const hook = await hooks.create({ type: 'webhook', name: 'fresh only', url: r.url })
    await s.tick()
    // Logged while no leader ran (written directly, two hours back), then a fresh one.
    const [old] = await handle.db.insert(eventsTable).values({ type: 'node_removed', severity: 'warning', message: 'long ago', createdAt: new Date(Date.now() - 2 * 3_600_000) }).returning()
    const fresh = await log.record({ type: 'node_removed', severity: 'warning', message: 'just now' })
    await r.waitFor('the fresh event', rs => rs.length >= 1)
    await s.idle()
    expect(r.received.map(x => x.body.event.id)).toEqual([fresh.id])
    expect((await deliveriesOf(hook.id)).map(d => d.event_id)).not.toContain(old!.id)
  })

  it('repeats a threshold alert\'s event while its rule keeps firing, not in maintenance, and stops at its recovery', async () => {
    const r = await receiver()
    const s = start()
    await hooks.create({ type: 'webhook', name: 'alerts', url: r.url, repeat_seconds: 1, event_types: ['threshold_exceeded', 'threshold_recovered'], min_severity: 'info' })
    const node = await registry.create({ hostname: 'wh-hot', kind: 'agent' })
    const alerts = createAlerts(handle.db, registry, log, { widthSeconds: 60 })
    const rollup = createHistoryRollup(handle.db, parseHistoryTiers(DEFAULT_HISTORY_TIERS))
    const MIN = 60_000
    const base = Math.floor(Date.now() / MIN) * MIN - 5 * MIN
    const minute = (m: number, cpu: number) => handle.db.insert(nodeSamples).values([0, 30].map(s => ({ nodeId: node.id, ts: new Date(base + m * MIN + s * 1000), cpuPercent: cpu, diskPercent: 1 })))
    await alerts.create({ name: 'wh hot', metric: 'cpu_percent', comparison: '>', value: 90, per_core: false, duration_seconds: 60, nodes: { ids: [node.id] }, severity: 'error', enabled: true })
    await minute(0, 99)
    await rollup.run()
    expect(await alerts.evaluate(new Date(base + MIN + 5000))).toEqual({ exceeded: 1, recovered: 0 })
    await r.waitFor('the alert and two reminders', rs => rs.length >= 3)
    const exceeded = r.received[0]!.body.event
    expect(exceeded.event_type).toBe('threshold_exceeded')
    expect(r.received.slice(0, 3).map(x => [x.body.event.id, x.body.repeat])).toEqual([[exceeded.id, 0], [exceeded.id, 1], [exceeded.id, 2]])

    registry.get(node.id)!.maintenance = true
    await new Promise(done => setTimeout(done, 1500))
    await s.idle()
    const inMaintenance = r.received.length
    await new Promise(done => setTimeout(done, 1500))
    expect(r.received.length).toBe(inMaintenance)
    registry.get(node.id)!.maintenance = false
    await r.waitFor('reminders again after maintenance', rs => rs.length > inMaintenance)

    await minute(1, 20)
    await rollup.run()
    expect(await alerts.evaluate(new Date(base + 2 * MIN + 5000))).toEqual({ exceeded: 0, recovered: 1 })
    await r.waitFor('the recovery', rs => rs.some(x => x.body.event.event_type === 'threshold_recovered'))
    await new Promise(done => setTimeout(done, 1500))
    await s.idle()
    const back = r.received.length
    await new Promise(done => setTimeout(done, 1500))
    expect(r.received.length).toBe(back)
  })

  it('sends a test event at once, numbered by repeat, with one attempt only', async () => {
    const r = await receiver((_, i) => (i === 0 ? 200 : 500))
    const s = start()
    const hook = await hooks.create({ type: 'webhook', name: 'try', url: r.url, enabled: false })
    const ok = await s.sendTest(hook.id)
    expect(ok).toMatchObject({ event_id: 0, event_type: 'webhook_test', repeat: 0, state: 'delivered', attempts: 1, response_status: 200 })
    expect(r.received[0]!.body.event).toMatchObject({ id: 0, event_type: 'webhook_test', severity: 'info' })
    expect(verifySignature(r.received[0]!, hook.secret)).toBe(true)
    const bad = await s.sendTest(hook.id)
    expect(bad).toMatchObject({ repeat: 1, state: 'failed', attempts: 1, response_status: 500 })
    await new Promise(done => setTimeout(done, 1300))
    expect(r.received).toHaveLength(2)
    await expect(s.sendTest(999_999)).rejects.toThrow(NotFoundError)
  })

  it('hands an attempt in flight back when stopping, without counting it', async () => {
    const r = await receiver(() => 'hang')
    const s = start({ timeoutMs: 30_000 })
    const hook = await hooks.create({ type: 'webhook', name: 'stopping', url: r.url })
    await log.record({ type: 'node_removed', severity: 'error', message: 'in flight' })
    await r.waitFor('the attempt', rs => rs.length >= 1)
    await s.stop()
    const [d] = await handle.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, hook.id))
    expect(d).toMatchObject({ state: 'pending', attempts: 0 })
    expect(d!.nextAttemptAt.getTime()).toBeLessThanOrEqual(Date.now())
  })

  it('housekeeping deletes finished deliveries past retention and keeps pending ones', async () => {
    const hook = await hooks.create({ type: 'webhook', name: 'old', url: 'http://127.0.0.1:9/none', enabled: false })
    const old = new Date(Date.now() - 8 * 86_400_000)
    await handle.db.insert(webhookDeliveries).values([
      { webhookId: hook.id, eventId: 1e9 + 1, state: 'delivered', createdAt: old },
      { webhookId: hook.id, eventId: 1e9 + 2, state: 'pending', createdAt: old, nextAttemptAt: new Date(Date.now() + 86_400_000) },
      { webhookId: hook.id, eventId: 1e9 + 3, state: 'failed' },
    ])
    await runHousekeeping(handle.db, journal, 7, createHistoryRollup(handle.db, parseHistoryTiers(DEFAULT_HISTORY_TIERS)))
    expect((await deliveriesOf(hook.id)).map(d => d.event_id).sort()).toEqual([1e9 + 2, 1e9 + 3])
  })

  it('housekeeping deletes events past the retention days and raw samples past the raw tier, and keeps the rest', async () => {
    const node = await registry.create({ hostname: 'hk-retention', kind: 'agent' })
    const day = 86_400_000
    const [oldEvent, newEvent] = await handle.db.insert(eventsTable).values([
      { type: 'node_removed', severity: 'warning', message: 'eight days ago', nodeId: node.id, createdAt: new Date(Date.now() - 8 * day) },
      { type: 'node_removed', severity: 'warning', message: 'six days ago', nodeId: node.id, createdAt: new Date(Date.now() - 6 * day) },
    ]).returning()
    await handle.db.insert(nodeSamples).values([3, 1].map(days => ({ nodeId: node.id, ts: new Date(Date.now() - days * day), cpuPercent: days, diskPercent: 1 })))
    await runHousekeeping(handle.db, journal, 7, createHistoryRollup(handle.db, parseHistoryTiers(DEFAULT_HISTORY_TIERS)))
    const ids = (await handle.db.select({ id: eventsTable.id }).from(eventsTable).where(eq(eventsTable.nodeId, node.id))).map(r => r.id)
    expect(ids).toEqual([newEvent!.id])
    expect(ids).not.toContain(oldEvent!.id)
    // Raw samples are kept 48 h by default: the 3-day-old one is gone, yesterday's stays.
    expect((await handle.db.select({ cpu: nodeSamples.cpuPercent }).from(nodeSamples).where(eq(nodeSamples.nodeId, node.id))).map(r => r.cpu)).toEqual([1])
  })

  it('pages deliveries newest first', async () => {
    const hook = await hooks.create({ type: 'webhook', name: 'pages', url: 'http://127.0.0.1:9/none', enabled: false })
    await handle.db.insert(webhookDeliveries).values([1, 2, 3, 4, 5].map(n => ({ webhookId: hook.id, eventId: 1e9 + n, state: 'failed' as const })))
    const first = await hooks.deliveries(hook.id, { limit: 2 })
    expect(first.deliveries.map(d => d.event_id - 1e9)).toEqual([5, 4])
    const second = await hooks.deliveries(hook.id, { limit: 2, cursor: first.next_cursor! })
    expect(second.deliveries.map(d => d.event_id - 1e9)).toEqual([3, 2])
    const last = await hooks.deliveries(hook.id, { limit: 2, cursor: second.next_cursor! })
    expect(last).toMatchObject({ deliveries: [{ event_id: 1e9 + 1, event_type: null }], next_cursor: null })
  })

  it('with blockPrivate (NODEPULSE_WEBHOOK_BLOCK_PRIVATE) refuses a private receiver by address and by what its name resolves to', async () => {
    const r = await receiver()
    const s = start({ blockPrivate: true })
    const { port } = new URL(r.url)
    const byAddress = await hooks.create({ type: 'webhook', name: 'private-ip', url: r.url })
    const byName = await hooks.create({ type: 'webhook', name: 'private-name', url: `http://localhost:${port}/hook` })
    const a = await s.sendTest(byAddress.id)
    const b = await s.sendTest(byName.id)
    expect(a).toMatchObject({ state: 'failed', response_status: null, error: 'refused: the receiver is on a private address (NODEPULSE_WEBHOOK_BLOCK_PRIVATE)' })
    expect(b).toMatchObject({ state: 'failed', response_status: null, error: 'refused: the receiver resolves to a private address (NODEPULSE_WEBHOOK_BLOCK_PRIVATE)' })
    expect(r.received).toEqual([])
    // Allowed by default: self-hosted receivers often live on the same network.
    const open = start()
    expect(await open.sendTest(byName.id)).toMatchObject({ state: 'delivered', response_status: 200 })
  })

  it('with blockPrivate refuses the other channel types too: a chat service\'s base URL and an SMTP host, by address and by name', async () => {
    const r = await receiver()
    const smtp = await startSmtpReceiver('u', 'p')
    try {
      const s = start({ blockPrivate: true })
      const telegram = await hooks.create({ type: 'telegram', name: 'tg', settings: { bot_token: '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ', chat_id: '1', api_url: r.url } })
      const mail = (host: string) => hooks.create({ type: 'email', name: host, settings: { host, port: smtp.port, tls: 'none', from: 'np@example.com', to: ['ops@example.com'] } })
      expect(await s.sendTest(telegram.id)).toMatchObject({ state: 'failed', error: 'refused: the receiver is on a private address (NODEPULSE_WEBHOOK_BLOCK_PRIVATE)' })
      for (const host of ['127.0.0.1', 'localhost']) {
        expect(await s.sendTest((await mail(host)).id)).toMatchObject({ state: 'failed', response_status: null, error: 'refused: the receiver resolves to a private address (NODEPULSE_WEBHOOK_BLOCK_PRIVATE)' })
      }
      expect(r.received).toEqual([])
      expect(smtp.mails).toEqual([])
      // Allowed by default.
      expect(await start().sendTest((await mail('127.0.0.1')).id)).toMatchObject({ state: 'delivered', response_status: 250 })
      expect(smtp.mails).toHaveLength(1)
    }
    finally {
      await smtp.close()
    }
  })

  it('does not follow a redirect, so a public receiver cannot point a delivery at a private address', async () => {
    const target = await receiver()
    const redirector = createServer((req, res) => {
      req.resume()
      res.writeHead(307, { location: target.url }).end()
    })
    await new Promise<void>(done => redirector.listen(0, '127.0.0.1', done))
    try {
      const s = start()
      const hook = await hooks.create({ type: 'webhook', name: 'redirect', url: `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/hook` })
      expect(await s.sendTest(hook.id)).toMatchObject({ state: 'failed', response_status: 307, error: 'receiver answered HTTP 307 (redirects are not followed)' })
      expect(target.received).toEqual([])
    }
    finally {
      redirector.closeAllConnections()
      await new Promise(done => redirector.close(done))
    }
  })

})

describe('receiver addresses and failure reasons', () => {
  it('tells private, loopback, link-local and unspecified addresses from public ones', () => {
    for (const a of ['10.1.2.3', '127.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '224.0.0.1']) {
      expect(isPrivateAddress(a), a).toBe(true)
    }
    for (const a of ['8.8.8.8', '172.32.0.1', '192.169.0.1', '2001:4860:4860::8888', 'hooks.example.com']) expect(isPrivateAddress(a), a).toBe(false)
  })

  it('says why a request failed from the error code alone, never its message (which can carry the URL)', () => {
    const err = (code: string | undefined) => Object.assign(new Error('connect to https://user:pw@hooks.example.com/T0/SECRET failed'), { code })
    expect(describeNetworkError(err('ECONNREFUSED'))).toBe('could not connect: connection refused')
    expect(describeNetworkError(err('ENOTFOUND'))).toBe('could not connect: host not found')
    expect(describeNetworkError(err('ECONNRESET'))).toBe('the receiver closed the connection')
    expect(describeNetworkError(err('DEPTH_ZERO_SELF_SIGNED_CERT'))).toBe('TLS error (DEPTH_ZERO_SELF_SIGNED_CERT)')
    expect(describeNetworkError(err('ERR_WEIRD'))).toBe('request failed (ERR_WEIRD)')
    expect(describeNetworkError(err(undefined))).toBe('request failed')
    expect(describeNetworkError(err('/T0/SECRET'))).toBe('request failed')
  })
})
