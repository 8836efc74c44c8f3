/**
 * Each channel type's native message, built from one `Notice`: what a person reads in Slack,
 * Discord, Teams, Telegram, ntfy, Gotify, Matrix, PagerDuty or an e-mail. Pure functions, so each
 * format is tested without a network.
 */
import type { ChannelSettings } from '../../shared/contracts/channels'
import { describeDuration } from '../../shared/contracts/incidents'
import type { Severity } from '../../shared/contracts/seed002'
import { eventTitle } from '../../utils/eventText'
import type { HttpRequest, WebhookPayload } from './webhookDelivery'
import { isDownEvent } from './webhookDelivery'

/** What every format says: the same facts, each service in its own markup. */
export interface Notice {
  title: string
  severity: Severity
  /** The event's node, linked to its card on the dashboard when NODEPULSE_PUBLIC_URL is set. */
  node: { name: string, url: string | null } | null
  /** What happened: the event's message. */
  what: string
  /** For incident notifications, the incident's change. */
  state: 'opened' | 'acknowledged' | 'resolved' | null
  incidentId: number | null
  /** For reminders: how long the node (or incident) has been down now, "down for 2 h 5 min". */
  downFor: string | null
  eventId: number
  /** ISO time of the event. */
  at: string
  /** The dashboard, when NODEPULSE_PUBLIC_URL is set. */
  dashboardUrl: string | null
}

const STATES = { incident_opened: 'opened', incident_acknowledged: 'acknowledged', incident_resolved: 'resolved' } as const

/** The facts of one delivery's payload; `nodeName` is the node's hostname when the registry still knows it. */
export function describeNotice(payload: WebhookPayload, nodeName: string | null, publicUrl: string | undefined, now = Date.now()): Notice {
  const { event, incident, repeat } = payload
  const state = STATES[event.event_type as keyof typeof STATES] ?? null
  const name = nodeName ?? (typeof event.data.hostname === 'string' ? event.data.hostname : null)
  const nodeUrl = publicUrl && event.node_id !== null ? `${publicUrl}/?node=${event.node_id}` : null
  let title = event.event_type === 'webhook_test' ? 'Test notification from NodePulse' : eventTitle(event) + (name ? `: ${name}` : '')
  if (incident && state) title = `Incident #${incident.id} ${state}: ${incident.title}`
  let downFor: string | null = null
  if (repeat > 0 && incident && state === 'opened') downFor = `${incident.state === 'open' ? 'down for' : 'was down for'} ${describeDuration(incident.duration_seconds)}`
  else if (repeat > 0 && isDownEvent({ type: event.event_type, data: event.data })) downFor = `down for ${describeDuration(Math.max(0, (now - Date.parse(event.created_at)) / 1000))}`
  return {
    title, severity: incident?.severity ?? event.severity, node: name || event.node_id !== null ? { name: name ?? `node ${event.node_id}`, url: nodeUrl } : null,
    what: event.message, state, incidentId: incident?.id ?? null, downFor, eventId: event.id, at: event.created_at, dashboardUrl: publicUrl ?? null,
  }
}

/** The facts after the title, as "Label: value" pairs, in the order every format shows them. */
export function noticeFacts(n: Notice): [string, string][] {
  const facts: [string, string][] = [['Severity', n.severity]]
  if (n.node) facts.push(['Node', n.node.name])
  if (n.state) facts.push(['Incident', `#${n.incidentId} ${n.state}`])
  if (n.downFor) facts.push(['Reminder', n.downFor])
  return facts
}

/** The notice as plain text: title, what happened, the facts, and the node's link. */
export function noticeText(n: Notice): string {
  const lines = [n.title, n.what, ...noticeFacts(n).map(([k, v]) => `${k}: ${v}`)]
  if (n.node?.url) lines.push(n.node.url)
  return lines.join('\n')
}

