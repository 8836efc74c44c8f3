import { CHANNEL_LABELS, type ChannelType } from '../shared/contracts/channels'
import type { WebhookView } from '../shared/contracts/rest'
import type { IconName } from './icons'

/** One input of a channel type's part of the add form. */
export interface ChannelField {
  /** The body field: `url`, or a key of `settings`. */
  key: string
  label: string
  kind: 'text' | 'url' | 'secret' | 'number' | 'tls' | 'list'
  required: boolean
  placeholder?: string
  hint?: string
}

const url = (label: string, placeholder: string, hint?: string): ChannelField => ({ key: 'url', label, kind: 'url', required: true, placeholder, hint })

/** Each type's fields, in the order the form asks for them; optional ones show their default as a placeholder. */
export const CHANNEL_FIELDS: Record<ChannelType, ChannelField[]> = {
  webhook: [url('URL', 'https://alerts.example.com/hook', 'Gets each event as JSON signed with a secret shown once.')],
  slack: [url('Incoming webhook URL', 'https://hooks.slack.com/services/…')],
  discord: [url('Webhook URL', 'https://discord.com/api/webhooks/…')],
  teams: [url('Workflow webhook URL', 'https://….logic.azure.com/workflows/…', 'From a Teams workflow "Post to a channel when a webhook request is received".')],
  telegram: [
    { key: 'bot_token', label: 'Bot token', kind: 'secret', required: true, placeholder: '123456:ABC-DEF…' },
    { key: 'chat_id', label: 'Chat id', kind: 'text', required: true, placeholder: '-1001234567890 or @channel' },
    { key: 'api_url', label: 'Bot API URL', kind: 'url', required: false, placeholder: 'https://api.telegram.org' },
  ],
  ntfy: [
    { key: 'server_url', label: 'Server URL', kind: 'url', required: false, placeholder: 'https://ntfy.sh' },
    { key: 'topic', label: 'Topic', kind: 'text', required: true, placeholder: 'nodepulse-alerts' },
    { key: 'token', label: 'Access token', kind: 'secret', required: false, placeholder: 'tk_… (optional)' },
  ],
  gotify: [
    { key: 'server_url', label: 'Server URL', kind: 'url', required: true, placeholder: 'https://gotify.example.com' },
    { key: 'token', label: 'Application token', kind: 'secret', required: true },
  ],
  matrix: [
    { key: 'homeserver_url', label: 'Homeserver URL', kind: 'url', required: true, placeholder: 'https://matrix.example.org' },
    { key: 'room_id', label: 'Room id', kind: 'text', required: true, placeholder: '!abc123:example.org' },
    { key: 'access_token', label: 'Access token', kind: 'secret', required: true },
  ],
  pagerduty: [
    { key: 'routing_key', label: 'Integration key', kind: 'secret', required: true, hint: 'Of an Events API v2 integration: incidents trigger, acknowledge and resolve one PagerDuty incident.' },
    { key: 'events_url', label: 'Events API URL', kind: 'url', required: false, placeholder: 'https://events.pagerduty.com/v2/enqueue' },
  ],
  email: [
    { key: 'host', label: 'SMTP host', kind: 'text', required: true, placeholder: 'smtp.example.com' },
    { key: 'port', label: 'Port', kind: 'number', required: false, placeholder: '587' },
    { key: 'tls', label: 'TLS', kind: 'tls', required: false },
    { key: 'user', label: 'User', kind: 'text', required: false, placeholder: '(optional)' },
    { key: 'password', label: 'Password', kind: 'secret', required: false, placeholder: '(optional)' },
    { key: 'from', label: 'From', kind: 'text', required: true, placeholder: 'nodepulse@example.com' },
    { key: 'to', label: 'To', kind: 'list', required: true, placeholder: 'ops@example.com, oncall@example.com' },
  ],
}

/** The API's name of a field's value: `url`, or `settings.<key>`. */
export const fieldPath = (f: ChannelField) => (f.key === 'url' ? 'url' : `settings.${f.key}`)

/**
 * The form's text values as the body's `url` and `settings`: empty optional fields left out (the
 * server fills their defaults), a port as a number, a recipient list split at commas and spaces.
 */
export function channelValues(type: ChannelType, values: Record<string, string>): { url?: string, settings?: Record<string, unknown> } {
  const settings: Record<string, unknown> = {}
  let target: string | undefined
  for (const f of CHANNEL_FIELDS[type]) {
    const raw = (values[f.key] ?? '').trim()
    if (f.key === 'url') target = raw
    else if (raw || f.required) settings[f.key] = f.kind === 'number' ? Number(raw) : f.kind === 'list' ? raw.split(/[\s,;]+/).filter(Boolean) : raw
  }
  return target === undefined ? { settings } : { url: target }
}

/** A stored channel's values as the form's text (its URL, or its settings without the secrets, which are never shown). */
export function channelFormValues(w: WebhookView): Record<string, string> {
  const values: Record<string, string> = {}
  for (const f of CHANNEL_FIELDS[w.type]) {
    const stored = f.key === 'url' ? w.url : w.settings?.[f.key]
    if (f.kind === 'secret' || stored === undefined || stored === null) continue
    values[f.key] = Array.isArray(stored) ? stored.join(', ') : String(stored)
  }
  return values
}

/**
 * The edit form's text values as a PATCH's `url` or `settings`: a secret left blank is kept (left
 * out) unless it is in `removed` (null), an optional field emptied goes back to its default (null),
 * the rest as the add form sends them.
 */
export function channelChanges(type: ChannelType, values: Record<string, string>, removed: string[] = []): { url?: string, settings?: Record<string, unknown> } {
  const settings: Record<string, unknown> = {}
  for (const f of CHANNEL_FIELDS[type]) {
    const raw = (values[f.key] ?? '').trim()
    if (f.key === 'url') return { url: raw }
    if (f.kind === 'secret' && removed.includes(f.key)) settings[f.key] = null
    if (f.kind === 'secret' && !raw) continue
    settings[f.key] = !raw && !f.required ? null : f.kind === 'number' ? Number(raw) : f.kind === 'list' ? raw.split(/[\s,;]+/).filter(Boolean) : raw
  }
  return { settings }
}

/** Each type's icon in the list and the form. */
export const CHANNEL_ICONS: Record<ChannelType, IconName> = {
  webhook: 'webhook', slack: 'chat', discord: 'chat', teams: 'chat', telegram: 'send', matrix: 'chat',
  ntfy: 'bell', gotify: 'bell', pagerduty: 'siren', email: 'mail',
}

/** The settings that say where a type's messages go, for the list (never a secret). */
const TARGET_KEYS: Record<ChannelType, string[]> = {
  webhook: [], slack: [], discord: [], teams: [], telegram: ['chat_id'], ntfy: ['server_url', 'topic'], gotify: ['server_url'],
  matrix: ['room_id', 'homeserver_url'], pagerduty: ['events_url'], email: ['to', 'host'],
}

/** Where a channel sends, in one line: its URL, or its settings' receiver (viewers, who see no settings, get the type only). */
export function channelTarget(w: WebhookView): string {
  if (w.url) return w.url
  const parts = TARGET_KEYS[w.type].map(k => w.settings?.[k]).filter(v => v !== undefined).map(v => (Array.isArray(v) ? v.join(', ') : String(v)))
  return parts.length ? parts.join(' · ') : CHANNEL_LABELS[w.type]
}
