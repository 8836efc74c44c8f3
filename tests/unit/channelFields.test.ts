import { describe, expect, it } from 'vitest'
import { CHANNEL_SETTINGS, CHANNEL_TYPES, SECRET_SETTINGS, type ChannelType } from '../../shared/contracts/channels'
import { updateWebhookBody, type WebhookView } from '../../shared/contracts/rest'
import { CHANNEL_FIELDS, channelChanges, channelFormValues, channelValues } from '../../utils/channelFields'

/** A stored channel as the API shows it to an admin: settings with their defaults, secrets left out. */
function view(type: ChannelType, settings: Record<string, unknown> | null, url: string | null = null): WebhookView {
  return {
    id: 1, name: 'c', type, url, settings, secrets_set: [], labels: '', event_types: [], min_severity: 'warning',
    repeat_seconds: 0, enabled: true, created_at: '2026-12-02T00:00:00.000Z', last_delivery: null,
  }
}

const isSecret = (key: string) => (SECRET_SETTINGS as readonly string[]).includes(key)
const withoutSecrets = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([k]) => !isSecret(k)))

/** Every type's settings as the server stores them, from the add form's values. */
const STORED: Record<ChannelType, Record<string, string>> = {
  webhook: { url: 'https://a.example/h' }, slack: { url: 'https://hooks.slack.com/x' }, discord: { url: 'https://discord.com/api/webhooks/1' },
  teams: { url: 'https://t.logic.azure.com/w' }, telegram: { bot_token: '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ', chat_id: '-100' }, ntfy: { topic: 'alerts', token: 'tk' },
  gotify: { server_url: 'https://g.example', token: 'gt' }, matrix: { homeserver_url: 'https://m.example', room_id: '!r:m', access_token: 'at' },
  pagerduty: { routing_key: 'R0123456789abcdef0123456789abcde' }, email: { host: 'smtp.example', from: 'np@example.com', to: 'a@example.com, b@example.com', user: 'np', password: 'pw' },
}

function stored(type: ChannelType): WebhookView {
  const body = channelValues(type, STORED[type])
  if (body.url !== undefined) return view(type, null, body.url)
  return view(type, withoutSecrets(CHANNEL_SETTINGS[type].parse(body.settings) as Record<string, unknown>))
}

describe('the channel edit form', () => {
  it.each(CHANNEL_TYPES)('%s: shows the stored values without secrets, and saving them unchanged changes nothing but keeps the secrets', (type) => {
    const channel = stored(type)
    const values = channelFormValues(channel)
    for (const f of CHANNEL_FIELDS[type].filter(f => f.kind === 'secret')) expect(values[f.key]).toBeUndefined()
    const changes = channelChanges(type, values)
    // The PATCH body is one the API takes.
    expect(updateWebhookBody.safeParse({ name: 'c', ...changes }).success).toBe(true)
    if (channel.url !== null) {
      expect(changes).toEqual({ url: channel.url })
      return
    }
    // Every stored setting comes back as it was; no secret is sent, so each is kept.
    const merged = CHANNEL_SETTINGS[type].safeParse({ ...Object.fromEntries(SECRET_SETTINGS.map(k => [k, STORED[type][k]]).filter(([, v]) => v)), ...Object.fromEntries(Object.entries(changes.settings!).filter(([, v]) => v !== null)) })
    expect(merged.success).toBe(true)
    expect(withoutSecrets(merged.data as Record<string, unknown>)).toEqual(channel.settings)
    for (const key of SECRET_SETTINGS) expect(changes.settings).not.toHaveProperty(key)
  })

  it('sends a secret only when one is typed, empties an optional field back to its default, and converts ports and lists', () => {
    expect(channelChanges('ntfy', { server_url: '', topic: 't', token: '' })).toEqual({ settings: { server_url: null, topic: 't' } })
    expect(channelChanges('ntfy', { server_url: 'https://n.example', topic: 't', token: ' tk2 ' })).toEqual({ settings: { server_url: 'https://n.example', topic: 't', token: 'tk2' } })
    expect(channelChanges('email', { host: 'h', port: '465', tls: 'tls', user: '', from: 'f@e', to: 'a@e;b@e c@e' }).settings)
      .toEqual({ host: 'h', port: 465, tls: 'tls', user: null, from: 'f@e', to: ['a@e', 'b@e', 'c@e'] })
    // A required field emptied is sent empty, so the server names it.
    expect(channelChanges('telegram', { chat_id: '' }).settings).toEqual({ chat_id: '', api_url: null })
  })

  it('shows a list as one line and a port as text', () => {
    expect(channelFormValues(view('email', { host: 'h', port: 587, tls: 'starttls', from: 'f@e', to: ['a@e', 'b@e'] })))
      .toEqual({ host: 'h', port: '587', tls: 'starttls', from: 'f@e', to: 'a@e, b@e' })
  })
})