const json = (url: string, body: unknown, headers: Record<string, string> = {}): HttpRequest =>
  ({ url, method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

const escapeSlack = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const escapeHtml = (s: string) => escapeSlack(s).replace(/"/g, '&quot;')
const plain = (s: string) => s

/** The facts in a markup: values escaped for it, and the node as its link when there is one. */
function markedFacts(n: Notice, escape: (s: string) => string, link: (name: string, url: string) => string): [string, string][] {
  return noticeFacts(n).map(([k, v]) => [k, k === 'Node' && n.node?.url ? link(escape(v), escape(n.node.url)) : escape(v)])
}
const htmlFacts = (n: Notice) => markedFacts(n, escapeHtml, (name, url) => `<a href="${url}">${name}</a>`)

/** Slack incoming webhook: a mrkdwn section (with the node linked) and the plain text as the notification's fallback. */
export function slackRequest(url: string, n: Notice): HttpRequest {
  const facts = markedFacts(n, escapeSlack, (name, url) => `<${url}|${name}>`).map(([k, v]) => `*${k}:* ${v}`)
  return json(url, {
    text: `${n.title}: ${n.what}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: n.title.slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: [escapeSlack(n.what), facts.join('  ·  ')].join('\n') } },
    ],
  })
}

const DISCORD_COLOURS: Record<Severity, number> = { info: 0x3B82F6, success: 0x22C55E, warning: 0xF59E0B, error: 0xEF4444 }

/** Discord webhook: one embed coloured by severity, the facts as inline fields, titled with the node's link. */
export function discordRequest(url: string, n: Notice): HttpRequest {
  return json(url, {
    username: 'NodePulse',
    embeds: [{
      title: n.title.slice(0, 256), description: n.what.slice(0, 4096), color: DISCORD_COLOURS[n.severity], timestamp: n.at,
      ...(n.node?.url ? { url: n.node.url } : {}),
      fields: noticeFacts(n).map(([name, value]) => ({ name, value, inline: true })),
    }],
  })
}

/** Microsoft Teams (Workflows incoming webhook): an Adaptive Card with the facts and a button to the node. */
export function teamsRequest(url: string, n: Notice): HttpRequest {
  const link = n.node?.url ?? n.dashboardUrl
  return json(url, {
    type: 'message',
    attachments: [{
      contentType: 'application/vnd.microsoft.card.adaptive',
      content: {
        $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4',
        body: [
          { type: 'TextBlock', text: n.title, weight: 'Bolder', size: 'Medium', wrap: true, color: n.severity === 'error' ? 'Attention' : n.severity === 'warning' ? 'Warning' : 'Default' },
          { type: 'TextBlock', text: n.what, wrap: true },
          { type: 'FactSet', facts: noticeFacts(n).map(([title, value]) => ({ title, value })) },
        ],
        ...(link ? { actions: [{ type: 'Action.OpenUrl', title: 'Open in NodePulse', url: link }] } : {}),
      },
    }],
  })
}

/** Telegram Bot API sendMessage, in its HTML parse mode; the token is in the path, as the API wants it. */
export function telegramRequest(s: ChannelSettings<'telegram'>, n: Notice): HttpRequest {
  const facts = htmlFacts(n).map(([k, v]) => `${k}: ${v}`)
  return json(`${s.api_url.replace(/\/+$/, '')}/bot${s.bot_token}/sendMessage`, {
    chat_id: s.chat_id, parse_mode: 'HTML', disable_web_page_preview: true,
    text: [`<b>${escapeHtml(n.title)}</b>`, escapeHtml(n.what), ...facts].join('\n'),
  })
}

/** ntfy's priorities (1 min … 5 max) and tags (shown as emoji) by severity. */
const NTFY: Record<Severity, { priority: string, tags: string }> = {
  info: { priority: '3', tags: 'information_source' }, success: { priority: '2', tags: 'white_check_mark' },
  warning: { priority: '4', tags: 'warning' }, error: { priority: '5', tags: 'rotating_light' },
}

/** A header value as ntfy reads it: RFC 2047 encoded when it is not plain ASCII (Node refuses other bytes in headers). */
const headerText = (s: string) => (/^[\x20-\x7E]*$/.test(s) ? s : `=?UTF-8?B?${Buffer.from(s).toString('base64')}?=`)

/** ntfy: the text as the body of a POST to the topic, with title, priority, tags and click headers. */
export function ntfyRequest(s: ChannelSettings<'ntfy'>, n: Notice): HttpRequest {
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8', 'title': headerText(n.title), 'priority': NTFY[n.severity].priority, 'tags': `${NTFY[n.severity].tags},nodepulse` }
  if (n.node?.url) headers.click = n.node.url
  if (s.token) headers.authorization = `Bearer ${s.token}`
  const facts = noticeFacts(n).filter(([k]) => k !== 'Severity').map(([k, v]) => `${k}: ${v}`)
  return { url: `${s.server_url.replace(/\/+$/, '')}/${s.topic}`, method: 'POST', headers, body: [n.what, ...facts].join('\n') }
}

const GOTIFY_PRIORITY: Record<Severity, number> = { info: 2, success: 2, warning: 5, error: 8 }

/** Gotify: POST /message with the app token in its header (not the query, which proxies log), markdown text and a click URL. */
export function gotifyRequest(s: ChannelSettings<'gotify'>, n: Notice): HttpRequest {
  const facts = markedFacts(n, plain, (name, url) => `[${name}](${url})`).map(([k, v]) => `**${k}:** ${v}`)
  return json(`${s.server_url.replace(/\/+$/, '')}/message`, {
    title: n.title, message: [n.what, '', ...facts].join('  \n'), priority: GOTIFY_PRIORITY[n.severity],
    extras: { 'client::display': { contentType: 'text/markdown' }, ...(n.node?.url ? { 'client::notification': { click: { url: n.node.url } } } : {}) },
  }, { 'x-gotify-key': s.token })
}

/**
 * Matrix client-server API: PUT an m.room.message with a transaction id. The id is the delivery's,
 * so every retry of one delivery is the same transaction and the homeserver posts it once.
 */
export function matrixRequest(s: ChannelSettings<'matrix'>, n: Notice, deliveryId: number): HttpRequest {
  const facts = htmlFacts(n).map(([k, v]) => `${k}: ${v}`)
  const path = `/_matrix/client/v3/rooms/${encodeURIComponent(s.room_id)}/send/m.room.message/nodepulse-${deliveryId}`
  return {
    url: s.homeserver_url.replace(/\/+$/, '') + path, method: 'PUT',
    headers: { 'content-type': 'application/json', 'authorization': `Bearer ${s.access_token}` },
    body: JSON.stringify({
      msgtype: 'm.text', body: noticeText(n), format: 'org.matrix.custom.html',
      formatted_body: [`<strong>${escapeHtml(n.title)}</strong>`, escapeHtml(n.what), ...facts].join('<br>'),
    }),
  }
}

const PD_SEVERITY: Record<Severity, string> = { info: 'info', success: 'info', warning: 'warning', error: 'error' }
const PD_ACTION = { opened: 'trigger', acknowledged: 'acknowledge', resolved: 'resolve' } as const

/**
 * PagerDuty Events API v2. An incident's opening triggers, its acknowledgement acknowledges and its
 * resolution resolves, all with one dedup_key per incident, so the three land on one PagerDuty
 * incident (and reminders re-trigger it, which PagerDuty folds in). Other events trigger alone.
 */
export function pagerdutyRequest(s: ChannelSettings<'pagerduty'>, n: Notice, deliveryId: number): HttpRequest {
  const action = n.state ? PD_ACTION[n.state] : 'trigger'
  let dedupKey = `nodepulse-event-${n.eventId}`
  if (n.incidentId !== null) dedupKey = `nodepulse-incident-${n.incidentId}`
  else if (n.eventId === 0) dedupKey = `nodepulse-test-${deliveryId}`
  const body: Record<string, unknown> = { routing_key: s.routing_key, event_action: action, dedup_key: dedupKey }
  if (action === 'trigger') {
    body.payload = {
      summary: n.title.slice(0, 1024), source: n.node?.name ?? 'NodePulse', severity: PD_SEVERITY[n.severity], timestamp: n.at,
      component: n.node?.name, custom_details: Object.fromEntries([['what', n.what], ...noticeFacts(n)]),
    }
    if (n.node?.url) body.links = [{ href: n.node.url, text: `${n.node.name} in NodePulse` }]
  }
  return json(s.events_url, body)
}

/** The e-mail: "[NodePulse] <title>" with the text, and an HTML part linking the node. */
export function emailMessage(s: ChannelSettings<'email'>, n: Notice): { from: string, to: string[], subject: string, text: string, html: string } {
  const rows = htmlFacts(n).map(([k, v]) => `<tr><th align="left">${k}</th><td>${v}</td></tr>`)
  return {
    from: s.from, to: s.to, subject: `[NodePulse] ${n.title}`, text: noticeText(n),
    html: `<h2>${escapeHtml(n.title)}</h2><p>${escapeHtml(n.what)}</p><table>${rows.join('')}</table>`,
  }
}
