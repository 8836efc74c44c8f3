/**
 * The REST API's bodies under `/api/v1`: nodes, users, API tokens, sessions and webhooks.
 * Stats reports are in `ingest.ts`, events in `seed002.ts`.
 */
import { z } from 'zod'
import { EVENT_TYPES, SEVERITIES, type Severity } from './seed002'
import type { HostDetail } from './ingest'
import type { NodeKind, NodeStats } from './seed000'
import type { RequestLogEntry } from './seed001'
import { LABEL_NAME } from './limits'
import { CHANNEL_SETTINGS, CHANNEL_TYPES, httpUrl, labelSelectorSchema, type ChannelType, type StoredSettings, type URL_CHANNEL_TYPES } from './channels'

export const hostnameSchema = z.string().trim().min(1, 'must not be empty').max(253, 'must be at most 253 characters')
  .regex(/^[\w.\-:]+$/, 'may hold only letters, digits, ".", "-", "_" and ":"')


/** Node labels: up to 32 `name: value` pairs; names are 1–63 of letters, digits, ".", "-", "_", "/". */
export const labelsSchema = z.record(z.string(), z.string({ error: 'label values must be strings' }).max(255, 'label values must be at most 255 characters'))
  .superRefine((labels, ctx) => {
    const names = Object.keys(labels)
    if (names.length > 32) ctx.addIssue({ code: 'custom', message: 'at most 32 labels' })
    for (const name of names) {
      if (!LABEL_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `label name "${name}" must be 1–63 characters of letters, digits, ".", "-", "_" and "/"` })
    }
  })

// ─── Nodes ──────────────────────────────────────────────────────────────────────────────────

export const createNodeBody = z.strictObject({ hostname: hostnameSchema, labels: labelsSchema.optional() })
export const updateNodeBody = z.strictObject({
  hostname: hostnameSchema.optional(),
  labels: labelsSchema.optional(),
  maintenance: z.boolean({ error: 'must be true or false' }).optional(),
}).refine(b => b.hostname !== undefined || b.labels !== undefined || b.maintenance !== undefined, 'give hostname, labels or maintenance to change')
export type UpdateNodeBody = z.output<typeof updateNodeBody>

/** A node as the REST API returns it: the seed's summary plus registry fields. */
export interface NodeView extends NodeStats {
  kind: NodeKind
  labels: Record<string, string>
  /** In maintenance, status changes are logged but do not alert. */
  maintenance: boolean
  created_at: string
  last_sample_at: string | null
}

/** `GET /api/v1/nodes/{id}`: the node with its latest sample's host detail (null before one carried any). */
export interface NodeWithDetail extends NodeView { detail: HostDetail | null }

/** `POST /api/v1/nodes`: the new node with its agent token, shown this once. */
export interface CreatedNode extends NodeView { token: string }

/** `POST /api/v1/nodes/{id}/token`: the node's new agent token, shown this once. */
export interface RotatedNodeToken { id: number, hostname: string, token: string }

// ─── Users, tokens and sessions ─────────────────────────────────────────────────────────────

export const ROLES = ['admin', 'viewer'] as const
export type Role = (typeof ROLES)[number]
export const roleSchema = z.enum(ROLES, { error: 'must be "admin" or "viewer"' })

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

export interface UserView { id: number, username: string, role: Role, created_at: string, last_login_at: string | null }
export interface TokenView { id: number, name: string, role: Role, created_at: string, last_used_at: string | null }
/** `POST /api/v1/tokens`: the new token with its secret, shown this once. */
export interface CreatedToken extends TokenView { token: string }
/** Who is calling: `GET /api/v1/auth/me`, and the answer to login and setup. */
export interface MeView {
  id: number | null
  username: string
  role: Role
  via: 'session' | 'token'
  /** Whether this server watches a Valkey cluster (the header shows the Valkey page's link only then). */
  valkey: boolean
}
/** `GET /api/v1/auth/setup`. */
export interface SetupState { setup_required: boolean }
/**
 * `GET /api/v1/auth/session`: who the session cookie belongs to (null when none) and whether setup is
 * open. Always 200, so a page's first visit logs no failed request.
 */
export interface SessionState extends SetupState { user: MeView | null }
/** `POST /api/v1/auth/stream-token`: a short-lived token for `?token=` on stream URLs. */
export interface StreamTokenView { token: string, expires_at: string, expires_in: number }

// ─── Webhooks ───────────────────────────────────────────────────────────────────────────────

const eventTypeList = z.array(z.enum(EVENT_TYPES, { error: `must be event types: ${EVENT_TYPES.join(', ')}` })).max(EVENT_TYPES.length)

/** What every channel type has: its name and filters. */
const channelCommon = {
  name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  event_types: eventTypeList.optional(),
  min_severity: z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')}` }).optional(),
  labels: labelSelectorSchema.optional(),
  repeat_seconds: z.number({ error: 'must be a number of seconds' }).int('must be whole seconds').min(0, 'must not be negative').max(7 * 86_400, 'must be at most a week').optional(),
  enabled: z.boolean({ error: 'must be true or false' }).optional(),
}

const urlChannel = <T extends ChannelType>(type: T) => z.strictObject({ type: z.literal(type), url: httpUrl, settings: z.strictObject({}).optional(), ...channelCommon })
const settingsChannel = <T extends Exclude<ChannelType, (typeof URL_CHANNEL_TYPES)[number]>>(type: T) =>
  z.strictObject({ type: z.literal(type), settings: CHANNEL_SETTINGS[type], ...channelCommon })

