import { describe, expect, it } from 'vitest'
import { CHANNEL_SETTINGS, matchesLabels, parseLabelSelector } from '../../shared/contracts/channels'
import type { IncidentView } from '../../shared/contracts/incidents'
import type { EventView } from '../../shared/contracts/seed002'
import {
  describeNotice, discordRequest, emailMessage, gotifyRequest, matrixRequest, noticeText, ntfyRequest, pagerdutyRequest, slackRequest, teamsRequest, telegramRequest,
} from '../../server/services/channelFormats'
import { describeSmtpError } from '../../server/services/channelSend'
import { backoffMs, matchesWebhook, type WebhookPayload } from '../../server/services/webhookDelivery'
import { mergeSettings } from '../../server/services/webhooks'

const T0 = Date.parse('2026-12-01T10:00:00Z')

function event(over: Partial<EventView> = {}): EventView {
  return {
    id: 41, event_type: 'node_status_update', severity: 'error', node_id: 7, cluster_id: null, resource_type: 'node',
    message: 'Node db-1 is stale: no report for 3 min', data: { status: 'stale', hostname: 'db-1' },
    timestamp: T0 / 1000, created_at: new Date(T0).toISOString(), acknowledged_at: null, acknowledged_by: null, incident_id: null, ...over,
  }
}

function incident(over: Partial<IncidentView> = {}): IncidentView {
  return {
    id: 12, kind: 'node', node_id: 7, cluster_id: null, severity: 'error', title: 'Node db-1 is down', state: 'open', opened_at: new Date(T0).toISOString(),
    resolved_at: null, acknowledged_at: null, acknowledged_by: null, duration_seconds: 4320, event_count: 2, last_event_at: new Date(T0).toISOString(), silenced_by: null, ...over,
  }
}

const payload = (e: EventView, over: Partial<WebhookPayload> = {}): WebhookPayload => ({ webhook: { id: 1, name: 'ops' }, event: e, repeat: 0, ...over })
const PUBLIC = 'https://np.example.com/base'
const stale = describeNotice(payload(event()), 'db-1', PUBLIC, T0)
const opened = describeNotice(payload(event({ id: 50, event_type: 'incident_opened', incident_id: 12, message: 'Incident #12 opened: Node db-1 is down' }), { incident: incident() }), 'db-1', PUBLIC, T0)
const body = (r: { body: string }) => JSON.parse(r.body) as Record<string, unknown>

describe('the notice every format is built from', () => {
  it('has title, severity, the node linked to ?node= on NODEPULSE_PUBLIC_URL, and what happened', () => {
    expect(stale).toMatchObject({
      title: 'Node stale: db-1', severity: 'error', node: { name: 'db-1', url: 'https://np.example.com/base/?node=7' },
      what: 'Node db-1 is stale: no report for 3 min', state: null, downFor: null,
    })
    expect(describeNotice(payload(event()), null, undefined, T0).node).toEqual({ name: 'db-1', url: null })
  })

  it('says an incident\'s state, and a reminder says how long it has been down now', () => {
    expect(opened).toMatchObject({ title: 'Incident #12 opened: Node db-1 is down', state: 'opened', incidentId: 12, downFor: null })
    const reminder = describeNotice(payload(event({ event_type: 'incident_opened', incident_id: 12 }), { incident: incident(), repeat: 3 }), 'db-1', PUBLIC, T0)
    expect(reminder.downFor).toBe('down for 1 h 12 min')
    const stillStale = describeNotice(payload(event(), { repeat: 2 }), 'db-1', PUBLIC, T0 + 2 * 3_600_000 + 5 * 60_000)
    expect(stillStale.downFor).toBe('down for 2 h 5 min')
    expect(noticeText(stillStale)).toContain('Reminder: down for 2 h 5 min')
  })
})

