/**
 * Notification channels: the types a webhook row can be, each type's settings, which of them are
 * secrets (write-only in the API), and the node label selector every channel may filter on.
 */
import { z } from 'zod'
import { LABEL_NAME } from './limits'

export const CHANNEL_TYPES = ['webhook', 'slack', 'discord', 'teams', 'telegram', 'ntfy', 'gotify', 'matrix', 'pagerduty', 'email'] as const
export type ChannelType = (typeof CHANNEL_TYPES)[number]

/** Types whose receiver is the channel's `url`: the signed JSON webhook and the chat services' incoming-webhook URLs. */
export const URL_CHANNEL_TYPES = ['webhook', 'slack', 'discord', 'teams'] as const
export const isUrlChannel = (type: ChannelType): boolean => (URL_CHANNEL_TYPES as readonly string[]).includes(type)

/** Settings that hold a credential: accepted, stored, used, and never shown again (the API says only that one is set). */
export const SECRET_SETTINGS = ['bot_token', 'token', 'access_token', 'routing_key', 'password'] as const

/** The real services' addresses, the defaults of the settings that can point a channel elsewhere (a proxy, a test receiver). */
export const TELEGRAM_API_URL = 'https://api.telegram.org'
export const NTFY_SERVER_URL = 'https://ntfy.sh'
export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue'

/** An http(s) URL without credentials in it: fetch refuses those, and the error would carry the password. */
export const httpUrl = z.string({ error: 'must be an http:// or https:// URL' }).trim().max(2000, 'must be at most 2000 characters')
  .refine(u => URL.canParse(u) && ['http:', 'https:'].includes(new URL(u).protocol), 'must be an http:// or https:// URL')
  .refine(u => !URL.canParse(u) || (!new URL(u).username && !new URL(u).password), 'must not contain a user name or password (user:password@): put a secret in the path or query, or verify the signature')

const secret = (what: string) => z.string({ error: `must be the ${what}` }).trim().min(1, `must be the ${what}`).max(512, 'must be at most 512 characters')
const email = z.email({ error: 'must be an e-mail address' }).max(254, 'must be at most 254 characters')

/** Each type's settings; the URL types keep theirs in the channel's `url` and have none. */
export const CHANNEL_SETTINGS = {
  webhook: z.strictObject({}),
  slack: z.strictObject({}),
  discord: z.strictObject({}),
  teams: z.strictObject({}),
  telegram: z.strictObject({
    bot_token: secret('bot token from @BotFather').regex(/^\d{1,20}:[\w-]{20,100}$/, 'must be a bot token as @BotFather gives it (123456:ABC…)'),
    chat_id: z.string({ error: 'must be a chat id' }).trim().regex(/^(-?\d{1,20}|@\w{4,64})$/, 'must be a numeric chat id or an @channel name'),
    api_url: httpUrl.default(TELEGRAM_API_URL),
  }),
  ntfy: z.strictObject({
    server_url: httpUrl.default(NTFY_SERVER_URL),
    topic: z.string({ error: 'must be a topic name' }).trim().regex(/^[\w-]{1,64}$/, 'must be 1–64 letters, digits, "-" or "_"'),
    token: secret('access token').optional(),
  }),
  gotify: z.strictObject({ server_url: httpUrl, token: secret('application token') }),
  matrix: z.strictObject({
    homeserver_url: httpUrl,
    room_id: z.string({ error: 'must be a room id' }).trim().regex(/^![^:\s]{1,255}:[^\s]{1,255}$/, 'must be a room id such as !abc123:example.org'),
    access_token: secret('access token'),
  }),
  pagerduty: z.strictObject({
    routing_key: secret('integration (routing) key').regex(/^\w{20,64}$/, 'must be the 32-character integration key of an Events API v2 integration'),
    events_url: httpUrl.default(PAGERDUTY_EVENTS_URL),
  }),
  email: z.strictObject({
    host: z.string({ error: 'must be the SMTP server\'s host name' }).trim().min(1, 'must be the SMTP server\'s host name').max(253, 'must be at most 253 characters')
      .regex(/^[\w.\-:[\]]+$/, 'must be a host name or an IP address'),
    port: z.number({ error: 'must be a port number' }).int('must be a port number').min(1, 'must be a port number').max(65_535, 'must be a port number').default(587),
    /** `starttls`: upgrade a plain connection (port 587); `tls`: TLS from the start (465); `none`: plain, for a relay on a trusted network. */
    tls: z.enum(['starttls', 'tls', 'none'], { error: 'must be starttls, tls or none' }).default('starttls'),
    user: z.string({ error: 'must be a user name' }).trim().min(1, 'must not be empty').max(256, 'must be at most 256 characters').optional(),
    password: secret('password').optional(),
    from: email,
    to: z.array(email, { error: 'must be a list of e-mail addresses' }).min(1, 'must name at least one recipient').max(20, 'must be at most 20 recipients'),
  }).refine(s => s.password === undefined || s.user !== undefined, { path: ['user'], message: 'must be given with a password' }),
} satisfies Record<ChannelType, z.ZodType>

