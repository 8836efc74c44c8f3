/**
 * Wire contracts shared by the server, the pages, the CLI and the tests.
 * Field names follow seed 000 (snake_case on the wire).
 */
import { z } from 'zod'

export const MAX_SAMPLES_PER_REPORT = 1000
export const MAX_REPORT_BYTES = 64 * 1024
export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000
/** Unix timestamps above this are taken as milliseconds, below as seconds. */
const UNIX_MS_THRESHOLD = 1e12

const percent = z.number({ error: 'must be a number' }).finite().min(0, 'must be at least 0').max(100, 'must be at most 100')
const count = (max: number) => z.number({ error: 'must be a number' }).int('must be an integer').min(0, 'must not be negative').max(max, `must be at most ${max}`)

/** ISO-8601 string or unix time (seconds, or milliseconds when ≥ 1e12), not more than 5 min in the future. */
export const reportTimestamp = z.union([
  z.string().datetime({ offset: true, error: 'must be an ISO-8601 date-time with a zone (e.g. 2025-01-01T00:00:00Z)' }),
  z.number().finite().positive('must be a positive unix time'),
], { error: 'must be an ISO-8601 string or a unix time' })
  .transform(v => new Date(typeof v === 'string' ? v : v >= UNIX_MS_THRESHOLD ? v : v * 1000))
  .refine(d => !Number.isNaN(d.getTime()), 'is not a valid time')
  .refine(d => d.getTime() >= Date.UTC(2000, 0, 1), 'is before the year 2000')
  .refine(d => d.getTime() <= Date.now() + MAX_FUTURE_SKEW_MS, 'is more than 5 minutes in the future')

/** One stats sample as an agent sends it. */
export const statsSample = z.strictObject({
  cpu_percent: percent,
  memory_percent: percent.nullish(),
  disk_percent: percent,
  // 100 years of uptime; backups fit a Postgres integer with room to spare.
  uptime_seconds: count(3_155_760_000).nullish(),
  active_backups: count(1_000_000).nullish(),
  timestamp: reportTimestamp.optional(),
}, { error: issue => issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : 'must be an object' })
export type StatsSampleInput = z.input<typeof statsSample>

/** A catch-up report: `{samples: [...]}`, each with its own timestamp. */
export const statsBatch = z.strictObject({
  samples: z.array(statsSample, { error: 'must be an array of samples' }).min(1, 'must hold at least one sample')
    .max(MAX_SAMPLES_PER_REPORT, `must hold at most ${MAX_SAMPLES_PER_REPORT} samples`)
    .superRefine((samples, ctx) => {
      if (samples.length < 2) return
      samples.forEach((s, i) => {
        if (!s.timestamp) ctx.addIssue({ code: 'custom', path: [i, 'timestamp'], message: 'is required when a report holds more than one sample' })
      })
    }),
})

/**
 * A report: one sample, or `{samples: [...]}` for catch-up after an outage. The shape picks the
 * schema (a plain union would answer a bad field with zod's generic "Invalid input").
 */
export const statsReport = z.unknown().transform((value, ctx): z.output<typeof statsSample> | z.output<typeof statsBatch> => {
  const isBatch = typeof value === 'object' && value !== null && !Array.isArray(value) && 'samples' in value
  const result = (isBatch ? statsBatch : statsSample).safeParse(value)
  if (result.success) return result.data
  for (const issue of result.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path })
  return z.NEVER
})
export type StatsReport = z.output<typeof statsReport>

export const hostnameSchema = z.string().trim().min(1, 'must not be empty').max(253, 'must be at most 253 characters')
  .regex(/^[\w.\-:]+$/, 'may hold only letters, digits, ".", "-", "_" and ":"')

const LABEL_NAME = /^[\w.\-/]{1,63}$/

/** Node labels: up to 32 `name: value` pairs; names are 1–63 of letters, digits, ".", "-", "_", "/". */
export const labelsSchema = z.record(z.string(), z.string({ error: 'label values must be strings' }).max(255, 'label values must be at most 255 characters'))
  .superRefine((labels, ctx) => {
    const names = Object.keys(labels)
    if (names.length > 32) ctx.addIssue({ code: 'custom', message: 'at most 32 labels' })
    for (const name of names) {
      if (!LABEL_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `label name "${name}" must be 1–63 characters of letters, digits, ".", "-", "_" and "/"` })
    }
  })

export const createNodeBody = z.strictObject({ hostname: hostnameSchema, labels: labelsSchema.optional() })
export const updateNodeBody = z.strictObject({
  hostname: hostnameSchema.optional(),
  labels: labelsSchema.optional(),
  maintenance: z.boolean({ error: 'must be true or false' }).optional(),
}).refine(b => b.hostname !== undefined || b.labels !== undefined || b.maintenance !== undefined, 'give hostname, labels or maintenance to change')

