import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DeliveryView, WebhookView } from '../../shared/contracts/rest'
import { api, asAdmin, createAgent, createUser, expectError, unique } from './helpers'
import { startDedicated, until, type Dedicated } from './support/dedicated'
import { startReceiver, type Received, type Receiver } from './support/receiver'
import { startSmtpReceiver, type SmtpReceiver } from './support/smtp'

/**
 * Channel types other than the signed webhook: created through the API, each delivering a real
 * event in its service's native format to a receiver on 127.0.0.1 that stands in for the service
 * (each type's base URL points there), e-mail to a real SMTP server.
 */

const TELEGRAM_TOKEN = '123456789:AAHsecretTelegramTokenValue_0123'
const MATRIX_TOKEN = 'syt_secretMatrixAccessToken'
const GOTIFY_TOKEN = 'AgotifySecretAppToken'
const NTFY_TOKEN = 'tk_secretntfytoken'
const PD_KEY = 'R0123456789abcdef0123456789abcdef'
const SMTP_PASSWORD = 'smtp-secret-password'
const SECRETS = [TELEGRAM_TOKEN, MATRIX_TOKEN, GOTIFY_TOKEN, NTFY_TOKEN, PD_KEY, SMTP_PASSWORD]

let r: Receiver
let smtp: SmtpReceiver
const created: number[] = []

beforeAll(async () => {
  r = await startReceiver(req => (req.path.startsWith('/fail') ? 500 : 200))
  smtp = await startSmtpReceiver('np-mailer', SMTP_PASSWORD)
})

afterAll(async () => {
  const auth = await asAdmin()
  await Promise.all(created.map(id => api('DELETE', `/api/v1/webhooks/${id}`, { auth })))
  await r?.close()
  await smtp?.close()
})

const base = () => r.url.replace(/\/hook$/, '')

/** Each type's body, every base URL on the loopback receiver; only node_removed events, so a test's own node tells its messages apart. */
function bodies(): Record<string, Record<string, unknown>> {
  return {
    slack: { url: `${base()}/slack/T0/B1/x` },
    discord: { url: `${base()}/discord/1/x` },
    teams: { url: `${base()}/teams/workflows/x` },
    telegram: { settings: { bot_token: TELEGRAM_TOKEN, chat_id: '-100200', api_url: `${base()}/tg` } },
    ntfy: { settings: { server_url: `${base()}/ntfy`, topic: 'ops', token: NTFY_TOKEN } },
    gotify: { settings: { server_url: `${base()}/gotify`, token: GOTIFY_TOKEN } },
    matrix: { settings: { homeserver_url: `${base()}/mx`, room_id: '!room:example.org', access_token: MATRIX_TOKEN } },
    pagerduty: { settings: { routing_key: PD_KEY, events_url: `${base()}/pd/enqueue` } },
    email: { settings: { host: '127.0.0.1', port: smtp.port, tls: 'none', user: 'np-mailer', password: SMTP_PASSWORD, from: 'nodepulse@example.com', to: ['ops@example.com', 'oncall@example.com'] } },
  }
}

async function createChannel(type: string, body: Record<string, unknown>): Promise<WebhookView> {
  const res = await api<WebhookView>('POST', '/api/v1/webhooks', { auth: await asAdmin(), json: { type, name: unique(type), event_types: ['node_removed'], ...body } })
  expect(res.status, res.text).toBe(201)
  created.push(res.body.id)
  return res.body
}

const mine = (hostname: string) => (rs: Received[]) => rs.filter(x => x.raw.includes(hostname))
const json = (x: Received) => JSON.parse(x.raw) as Record<string, unknown>