/** `POST /api/v1/webhooks`: a channel of one type with that type's fields. */
export const channelBody = z.discriminatedUnion('type', [
  urlChannel('webhook'), urlChannel('slack'), urlChannel('discord'), urlChannel('teams'),
  settingsChannel('telegram'), settingsChannel('ntfy'), settingsChannel('gotify'), settingsChannel('matrix'), settingsChannel('pagerduty'), settingsChannel('email'),
], { error: `must be one of ${CHANNEL_TYPES.join(', ')}` })
/** A body without `type` is a signed JSON webhook, as before there were other types. */
export const createWebhookBody = z.preprocess(b => (b && typeof b === 'object' && !('type' in b) ? { ...b, type: 'webhook' } : b), channelBody)
export type CreateWebhookBody = z.output<typeof channelBody>

/**
 * `PATCH /api/v1/webhooks/{id}`: the given fields. `settings` are merged into the stored ones (a
 * secret left out is kept, one set to null is removed) and checked against the channel's type.
 */
export const updateWebhookBody = z.strictObject({
  ...channelCommon,
  url: httpUrl,
  settings: z.record(z.string(), z.union([z.string(), z.number(), z.array(z.string()), z.null()]), { error: 'must be an object of this channel type\'s settings' }),
}).partial().refine(b => Object.keys(b).length > 0, 'give at least one field to change')
export type UpdateWebhookBody = z.output<typeof updateWebhookBody>

export const deliveriesQuery = z.object({
  cursor: z.string().regex(/^[1-9]\d{0,9}$/, 'must be a next_cursor value from a previous page').transform(Number)
    .pipe(z.number().max(2_147_483_647, 'is too large to be a next_cursor value')).optional(),
  limit: z.string().regex(/^\d+$/, 'must be a whole number').transform(Number)
    .pipe(z.number().min(1, 'must be at least 1').max(200, 'must be at most 200')).optional(),
})

/** A notification channel (a row of the webhooks API). */
export interface WebhookView {
  id: number
  name: string
  type: ChannelType
  /** The receiver of the URL types (viewers see only its origin); null for the others. */
  url: string | null
  /** The type's settings without its secrets; null for viewers, who see no settings. */
  settings: StoredSettings | null
  /** Which secret settings are set (their values are never shown). */
  secrets_set: string[]
  /** Node label selector (`cluster=prod`); empty for every node. */
  labels: string
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

export const DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const
export type DeliveryState = (typeof DELIVERY_STATES)[number]

export interface DeliveryView {
  id: number
  webhook_id: number
  event_id: number
  event_type: string | null
  repeat: number
  state: DeliveryState
  attempts: number
  response_status: number | null
  error: string | null
  duration_ms: number | null
  created_at: string
  delivered_at: string | null
  next_attempt_at: string | null
}

/** `GET /api/v1/webhooks/{id}/deliveries`: newest first; `next_cursor` pages to older ones. */
export interface DeliveryPage { deliveries: DeliveryView[], next_cursor: number | null }

// ─── Health ─────────────────────────────────────────────────────────────────────────────────

/** `GET /api/health`: 200 when the database answers, 503 otherwise. */
export interface HealthView {
  status: 'ok' | 'degraded'
  version: string
  database: { ok: boolean, driver: 'pglite' | 'postgres' }
  uptime_seconds: number
  /** Runs the periodic jobs; with several instances on one Postgres, exactly one does. */
  leader: boolean
}

// ─── Agent downloads ────────────────────────────────────────────────────────────────────────

/** One agent file the server serves (no login needed). */
export interface AgentFileView { path: string, sha256: string, bytes: number }

/**
 * `GET /agent/version`: the agents this server serves. `version` is package.json's plus a short
 * hash of the files' contents; `server_url` is NODEPULSE_PUBLIC_URL, else the request's origin.
 */
export interface AgentVersionView {
  version: string
  node_agent: AgentFileView
  /** null when the build had no shell agent. */
  shell_agent: AgentFileView | null
  server_url: string
}

/**
 * `GET /api/v1/requests`: the request log (seed 001's `/stream/logs` entries), newest first.
 * `status` is one code (e.g. 401), `failed` (every refusal) or `ok`.
 */
export const requestLogQuery = z.strictObject({
  node_id: z.string().regex(/^\d{1,9}$/, 'must be a node id').transform(Number).optional(),
  status: z.union([z.enum(['failed', 'ok']), z.string().regex(/^[1-5]\d\d$/, 'must be an HTTP status code, failed or ok').transform(Number)]).optional(),
  cursor: z.string().regex(/^\d{1,18}$/, 'must be a next_cursor value from a previous page').transform(Number).optional(),
  limit: z.string().regex(/^\d+$/, 'must be a whole number').transform(Number)
    .pipe(z.number().min(1, 'must be at least 1').max(500, 'must be at most 500')).optional(),
})
export type RequestLogQuery = z.output<typeof requestLogQuery>

/** A page of the request log; `next_cursor` pages to older entries. */
export interface RequestLogPage { requests: RequestLogEntry[], next_cursor: number | null }

/** `GET /api/v1/requests/failing`: per node and refusal status, how often the log holds it and the newest answer. */
export interface FailingAgent {
  node_id: number | null
  hostname: string | null
  status_code: number
  count: number
  error_message: string
  /** Unix seconds of the newest such refusal. */
  last_seen: number
  /** Unix seconds of the node's newest accepted request in the log, null when none. */
  last_success: number | null
}