export type ChannelSettings<T extends ChannelType> = z.output<(typeof CHANNEL_SETTINGS)[T]>
/** Any type's settings, as stored. */
export type StoredSettings = Record<string, unknown>

/** What the pages call each type. */
export const CHANNEL_LABELS: Record<ChannelType, string> = {
  webhook: 'Webhook (signed JSON)', slack: 'Slack', discord: 'Discord', teams: 'Microsoft Teams', telegram: 'Telegram',
  ntfy: 'ntfy', gotify: 'Gotify', matrix: 'Matrix', pagerduty: 'PagerDuty', email: 'E-mail (SMTP)',
}

// ─── Label selectors ────────────────────────────────────────────────────────────────────────

/** One term of a selector: `name=value` (that value) or `name` (any value). */
export interface LabelTerm { name: string, value: string | null }

/**
 * `cluster=prod,role` → the terms, or a message saying what is wrong. Terms are separated by
 * commas and all must hold; an empty selector matches every node.
 */
export function parseLabelSelector(selector: string): LabelTerm[] | string {
  const terms: LabelTerm[] = []
  for (const part of selector.split(',').map(p => p.trim()).filter(Boolean)) {
    const at = part.indexOf('=')
    const name = (at < 0 ? part : part.slice(0, at)).trim()
    const value = at < 0 ? null : part.slice(at + 1).trim()
    if (!LABEL_NAME.test(name)) return `"${name}" is not a label name (1–63 letters, digits, ".", "-", "_", "/")`
    if (value !== null && value.length > 255) return `the value of "${name}" is longer than 255 characters`
    terms.push({ name, value })
  }
  return terms
}

/**
 * The labels an event's node is matched by (channels' selectors, silences): the node's own while it exists, else those
 * its event kept (`data.labels`, which node_removed carries), else none.
 */
export function eventLabels(live: Record<string, string> | undefined, data: Record<string, unknown> | null | undefined): Record<string, string> | null {
  if (live) return live
  const kept = data?.labels
  if (!kept || typeof kept !== 'object' || Array.isArray(kept)) return null
  const entries = Object.entries(kept)
  return entries.every(([, v]) => typeof v === 'string') ? Object.fromEntries(entries) as Record<string, string> : null
}

/** Whether a node's labels satisfy every term of a selector (a node-less event satisfies only the empty selector). */
export function matchesLabels(terms: LabelTerm[], labels: Record<string, string> | null): boolean {
  if (!terms.length) return true
  // Own keys only: a selector naming `constructor` must not match every node through the prototype.
  return labels !== null && terms.every(t => Object.hasOwn(labels, t.name) && (t.value === null || labels[t.name] === t.value))
}

/** A label selector as the API takes it: `cluster=prod,role=db`; empty for every node. */
export const labelSelectorSchema = z.string({ error: 'must be a label selector such as cluster=prod' }).trim().max(1000, 'must be at most 1000 characters')
  .superRefine((s, ctx) => {
    const parsed = parseLabelSelector(s)
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed })
  })
