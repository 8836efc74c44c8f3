import { describe, expect, it } from 'vitest'
import { mergeSettings } from '../../server/services/webhooks'
import { CHANNEL_SETTINGS, CHANNEL_TYPES, SECRET_SETTINGS, type ChannelType } from '../../shared/contracts/channels'
import { updateWebhookBody, type WebhookView } from '../../shared/contracts/rest'
import { CHANNEL_FIELDS, channelChanges, channelFormValues, channelValues } from '../../utils/channelFields'

const isSecret = (key: string) => (SECRET_SETTINGS as readonly string[]).includes(key)
const withoutSecrets = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([k]) => !isSecret(k)))

/** Every type's settings as the add form takes them. */
const TYPED: Record<ChannelType, Record<string, string>> = {
  webhook: { url: 'https://a.example/h' }, slack: { url: 'https://hooks.slack.com/x' }, discord: { url: 'https://discord.com/api/webhooks/1' },
  teams: { url: 'https://t.logic.azure.com/w' }, telegram: { bot_token: '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ', chat_id: '-100' }, ntfy: { topic: 'alerts', token: 'tk' },
  gotify: { server_url: 'https://g.example', token: 'gt' }, matrix: { homeserver_url: 'https://m.example', room_id: '!r:m', access_token: 'at' },
  pagerduty: { routing_key: 'R0123456789abcdef0123456789abcde' },
  email: { host: 'smtp.example', from: 'np@example.com', to: 'a@example.com, b@example.com', user: 'np', password: 'pw' },
}

/** A channel as stored (defaults filled, secrets included) and as the API shows it to an admin (secrets left out). */
function stored(type: ChannelType): { settings: Record<string, unknown> | null, view: WebhookView } {
  const body = channelValues(type, TYPED[type])
  const settings = body.url === undefined ? CHANNEL_SETTINGS[type].parse(body.settings) as Record<string, unknown> : null
  return {
    settings,
    view: {
      id: 1, name: 'c', type, url: body.url ?? null, settings: settings && withoutSecrets(settings), secrets_set: Object.keys(settings ?? {}).filter(isSecret),
      labels: '', event_types: [], min_severity: 'warning', repeat_seconds: 0, enabled: true, created_at: '2026-12-02T00:00:00.000Z', last_delivery: null,
    },
  }
}

describe('the channel edit form', () => {
  it.each(CHANNEL_TYPES)('%s: shows the stored values but no secret, and saving them unchanged leaves the stored settings as they were', (type) => {
    const { settings, view } = stored(type)
    // Even were a secret in the view's settings, the form would not show it.
    const values = channelFormValues({ ...view, settings })
    for (const f of CHANNEL_FIELDS[type].filter(f => f.kind === 'secret')) expect(values[f.key]).toBeUndefined()
    const changes = channelChanges(type, values)
    expect(updateWebhookBody.safeParse({ name: 'c', ...changes }).success).toBe(true)
    if (settings === null) {
      expect(changes).toEqual({ url: view.url })
      return
    }
    // The server's own merge: every setting, secrets included, comes back as stored.
    expect(mergeSettings(type, settings, changes.settings!)).toEqual(settings)
  })

  it('sends a secret only when one is typed or it is removed, empties an optional field back to its default, and converts ports and lists', () => {
    expect(channelChanges('ntfy', { server_url: '', topic: 't', token: '' })).toEqual({ settings: { server_url: null, topic: 't' } })
    expect(channelChanges('ntfy', { server_url: 'https://n.example', topic: 't', token: ' tk2 ' })).toEqual({ settings: { server_url: 'https://n.example', topic: 't', token: 'tk2' } })
    expect(channelChanges('ntfy', { topic: 't' }, ['token'])).toEqual({ settings: { server_url: null, topic: 't', token: null } })
    expect(channelChanges('email', { host: 'h', port: '465', tls: 'tls', user: '', from: 'f@e', to: 'a@e;b@e c@e' }).settings)
      .toEqual({ host: 'h', port: 465, tls: 'tls', user: null, from: 'f@e', to: ['a@e', 'b@e', 'c@e'] })
    // A required field emptied is sent empty, so the server names it.
    expect(channelChanges('telegram', { chat_id: '' }).settings).toEqual({ chat_id: '', api_url: null })
  })

  it('turns an SMTP channel into an unauthenticated relay: user emptied and password removed', () => {
    const { settings, view } = stored('email')
    const values = { ...channelFormValues(view), user: '' }
    // Emptying the user alone, with the password kept, is refused by the server, naming the field.
    expect(() => mergeSettings('email', settings!, channelChanges('email', values).settings!)).toThrow(/settings\.user/)
    const merged = mergeSettings('email', settings!, channelChanges('email', values, ['password']).settings!)
    expect(merged).not.toHaveProperty('user')
    expect(merged).not.toHaveProperty('password')
  })

  it('shows a list as one line and a port as text', () => {
    const { view } = stored('email')
    expect(channelFormValues({ ...view, settings: { host: 'h', port: 587, tls: 'starttls', from: 'f@e', to: ['a@e', 'b@e'] } }))
      .toEqual({ host: 'h', port: '587', tls: 'starttls', from: 'f@e', to: 'a@e, b@e' })
  })
})