describe('notification channels', () => {
  let channels: Record<string, WebhookView>

  beforeAll(async () => {
    channels = Object.fromEntries(await Promise.all(Object.entries(bodies()).map(async ([type, body]) => [type, await createChannel(type, body)] as const)))
  })

  it('creates each type through the API; secret settings are never returned, only that they are set', async () => {
    expect(channels.telegram).toMatchObject({ type: 'telegram', url: null, settings: { chat_id: '-100200', api_url: `${base()}/tg` }, secrets_set: ['bot_token'], labels: '' })
    expect(channels.email).toMatchObject({ type: 'email', settings: { host: '127.0.0.1', port: smtp.port, tls: 'none', user: 'np-mailer', to: ['ops@example.com', 'oncall@example.com'] }, secrets_set: ['password'] })
    expect(channels.slack).toMatchObject({ type: 'slack', url: `${base()}/slack/T0/B1/x`, settings: {}, secrets_set: [] })
    expect(channels.pagerduty!.settings).toEqual({ events_url: `${base()}/pd/enqueue` })
    const list = await api<WebhookView[]>('GET', '/api/v1/webhooks', { auth: await asAdmin() })
    const one = await api<WebhookView>('GET', `/api/v1/webhooks/${channels.matrix!.id}`, { auth: await asAdmin() })
    expect(one.body.secrets_set).toEqual(['access_token'])
    for (const secret of SECRETS) {
      expect(list.text).not.toContain(secret)
      expect(one.text).not.toContain(secret)
    }
    const viewer = await createUser('viewer')
    const seen = await api<WebhookView[]>('GET', '/api/v1/webhooks', { auth: viewer.auth })
    const theirs = seen.body.filter(w => created.includes(w.id))
    expect(theirs.length).toBeGreaterThan(0)
    for (const w of theirs) expect(w).toMatchObject({ settings: null, secrets_set: [] })
    expect(seen.text).not.toContain('-100200')
  })

  it('answers 422 naming the field for a missing or bad setting, an unknown type, a bad selector', async () => {
    const auth = await asAdmin()
    const post = (json: Record<string, unknown>) => api('POST', '/api/v1/webhooks', { auth, json: { name: 'x', ...json } })
    expectError(await post({ type: 'telegram', settings: { chat_id: '1' } }), 422, 'settings.bot_token')
    expectError(await post({ type: 'matrix', settings: { homeserver_url: 'https://m.example.org', room_id: 'nope', access_token: 't' } }), 422, 'settings.room_id')
    expectError(await post({ type: 'email', settings: { host: 'smtp.example.com', from: 'np@example.com', to: [] } }), 422, 'settings.to')
    expectError(await post({ type: 'gotify', settings: { server_url: 'https://user:pw@gotify.example.com', token: 't' } }), 422, 'settings.server_url')
    expectError(await post({ type: 'slack', url: 'ftp://hooks.slack.com/x' }), 422, 'url')
    expectError(await post({ type: 'slack' }), 422, 'url')
    expectError(await post({ type: 'pager' }), 422, 'type')
    expectError(await post({ type: 'slack', url: 'https://hooks.slack.com/x', labels: 'no spaces=1' }), 422, 'labels')
    const id = channels.ntfy!.id
    expectError(await api('PATCH', `/api/v1/webhooks/${id}`, { auth, json: { settings: { topic: 'has spaces' } } }), 422, 'settings.topic')
    expectError(await api('PATCH', `/api/v1/webhooks/${id}`, { auth, json: { url: 'https://x.example.com/' } }), 422, 'url')
    expectError(await api('POST', `/api/v1/webhooks/${id}/secret`, { auth }), 409, 'only webhook channels')
  })

  it('PATCH merges settings: a secret left out is kept, the rest changes', async () => {
    const ch = await createChannel('gotify', { settings: { server_url: `${base()}/gotify`, token: GOTIFY_TOKEN } })
    const res = await api<WebhookView>('PATCH', `/api/v1/webhooks/${ch.id}`, { auth: await asAdmin(), json: { settings: { server_url: `${base()}/gotify2` }, labels: 'cluster=prod' } })
    expect(res.status, res.text).toBe(200)
    expect(res.body).toMatchObject({ settings: { server_url: `${base()}/gotify2` }, secrets_set: ['token'], labels: 'cluster=prod' })
    const test = await api<DeliveryView>('POST', `/api/v1/webhooks/${ch.id}/test`, { auth: await asAdmin() })
    expect(test.body.state).toBe('delivered')
    expect(r.received.find(x => x.path === '/gotify2/message')?.headers['x-gotify-key']).toBe(GOTIFY_TOKEN)
  })

  it('delivers a real event to every type in its native format, path and headers', async () => {
    const node = await createAgent()
    expect((await api('DELETE', `/api/v1/nodes/${node.id}`, { auth: await asAdmin() })).status).toBe(204)
    const got = mine(node.hostname)(await r.waitFor('every HTTP type\'s message', rs => mine(node.hostname)(rs).length >= 8))
    const at = (prefix: string) => got.find(x => x.path.startsWith(prefix))!
    const title = `Node deleted: ${node.hostname}`

    expect(json(at('/slack/T0/B1/x'))).toMatchObject({ text: `${title}: Node ${node.hostname} removed`, blocks: [{ type: 'header', text: { text: title } }, { type: 'section' }] })
    expect(json(at('/discord/1/x'))).toMatchObject({ username: 'NodePulse', embeds: [{ title, description: `Node ${node.hostname} removed`, color: 0xF59E0B }] })
    expect(json(at('/teams/workflows/x'))).toMatchObject({ type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard' } }] })

    const tg = at('/tg/')
    expect(tg.path).toBe(`/tg/bot${TELEGRAM_TOKEN}/sendMessage`)
    expect(json(tg)).toMatchObject({ chat_id: '-100200', parse_mode: 'HTML', text: expect.stringContaining(`<b>${title}</b>`) })

    const ntfy = at('/ntfy/')
    expect(ntfy).toMatchObject({ method: 'POST', path: '/ntfy/ops' })
    expect(ntfy.headers).toMatchObject({ title, priority: '4', tags: 'warning,nodepulse', authorization: `Bearer ${NTFY_TOKEN}` })
    expect(ntfy.raw).toContain(`Node ${node.hostname} removed`)

    const gotify = at('/gotify/message')
    expect(gotify.headers['x-gotify-key']).toBe(GOTIFY_TOKEN)
    expect(json(gotify)).toMatchObject({ title, priority: 5 })

    const mx = at('/mx/')
    expect(mx.method).toBe('PUT')
    expect(mx.path).toMatch(/^\/mx\/_matrix\/client\/v3\/rooms\/!room%3Aexample\.org\/send\/m\.room\.message\/nodepulse-\d+$/)
    expect(mx.headers.authorization).toBe(`Bearer ${MATRIX_TOKEN}`)
    expect(json(mx)).toMatchObject({ msgtype: 'm.text', format: 'org.matrix.custom.html', body: expect.stringContaining(title) })

    expect(json(at('/pd/enqueue'))).toMatchObject({ routing_key: PD_KEY, event_action: 'trigger', dedup_key: expect.stringMatching(/^nodepulse-event-\d+$/), payload: { summary: title, severity: 'warning' } })
  })

  it('e-mails a real event through a real SMTP server: login, From, To, Subject and body', async () => {
    const node = await createAgent()
    expect((await api('DELETE', `/api/v1/nodes/${node.id}`, { auth: await asAdmin() })).status).toBe(204)
    const mail = await smtp.waitFor(`Node ${node.hostname} removed`)
    expect(mail).toMatchObject({ from: 'nodepulse@example.com', to: ['ops@example.com', 'oncall@example.com'], user: 'np-mailer' })
    expect(mail.raw).toMatch(new RegExp(`^Subject: \\[NodePulse\\] Node deleted: ${node.hostname}\\r?$`, 'm'))
    expect(mail.raw).toMatch(/^From: nodepulse@example\.com\r?$/m)
    expect(mail.raw).toMatch(/^To: ops@example\.com, oncall@example\.com\r?$/m)
    await until('the delivery recorded with the SMTP reply code', async () => {
      const res = await api<{ deliveries: DeliveryView[] }>('GET', `/api/v1/webhooks/${channels.email!.id}/deliveries`, { auth: await asAdmin() })
      return res.body.deliveries.some(d => d.state === 'delivered' && d.response_status === 250)
    })
  })

  it('the test button delivers over every type', async () => {
    for (const [type, ch] of Object.entries(channels)) {
      const res = await api<DeliveryView>('POST', `/api/v1/webhooks/${ch.id}/test`, { auth: await asAdmin() })
      expect(res.status, `${type}: ${res.text}`).toBe(200)
      expect(res.body, type).toMatchObject({ event_type: 'webhook_test', state: 'delivered', attempts: 1, error: null })
    }
    await smtp.waitFor('Test notification from NodePulse')
  })

  it('a failing channel records a reason that names no token or password', async () => {
    const telegram = await createChannel('telegram', { settings: { bot_token: TELEGRAM_TOKEN, chat_id: '1', api_url: `${base()}/fail` } })
    const res = await api<DeliveryView>('POST', `/api/v1/webhooks/${telegram.id}/test`, { auth: await asAdmin() })
    expect(res.body).toMatchObject({ state: 'failed', response_status: 500, error: 'receiver answered HTTP 500' })
    const mail = await createChannel('email', { settings: { ...bodies().email!.settings as Record<string, unknown>, password: 'wrong-password' } })
    const refused = await api<DeliveryView>('POST', `/api/v1/webhooks/${mail.id}/test`, { auth: await asAdmin() })
    expect(refused.body).toMatchObject({ state: 'failed', response_status: 535, error: 'the SMTP server refused the user name or password (SMTP 535)' })
    const log = await api('GET', `/api/v1/webhooks/${mail.id}/deliveries`, { auth: await asAdmin() })
    expect(log.text).not.toContain('wrong-password')
  })

  it('retries a Matrix message with the same transaction id, so the homeserver posts it once', async () => {
    let first = true
    const flaky = await startReceiver(() => {
      if (!first) return 200
      first = false
      return 502
    })
    try {
      await createChannel('matrix', { settings: { homeserver_url: flaky.url.replace(/\/hook$/, ''), room_id: '!r:example.org', access_token: MATRIX_TOKEN } })
      const node = await createAgent()
      expect((await api('DELETE', `/api/v1/nodes/${node.id}`, { auth: await asAdmin() })).status).toBe(204)
      const [a, b] = mine(node.hostname)(await flaky.waitFor('the retry', rs => mine(node.hostname)(rs).length >= 2))
      expect(a!.path).toMatch(/\/nodepulse-\d+$/)
      expect(b!.path).toBe(a!.path)
    }
    finally {
      await flaky.close()
    }
  })
})

describe('PagerDuty incidents (own server: stale after 2 s, links on NODEPULSE_PUBLIC_URL)', () => {
  let d: Dedicated
  beforeAll(async () => {
    d = await startDedicated('pd', { NODEPULSE_STALE_AFTER: '2', NODEPULSE_UNREACHABLE_AFTER: '3600', NODEPULSE_PUBLIC_URL: 'https://np.example.com/ops' })
  })
  afterAll(async () => {
    await d?.stop()
  })

  it('triggers on an incident\'s opening, acknowledges and resolves it, all with one dedup_key', async () => {
    const pd = await startReceiver()
    try {
      const res = await d.call<WebhookView>('POST', '/api/v1/webhooks', { json: { type: 'pagerduty', name: 'pd', settings: { routing_key: PD_KEY, events_url: `${pd.url}` } } })
      expect(res.status, res.text).toBe(201)
      const agent = await d.createAgent()
      await d.report(agent, { cpu_percent: 1, disk_percent: 1 })
      const about = (rs: Received[]) => rs.filter(x => x.raw.includes(`${agent.hostname}`) || x.raw.includes('"acknowledge"') || x.raw.includes('"resolve"'))
      const [trigger] = about(await pd.waitFor('the trigger', rs => about(rs).length >= 1, 20_000))
      expect(json(trigger!)).toMatchObject({
        event_action: 'trigger', dedup_key: expect.stringMatching(/^nodepulse-incident-\d+$/),
        payload: { summary: expect.stringContaining(`Node ${agent.hostname} is down`), source: agent.hostname },
        links: [{ href: `https://np.example.com/ops/?node=${agent.id}` }],
      })
      const key = json(trigger!).dedup_key as string
      const incidentId = Number(key.split('-').at(-1))
      expect((await d.call('POST', `/api/v1/incidents/${incidentId}/acknowledge`)).status).toBe(200)
      await pd.waitFor('the acknowledgement', rs => rs.some(x => json(x).event_action === 'acknowledge'))
      expect((await d.call('DELETE', `/api/v1/nodes/${agent.id}`)).status).toBe(204)
      await pd.waitFor('the resolution', rs => rs.some(x => json(x).event_action === 'resolve'))
      const actions = pd.received.map(x => json(x)).filter(b => b.dedup_key === key).map(b => b.event_action)
      expect(actions).toEqual(['trigger', 'acknowledge', 'resolve'])
    }
    finally {
      await pd.close()
    }
  }, 60_000)

  it('a reminder says how long the node has been down now, with a link to its card', async () => {
    const ntfy = await startReceiver()
    try {
      const res = await d.call<WebhookView>('POST', '/api/v1/webhooks', { json: { type: 'ntfy', name: 'ntfy', event_types: ['node_status_update'], repeat_seconds: 1, settings: { server_url: ntfy.url, topic: 'ops' } } })
      expect(res.status, res.text).toBe(201)
      const agent = await d.createAgent()
      await d.report(agent, { cpu_percent: 1, disk_percent: 1 })
      const reminders = (rs: Received[]) => rs.filter(x => x.raw.includes(agent.hostname) && x.raw.includes('Reminder: down for'))
      const [reminder] = reminders(await ntfy.waitFor('a reminder', rs => reminders(rs).length >= 1, 20_000))
      expect(reminder!.raw).toMatch(/^Reminder: down for \d+ s$/m)
      expect(reminder!.headers).toMatchObject({ title: `Node stale: ${agent.hostname}`, click: `https://np.example.com/ops/?node=${agent.id}` })
      expect((await d.call('DELETE', `/api/v1/nodes/${agent.id}`)).status).toBe(204)
    }
    finally {
      await ntfy.close()
    }
  }, 60_000)
})