describe('native formats', () => {
  it('Slack: mrkdwn with the node as <url|name>, escaped text, and a plain fallback', () => {
    const r = slackRequest('https://hooks.slack.com/services/T/B/x', describeNotice(payload(event({ message: 'a <b> & c' })), 'db-1', PUBLIC, T0))
    expect(r).toMatchObject({ url: 'https://hooks.slack.com/services/T/B/x', method: 'POST', headers: { 'content-type': 'application/json' } })
    const b = body(r) as { text: string, blocks: { type: string, text: { text: string } }[] }
    expect(b.text).toBe('Node stale: db-1: a <b> & c')
    expect(b.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Node stale: db-1' } })
    expect(b.blocks[1]!.text.text).toBe('a &lt;b&gt; &amp; c\n*Severity:* error  ·  *Node:* <https://np.example.com/base/?node=7|db-1>')
  })

  it('Discord: one embed coloured by severity with inline fields and the node\'s link', () => {
    const b = body(discordRequest('https://discord.com/api/webhooks/1/x', opened)) as { embeds: Record<string, unknown>[] }
    expect(b.embeds[0]).toEqual({
      title: 'Incident #12 opened: Node db-1 is down', description: 'Incident #12 opened: Node db-1 is down', color: 0xEF4444, timestamp: new Date(T0).toISOString(),
      url: 'https://np.example.com/base/?node=7',
      fields: [{ name: 'Severity', value: 'error', inline: true }, { name: 'Node', value: 'db-1', inline: true }, { name: 'Incident', value: '#12 opened', inline: true }],
    })
  })

  it('Teams: an Adaptive Card message with facts and a button to the node', () => {
    const b = body(teamsRequest('https://x.logic.azure.com/w', stale)) as { type: string, attachments: { contentType: string, content: Record<string, unknown> }[] }
    expect(b.type).toBe('message')
    expect(b.attachments[0]!.contentType).toBe('application/vnd.microsoft.card.adaptive')
    expect(b.attachments[0]!.content).toMatchObject({
      type: 'AdaptiveCard', version: '1.4',
      body: [{ text: 'Node stale: db-1', color: 'Attention' }, { text: stale.what }, { type: 'FactSet', facts: [{ title: 'Severity', value: 'error' }, { title: 'Node', value: 'db-1' }] }],
      actions: [{ type: 'Action.OpenUrl', url: 'https://np.example.com/base/?node=7' }],
    })
  })

  it('Telegram: sendMessage on /bot<token>/ of the API URL, HTML escaped', () => {
    const s = CHANNEL_SETTINGS.telegram.parse({ bot_token: '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ', chat_id: '-100200' })
    expect(s.api_url).toBe('https://api.telegram.org')
    const r = telegramRequest({ ...s, api_url: 'http://127.0.0.1:9/' }, describeNotice(payload(event({ message: 'x < y' })), 'db-1', PUBLIC, T0))
    expect(r.url).toBe('http://127.0.0.1:9/bot123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ/sendMessage')
    expect(body(r)).toEqual({
      chat_id: '-100200', parse_mode: 'HTML', disable_web_page_preview: true,
      text: '<b>Node stale: db-1</b>\nx &lt; y\nSeverity: error\nNode: <a href="https://np.example.com/base/?node=7">db-1</a>',
    })
  })

  it('ntfy: the text POSTed to the topic with title, priority, tags, click and the token as bearer', () => {
    const r = ntfyRequest({ server_url: 'https://ntfy.example.com/', topic: 'ops', token: 'tk_1' }, stale)
    expect(r).toMatchObject({ url: 'https://ntfy.example.com/ops', method: 'POST', body: 'Node db-1 is stale: no report for 3 min\nNode: db-1' })
    expect(r.headers).toMatchObject({ title: 'Node stale: db-1', priority: '5', tags: 'rotating_light,nodepulse', click: 'https://np.example.com/base/?node=7', authorization: 'Bearer tk_1' })
    const unicode = ntfyRequest({ server_url: 'https://ntfy.sh', topic: 'ops' }, { ...stale, title: 'Nœud ✓' })
    expect(unicode.headers.title).toBe(`=?UTF-8?B?${Buffer.from('Nœud ✓').toString('base64')}?=`)
    expect(unicode.headers).not.toHaveProperty('authorization')
  })

  it('Gotify: /message with the token in X-Gotify-Key, priority by severity, markdown and a click URL', () => {
    const r = gotifyRequest({ server_url: 'https://gotify.example.com', token: 'Aabc' }, stale)
    expect(r.url).toBe('https://gotify.example.com/message')
    expect(r.headers['x-gotify-key']).toBe('Aabc')
    expect(body(r)).toEqual({
      title: 'Node stale: db-1', priority: 8,
      message: 'Node db-1 is stale: no report for 3 min  \n  \n**Severity:** error  \n**Node:** [db-1](https://np.example.com/base/?node=7)',
      extras: { 'client::display': { contentType: 'text/markdown' }, 'client::notification': { click: { url: 'https://np.example.com/base/?node=7' } } },
    })
  })

  it('Matrix: PUT to the room\'s send path with a transaction id that is the delivery\'s', () => {
    const s = { homeserver_url: 'https://matrix.example.org', room_id: '!room:example.org', access_token: 'syt_x' }
    const r = matrixRequest(s, stale, 99)
    expect(r.method).toBe('PUT')
    expect(r.url).toBe('https://matrix.example.org/_matrix/client/v3/rooms/!room%3Aexample.org/send/m.room.message/nodepulse-99')
    expect(r.headers.authorization).toBe('Bearer syt_x')
    expect(body(r)).toMatchObject({ msgtype: 'm.text', body: noticeText(stale), format: 'org.matrix.custom.html' })
    expect(matrixRequest(s, opened, 99).url).toBe(r.url)
  })

  it('PagerDuty: trigger, acknowledge and resolve of one incident share its dedup_key', () => {
    const s = CHANNEL_SETTINGS.pagerduty.parse({ routing_key: 'R0123456789abcdef0123456789abcdef' })
    expect(s.events_url).toBe('https://events.pagerduty.com/v2/enqueue')
    const trigger = body(pagerdutyRequest(s, opened, 5))
    expect(trigger).toMatchObject({
      routing_key: s.routing_key, event_action: 'trigger', dedup_key: 'nodepulse-incident-12',
      payload: { summary: 'Incident #12 opened: Node db-1 is down', source: 'db-1', severity: 'error', timestamp: new Date(T0).toISOString() },
      links: [{ href: 'https://np.example.com/base/?node=7' }],
    })
    for (const state of ['acknowledged', 'resolved'] as const) {
      expect(body(pagerdutyRequest(s, { ...opened, state }, 6))).toEqual({ routing_key: s.routing_key, event_action: state === 'resolved' ? 'resolve' : 'acknowledge', dedup_key: 'nodepulse-incident-12' })
    }
    expect(body(pagerdutyRequest(s, stale, 7))).toMatchObject({ event_action: 'trigger', dedup_key: 'nodepulse-event-41' })
  })

  it('e-mail: "[NodePulse] <title>" from and to the settings, text and HTML with the node linked', () => {
    const s = CHANNEL_SETTINGS.email.parse({ host: 'smtp.example.com', from: 'np@example.com', to: ['ops@example.com'] })
    expect(s).toMatchObject({ port: 587, tls: 'starttls' })
    const m = emailMessage(s, stale)
    expect(m).toMatchObject({ from: 'np@example.com', to: ['ops@example.com'], subject: '[NodePulse] Node stale: db-1', text: noticeText(stale) })
    expect(m.html).toContain('<a href="https://np.example.com/base/?node=7">db-1</a>')
  })
})

describe('channel settings, label selectors and the retry span', () => {
  it('says which setting is missing or wrong, per type', () => {
    const issues = (type: keyof typeof CHANNEL_SETTINGS, s: unknown) => CHANNEL_SETTINGS[type].safeParse(s).error?.issues.map(i => i.path.join('.'))
    expect(issues('telegram', { chat_id: '1' })).toEqual(['bot_token'])
    expect(issues('matrix', { homeserver_url: 'ftp://x', room_id: 'room', access_token: 't' })).toEqual(['homeserver_url', 'room_id'])
    expect(issues('email', { host: 'h', from: 'me', to: [] })).toEqual(['from', 'to'])
    expect(issues('email', { host: 'h', from: 'np@example.com', to: ['ops@example.com'], password: 'p' })).toEqual(['user'])
    expect(issues('ntfy', { server_url: 'https://u:p@ntfy.sh', topic: 'ok' })).toEqual(['server_url'])
  })

  it('merges a PATCH into stored settings: left-out secrets stay, null removes, the result is checked (422 naming settings.<field>)', () => {
    const stored = { server_url: 'https://ntfy.sh', topic: 'a', token: 'tk' }
    expect(mergeSettings('ntfy', stored, { topic: 'b' })).toEqual({ server_url: 'https://ntfy.sh', topic: 'b', token: 'tk' })
    expect(mergeSettings('ntfy', stored, { token: null })).toEqual({ server_url: 'https://ntfy.sh', topic: 'a' })
    expect(() => mergeSettings('ntfy', stored, { topic: 'no spaces' })).toThrow(expect.objectContaining({ statusCode: 422, message: expect.stringContaining('settings.topic') }))
  })

  it('parses label selectors and matches a node\'s labels (all terms; empty matches every node)', () => {
    expect(parseLabelSelector(' cluster=prod , role ')).toEqual([{ name: 'cluster', value: 'prod' }, { name: 'role', value: null }])
    expect(parseLabelSelector('bad name=x')).toMatch(/not a label name/)
    const terms = parseLabelSelector('cluster=prod,role') as Exclude<ReturnType<typeof parseLabelSelector>, string>
    expect(matchesLabels(terms, { cluster: 'prod', role: 'db' })).toBe(true)
    expect(matchesLabels(terms, { cluster: 'dev', role: 'db' })).toBe(false)
    expect(matchesLabels(terms, { cluster: 'prod' })).toBe(false)
    expect(matchesLabels(terms, null)).toBe(false)
    expect(matchesLabels([], null)).toBe(true)
    // A label named like an object's inherited property matches only a node that has it.
    for (const name of ['constructor', 'toString', '__proto__']) {
      expect(matchesLabels([{ name, value: null }], { cluster: 'prod' })).toBe(false)
      expect(matchesLabels([{ name, value: null }], Object.fromEntries([[name, 'x']]))).toBe(true)
    }
    const hook = { eventTypes: ['node_removed'], minSeverity: 'info' as const, labelSelector: 'cluster=prod' }
    expect(matchesWebhook(hook, { type: 'node_removed', severity: 'warning' }, { cluster: 'prod' })).toBe(true)
    expect(matchesWebhook(hook, { type: 'node_removed', severity: 'warning' }, { cluster: 'dev' })).toBe(false)
  })

  it('by default retries for at least an hour, never more than 5 min apart', () => {
    // The dispatcher's rule: an attempt that fails an hour after queueing is the last.
    const times = [0]
    while (times.at(-1)! < 3_600_000) times.push(times.at(-1)! + backoffMs(times.length))
    expect(times.at(-1)).toBeGreaterThanOrEqual(3_600_000)
    expect(Math.max(...times.slice(1).map((t, i) => t - times[i]!))).toBe(300_000)
    expect(times.length).toBe(21)
  })

  it('says why an SMTP send failed from codes only, never the server\'s text', () => {
    expect(describeSmtpError({ code: 'EAUTH', responseCode: 535, message: '535 user secret-pw rejected' })).toBe('the SMTP server refused the user name or password (SMTP 535)')
    expect(describeSmtpError({ code: 'ESOCKET', originalCode: 'ECONNREFUSED', message: 'connect ECONNREFUSED 10.0.0.1:25' })).toBe('could not connect: connection refused')
    expect(describeSmtpError({ code: 'EENVELOPE', responseCode: 550 })).toBe('the SMTP server refused the sender or a recipient (SMTP 550)')
  })
})