export const roleSchema = z.enum(['admin', 'viewer'], { error: 'must be "admin" or "viewer"' })
export const usernameSchema = z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters')
  .regex(/^[\w.@-]+$/, 'may hold only letters, digits, ".", "@", "-" and "_"')
export const passwordSchema = z.string().min(8, 'must be at least 8 characters').max(1024, 'must be at most 1024 characters')

export const loginBody = z.strictObject({
  username: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(64, 'must be at most 64 characters'),
  password: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(1024, 'must be at most 1024 characters'),
})
export const setupBody = z.strictObject({ username: usernameSchema, password: passwordSchema })
export const createUserBody = z.strictObject({ username: usernameSchema, password: passwordSchema, role: roleSchema })
export const createTokenBody = z.strictObject({ name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'), role: roleSchema })

export const idParam = z.strictObject({
  id: z.string().regex(/^[1-9]\d{0,9}$/, 'must be a positive whole number').transform(Number)
    .pipe(z.number().max(2_147_483_647, 'is too large')),
})

/** `?interval=` of seed 000's streams: whole seconds 1–60, default 5. */
export const streamQuery = z.object({
  interval: z.string({ error: 'must be given once, as whole seconds' }).regex(/^\d+$/, 'must be whole seconds from 1 to 60')
    .transform(Number).pipe(z.number().min(1, 'must be at least 1 second').max(60, 'must be at most 60 seconds')).optional(),
}).transform(q => ({ interval: q.interval ?? 5 }))

export type NodeStatus = 'online' | 'stale' | 'offline'
export type Role = z.infer<typeof roleSchema>

/** A node's summary exactly as seed 000 streams it. */
export interface NodeStats {
  id: number
  hostname: string
  status: NodeStatus
  is_master: boolean
  cpu_percent: number | null
  memory_percent: number | null
  disk_percent: number | null
  uptime_seconds: number | null
  active_backups: number | null
  last_seen: string | null
}

/** A node as the REST API returns it: the seed's summary plus registry fields. */
export interface NodeView extends NodeStats {
  kind: 'master' | 'agent'
  labels: Record<string, string>
  /** In maintenance, status changes are logged but do not alert. */
  maintenance: boolean
  created_at: string
  last_sample_at: string | null
}

export interface UserView { id: number, username: string, role: Role, created_at: string, last_login_at: string | null }
export interface TokenView { id: number, name: string, role: Role, created_at: string, last_used_at: string | null }
export interface MeView { id: number | null, username: string, role: Role, via: 'session' | 'token' }

// ─── Events and alerts (seed 002) ────────────────────────────────────────────────────────────

export const SEVERITIES = ['info', 'success', 'warning', 'error'] as const
export type Severity = (typeof SEVERITIES)[number]
/** Severity as a priority: higher is more urgent (orders the UI, `min_severity` filters). */
export const SEVERITY_RANK: Record<Severity, number> = { info: 0, success: 1, warning: 2, error: 3 }

/** Event types NodePulse computes and persists. */
export const EVENT_TYPES = [
  'node_status_update', 'node_registered', 'node_updated', 'node_removed', 'node_token_rotated',
  'node_unreachable', 'node_reachable', 'node_maintenance',
  'backup_started', 'backup_completed', 'backup_failed',
  'cluster_status_update', 'error_report', 'event_acknowledged',
] as const
export type EventType = (typeof EVENT_TYPES)[number]

/** Types an agent may send itself with `POST /api/v1/nodes/{id}/events`. */
export const AGENT_EVENT_TYPES = ['backup_started', 'backup_completed', 'backup_failed', 'error_report'] as const

/** One event as the stream, the history and webhooks carry it (seed 002: `event_type`, unix `timestamp`). */
export interface EventView {
  id: number
  event_type: string
  severity: Severity
  node_id: number | null
  cluster_id: string | null
  resource_type: string
  message: string
  data: Record<string, unknown>
  /** Unix seconds (seed 002). */
  timestamp: number
  created_at: string
  acknowledged_at: string | null
  acknowledged_by: string | null
}

/** `GET /api/v1/events` answer: newest first; `next_cursor` pages to older events. */
export interface EventPage { events: EventView[], next_cursor: number | null }

/** `GET /api/v1/events/stats`: the last hour, per minute, and what still needs attention. */
export interface EventStats {
  since: string
  total: number
  by_type: Record<string, number>
  by_severity: Record<Severity, number>
  /** 60 one-minute buckets, oldest first. */
  per_minute: { minute: string, count: number, warning: number, error: number }[]
  /** Unacknowledged warnings and errors (any age). */
  unacknowledged: number
}

const repeatable = <T extends z.ZodType>(item: T) => z.union([item, z.array(item)]).optional()
  .transform(v => (v === undefined ? [] : Array.isArray(v) ? v : [v]))

const numberList = repeatable(z.string().regex(/^[1-9]\d{0,9}$/, 'must be a positive whole number').transform(Number))
const textList = repeatable(z.string().min(1, 'must not be empty').max(255, 'must be at most 255 characters'))

/** Filters shared by the event stream and history; each may repeat (`?severity=warning&severity=error`). */
export const eventFilterQuery = z.object({
  node_id: numberList,
  cluster_id: textList,
  resource_type: textList,
  event_type: textList,
  severity: repeatable(z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')}` })),
  min_severity: z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')}` }).optional(),
})
export type EventFilter = z.output<typeof eventFilterQuery>

/** ISO-8601 or unix seconds/milliseconds, as a query string. */
export const timeParam = z.string().min(1, 'must not be empty').transform((v, ctx) => {
  const n = /^\d+(\.\d+)?$/.test(v) ? Number(v) : Number.NaN
  const d = Number.isFinite(n) ? new Date(n >= UNIX_MS_THRESHOLD ? n : n * 1000) : new Date(v)
  if (Number.isNaN(d.getTime())) {
    ctx.addIssue({ code: 'custom', message: 'must be an ISO-8601 time or a unix timestamp' })
    return z.NEVER
  }
  return d
})

export const eventHistoryQuery = eventFilterQuery.extend({
  cursor: z.string().regex(/^\d{1,18}$/, 'must be a next_cursor value from a previous page').transform(Number).optional(),
  limit: z.string().regex(/^\d+$/, 'must be a whole number').transform(Number)
    .pipe(z.number().min(1, 'must be at least 1').max(500, 'must be at most 500')).optional(),
  acknowledged: z.enum(['true', 'false'], { error: 'must be true or false' }).transform(v => v === 'true').optional(),
  since: timeParam.optional(),
})

export const eventStreamQuery = eventFilterQuery.extend({
  lastEventId: z.string().optional(),
  since: timeParam.optional(),
})

/** An event an agent reports itself. */
export const agentEventBody = z.strictObject({
  event_type: z.enum(AGENT_EVENT_TYPES, { error: `must be one of ${AGENT_EVENT_TYPES.join(', ')}` }),
  message: z.string().trim().min(1, 'must not be empty').max(1000, 'must be at most 1000 characters').optional(),
  severity: z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')}` }).optional(),
  resource_type: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, 'must be 1–32 lowercase letters, digits or "_"').optional(),
  timestamp: reportTimestamp.optional(),
  data: z.record(z.string(), z.unknown()).optional(),
})

const webhookUrl = z.string().trim().max(2000, 'must be at most 2000 characters')
  .refine(u => URL.canParse(u) && ['http:', 'https:'].includes(new URL(u).protocol), 'must be an http:// or https:// URL')
const eventTypeList = z.array(z.enum(EVENT_TYPES, { error: `must be event types: ${EVENT_TYPES.join(', ')}` })).max(EVENT_TYPES.length)

export const createWebhookBody = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  url: webhookUrl,
  event_types: eventTypeList.optional(),
  min_severity: z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')}` }).optional(),
  repeat_seconds: z.number({ error: 'must be a number of seconds' }).int('must be whole seconds').min(0, 'must not be negative').max(7 * 86_400, 'must be at most a week').optional(),
  enabled: z.boolean({ error: 'must be true or false' }).optional(),
})
export const updateWebhookBody = createWebhookBody.partial()
  .refine(b => Object.keys(b).length > 0, 'give at least one field to change')

export interface WebhookView {
  id: number
  name: string
  url: string
  event_types: string[]
  min_severity: Severity
  repeat_seconds: number
  enabled: boolean
  created_at: string
  /** The newest delivery's outcome, for the list. */
  last_delivery: DeliveryView | null
}
/** Only the create and rotate answers carry the signing secret. */
export interface WebhookWithSecret extends WebhookView { secret: string }

export interface DeliveryView {
  id: number
  webhook_id: number
  event_id: number
  event_type: string | null
  repeat: number
  state: 'pending' | 'delivered' | 'failed'
  attempts: number
  response_status: number | null
  error: string | null
  duration_ms: number | null
  created_at: string
  delivered_at: string | null
  next_attempt_at: string | null
}
