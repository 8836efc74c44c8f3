import { sql } from 'drizzle-orm'
import {
  bigint, boolean, doublePrecision, index, integer, jsonb, pgSequence, pgTable, primaryKey, real, serial, text, timestamp, uniqueIndex,
} from 'drizzle-orm/pg-core'
import { CHANNEL_TYPES, type StoredSettings } from '../../shared/contracts/channels'
import { ALERT_COMPARISONS, ALERT_SEVERITIES, type AlertNodes } from '../../shared/contracts/alerts'
import { HISTORY_METRICS } from '../../shared/contracts/history'
import { INCIDENT_KINDS } from '../../shared/contracts/incidents'
import { DELIVERY_STATES, ROLES } from '../../shared/contracts/rest'
import { NODE_KINDS, type HostDetail } from '../../shared/contracts/seed000'
import { SEVERITIES } from '../../shared/contracts/seed002'

const timestamps = {
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}

/**
 * One position for everything the streams can replay: stats reports (node_samples) and the event
 * log (events) draw their ids from it, so a single Last-Event-ID orders both.
 */
export const streamPosition = pgSequence('stream_position')
const positionId = () => bigint('id', { mode: 'number' }).primaryKey().default(sql`nextval('stream_position')`)

/** Every host NodePulse watches: the host it runs on (master) and hosts that push stats (agents). */
export const nodes = pgTable('nodes', {
  id: serial('id').primaryKey(),
  hostname: text('hostname').notNull(),
  kind: text('kind', { enum: NODE_KINDS }).notNull(),
  labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
  agentTokenHash: text('agent_token_hash'),
  lastSeen: timestamp('last_seen', { withTimezone: true }),
  /** In maintenance a node's status changes are logged but do not alert (no webhooks, no toasts). */
  maintenance: boolean('maintenance').notNull().default(false),
  /** The status and reachability the watcher last recorded an event for: a restart or a new leader resumes from here. */
  watchedStatus: text('watched_status'),
  watchedReachable: boolean('watched_reachable'),
  ...timestamps,
}, t => [
  uniqueIndex('nodes_agent_token_hash_key').on(t.agentTokenHash),
  // One master row per host: a restart finds its own row instead of adding another.
  uniqueIndex('nodes_master_hostname_key').on(t.hostname).where(sql`${t.kind} = 'master'`),
])

/** Time series of reported stats; (node_id, ts) identifies a sample, so a re-sent batch stores nothing twice. */
export const nodeSamples = pgTable('node_samples', {
  id: positionId(),
  nodeId: integer('node_id').notNull().references(() => nodes.id, { onDelete: 'cascade' }),
  ts: timestamp('ts', { withTimezone: true, precision: 3 }).notNull(),
  cpuPercent: doublePrecision('cpu_percent').notNull(),
  memoryPercent: doublePrecision('memory_percent'),
  // Null for nodes without a disk of their own to report (Valkey nodes).
  diskPercent: doublePrecision('disk_percent'),
  uptimeSeconds: bigint('uptime_seconds', { mode: 'number' }),
  activeBackups: integer('active_backups'),
  /** Figures beyond the summary (the master's load, per-core cpu, memory bytes, filesystems, network rates). */
  detail: jsonb('detail').$type<HostDetail>(),
  receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
}, t => [
  // Serves "latest sample per node" and "samples of a node in a time range" (DESC scans are free).
  uniqueIndex('node_samples_node_ts_key').on(t.nodeId, t.ts),
  index('node_samples_ts_idx').on(t.ts),
])

/**
 * History rollups (issue 12): per node and bucket of a tier's width, the sample count and, for
 * every history metric, `<metric>_avg/_min/_max/_last` and `<metric>_n` (samples that had it,
 * so coarser tiers weight averages right). `real` keeps a row near 350 bytes.
 */
export const historyRollups = pgTable('history_rollups', {
  widthSeconds: integer('width_seconds').notNull(),
  nodeId: integer('node_id').notNull().references(() => nodes.id, { onDelete: 'cascade' }),
  bucket: timestamp('bucket', { withTimezone: true }).notNull(),
  samples: integer('samples').notNull(),
  ...Object.fromEntries(HISTORY_METRICS.flatMap(m => [
    [`${m}Avg`, real(`${m}_avg`)], [`${m}Min`, real(`${m}_min`)], [`${m}Max`, real(`${m}_max`)], [`${m}Last`, real(`${m}_last`)],
    [`${m}N`, integer(`${m}_n`).notNull().default(0)],
  ])),
}, t => [
  primaryKey({ columns: [t.widthSeconds, t.nodeId, t.bucket] }),
  // Retention deletes a tier's oldest buckets across nodes.
  index('history_rollups_width_bucket_idx').on(t.widthSeconds, t.bucket),
])

/**
 * How far each tier is (keyed by width; 0 is raw): `cursor` is the newest sample id rolled into
 * it (samples take ids in commit order, so new arrivals, late ones included, are id > cursor);
 * `purgedBefore` is where retention deleted up to, so a bucket older than its source is never
 * recomputed from a partial source.
 */
export const historyProgress = pgTable('history_progress', {
  widthSeconds: integer('width_seconds').primaryKey(),
  cursor: bigint('cursor', { mode: 'number' }).notNull().default(0),
  purgedBefore: timestamp('purged_before', { withTimezone: true }),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
})

/** Threshold alert rules (admins): a metric, the nodes it watches, the comparison, and how long it must hold. */
export const alertRules = pgTable('alert_rules', {
  id: serial('id').primaryKey(),
  name: text('name').notNull(),
  metric: text('metric', { enum: HISTORY_METRICS }).notNull(),
  comparison: text('comparison', { enum: ALERT_COMPARISONS }).notNull(),
  value: doublePrecision('value').notNull(),
  perCore: boolean('per_core').notNull().default(false),
  durationSeconds: integer('duration_seconds').notNull(),
  nodes: jsonb('nodes').$type<AlertNodes>().notNull().default(sql`'"all"'::jsonb`),
  severity: text('severity', { enum: ALERT_SEVERITIES }).notNull().default('warning'),
  enabled: boolean('enabled').notNull().default(true),
  ...timestamps,
}, t => [uniqueIndex('alert_rules_name_key').on(t.name)])

/** A rule firing for a node: written with its threshold_exceeded event, deleted with its threshold_recovered one. */
export const alertStates = pgTable('alert_states', {
  ruleId: integer('rule_id').notNull().references(() => alertRules.id, { onDelete: 'cascade' }),
  nodeId: integer('node_id').notNull().references(() => nodes.id, { onDelete: 'cascade' }),
  since: timestamp('since', { withTimezone: true }).notNull(),
  value: doublePrecision('value'),
  /** The threshold the node broke (value × cores for a per-core rule). */
  threshold: doublePrecision('threshold'),
  /** The threshold_exceeded event: what webhook reminders repeat while the rule keeps firing. */
  eventId: bigint('event_id', { mode: 'number' }),
}, t => [primaryKey({ columns: [t.ruleId, t.nodeId] })])

/** The persisted event log; its id is the replay cursor of the event streams. */
export const events = pgTable('events', {
  id: positionId(),
  type: text('type').notNull(),
  severity: text('severity', { enum: SEVERITIES }).notNull().default('info'),
  // No foreign key: the log outlives the node it speaks of.
  nodeId: integer('node_id'),
  clusterId: text('cluster_id'),
  resourceType: text('resource_type').notNull().default('node'),
  message: text('message').notNull(),
  data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  acknowledgedAt: timestamp('acknowledged_at', { withTimezone: true }),
  acknowledgedBy: text('acknowledged_by'),
  /** The incident this event belongs to (one problem's events, from open to resolved). */
  incidentId: integer('incident_id'),
}, t => [
  index('events_created_at_idx').on(t.createdAt),
  index('events_incident_id_idx').on(t.incidentId, t.id),
  index('events_node_id_idx').on(t.nodeId, t.id),
  index('events_type_idx').on(t.type, t.id),
  // Events pulled from members carry their origin (seed 003): one event reached through two members is stored once.
  index('events_origin_idx').on(sql`(${t.data}->>'origin')`).where(sql`${t.data} ? 'origin'`),
  // The unacknowledged warnings and errors the header counts.
  index('events_unacknowledged_idx').on(t.id).where(sql`${t.acknowledgedAt} is null and ${t.severity} in ('warning', 'error')`),
])

/**
 * One problem from open to resolved: a node down, a cluster degraded, a threshold rule firing for a
 * node. `key` names the problem (`node:7`, `cluster:eu`, `threshold:3:7`); at most one incident per
 * key is open. Opened and resolved by the events that say so, in their own transaction.
 */
export const incidents = pgTable('incidents', {
  id: serial('id').primaryKey(),
  key: text('key').notNull(),
  kind: text('kind', { enum: INCIDENT_KINDS }).notNull(),
  nodeId: integer('node_id'),
  clusterId: text('cluster_id'),
  /** The highest severity among its events. */
  severity: text('severity', { enum: SEVERITIES }).notNull(),
  title: text('title').notNull(),
  openedAt: timestamp('opened_at', { withTimezone: true }).notNull(),
  resolvedAt: timestamp('resolved_at', { withTimezone: true }),
  acknowledgedAt: timestamp('acknowledged_at', { withTimezone: true }),
  acknowledgedBy: text('acknowledged_by'),
  /** Events collected so far. */
  eventCount: integer('event_count').notNull().default(1),
  lastEventAt: timestamp('last_event_at', { withTimezone: true }).notNull(),
}, t => [
  uniqueIndex('incidents_open_key').on(t.key).where(sql`${t.resolvedAt} is null`),
  index('incidents_node_id_idx').on(t.nodeId, t.id),
  index('incidents_key_idx').on(t.key, t.id),
])

/**
 * Silences: events an active one matches (every matcher given: node ids, a `name=value` label,
 * event types) are logged but notify nobody. Active from `starts_at` to `ends_at`, or to
 * `ended_at` when ended early; one that starts later is a maintenance window. The leader logs each
 * window's start and end once: `start_logged`/`end_logged` say it has.
 */
export const silences = pgTable('silences', {
  id: serial('id').primaryKey(),
  nodeIds: jsonb('node_ids').$type<number[]>().notNull().default([]),
  label: text('label'),
  eventTypes: jsonb('event_types').$type<string[]>().notNull().default([]),
  startsAt: timestamp('starts_at', { withTimezone: true }).notNull().defaultNow(),
  endsAt: timestamp('ends_at', { withTimezone: true }).notNull(),
  endedAt: timestamp('ended_at', { withTimezone: true }),
  reason: text('reason').notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  startLogged: boolean('start_logged').notNull().default(false),
  endLogged: boolean('end_logged').notNull().default(false),
}, t => [
  // Start-up and every change read the silences not yet over.
  index('silences_ends_at_idx').on(t.endsAt),
])

/**
 * Seed 001's request log: every agent request the server answered, accepted or refused (never its
 * token or body). Capped: after each write only the newest NODEPULSE_REQUEST_LOG_ROWS rows stay.
 */
export const requestLog = pgTable('request_log', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  // No foreign key: the URL may name a node that does not exist (a 404 is logged too).
  nodeId: integer('node_id'),
  hostname: text('hostname'),
  method: text('method').notNull(),
  endpoint: text('endpoint').notNull(),
  statusCode: integer('status_code').notNull(),
  latencyMs: real('latency_ms').notNull(),
  success: boolean('success').notNull(),
  errorMessage: text('error_message').notNull().default(''),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, t => [
  index('request_log_node_id_idx').on(t.nodeId, t.id),
  index('request_log_status_idx').on(t.statusCode, t.id),
])

/**
 * Other NodePulse servers this one aggregates (seed 003), from NODEPULSE_CONFIG or the API. The token
 * is kept readable (it is sent to the member); the cursors say how far readings and observations
 * were stored, so a restart neither loses nor repeats rows.
 */
export const members = pgTable('members', {
  id: serial('id').primaryKey(),
  name: text('name').notNull(),
  url: text('url').notNull(),
  token: text('token').notNull(),
  origin: text('origin', { enum: ['file', 'api', 'mdns'] }).notNull().default('api'),
  reachable: boolean('reachable'),
  lastError: text('last_error'),
  lastPolledAt: timestamp('last_polled_at', { withTimezone: true }),
  lastOkAt: timestamp('last_ok_at', { withTimezone: true }),
  readingsCursor: bigint('readings_cursor', { mode: 'number' }).notNull().default(0),
  observationsCursor: bigint('observations_cursor', { mode: 'number' }).notNull().default(0),
  ...timestamps,
}, t => [uniqueIndex('members_name_key').on(t.name)])

/** Admins' notification channels: a signed JSON webhook, a chat service, a pager or e-mail, all fed by one delivery queue. */
export const webhooks = pgTable('webhooks', {
  id: serial('id').primaryKey(),
  name: text('name').notNull(),
  type: text('type', { enum: CHANNEL_TYPES }).notNull().default('webhook'),
  /** The receiver of the URL types (webhook, Slack, Discord, Teams); null for the others. */
  url: text('url'),
  /** The type's settings (CHANNEL_SETTINGS), secrets included: NodePulse must read them to send. */
  settings: jsonb('settings').$type<StoredSettings>().notNull().default({}),
  /** Node label selector (`cluster=prod,role`); empty for every node. */
  labelSelector: text('label_selector').notNull().default(''),
  /** HMAC-SHA256 key of the signature header; NodePulse must keep it readable to sign. */
  secret: text('secret').notNull(),
  /** Event types to send; empty sends every type. */
  eventTypes: jsonb('event_types').$type<string[]>().notNull().default([]),
  minSeverity: text('min_severity', { enum: SEVERITIES }).notNull().default('warning'),
  /** While a node stays down, its alert is sent again every this many seconds (0: once). */
  repeatSeconds: integer('repeat_seconds').notNull().default(0),
  enabled: boolean('enabled').notNull().default(true),
  ...timestamps,
})

/** One attempt series of sending one event to one webhook; `repeat` counts reminders of the same event. */
export const webhookDeliveries = pgTable('webhook_deliveries', {
  id: serial('id').primaryKey(),
  webhookId: integer('webhook_id').notNull().references(() => webhooks.id, { onDelete: 'cascade' }),
  eventId: bigint('event_id', { mode: 'number' }).notNull(),
  repeat: integer('repeat').notNull().default(0),
  state: text('state', { enum: DELIVERY_STATES }).notNull().default('pending'),
  attempts: integer('attempts').notNull().default(0),
  nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
  responseStatus: integer('response_status'),
  error: text('error'),
  durationMs: integer('duration_ms'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  deliveredAt: timestamp('delivered_at', { withTimezone: true }),
}, t => [
  // The same event (and reminder) goes to a webhook once, even if two instances both enqueue it.
  uniqueIndex('webhook_deliveries_once_key').on(t.webhookId, t.eventId, t.repeat),
  index('webhook_deliveries_due_idx').on(t.nextAttemptAt).where(sql`${t.state} = 'pending'`),
  index('webhook_deliveries_webhook_idx').on(t.webhookId, t.id),
])

export const users = pgTable('users', {
  id: serial('id').primaryKey(),
  username: text('username').notNull(),
  passwordHash: text('password_hash').notNull(),
  role: text('role', { enum: ROLES }).notNull(),
  lastLoginAt: timestamp('last_login_at', { withTimezone: true }),
  ...timestamps,
}, t => [uniqueIndex('users_username_key').on(t.username)])

export const TOKEN_KINDS = ['api', 'stream'] as const

/** User API tokens and short-lived stream tickets; only SHA-256 hashes are kept. */
export const apiTokens = pgTable('api_tokens', {
  id: serial('id').primaryKey(),
  name: text('name').notNull(),
  kind: text('kind', { enum: TOKEN_KINDS }).notNull().default('api'),
  role: text('role', { enum: ROLES }).notNull(),
  tokenHash: text('token_hash').notNull(),
  userId: integer('user_id').references(() => users.id, { onDelete: 'cascade' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  expiresAt: timestamp('expires_at', { withTimezone: true }),
}, t => [
  uniqueIndex('api_tokens_token_hash_key').on(t.tokenHash),
  index('api_tokens_expires_at_idx').on(t.expiresAt),
])

/** Browser sessions: the sealed cookie holds a random id whose hash is here, so logout really ends it. */
export const sessions = pgTable('sessions', {
  id: serial('id').primaryKey(),
  tokenHash: text('token_hash').notNull(),
  userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
}, t => [
  uniqueIndex('sessions_token_hash_key').on(t.tokenHash),
  index('sessions_user_id_idx').on(t.userId),
])

/** Instance-wide settings created at first start (the session sealing secret). */
export const settings = pgTable('settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
})

export type NodeRow = typeof nodes.$inferSelect
export type SampleRow = typeof nodeSamples.$inferSelect
/** A sample's figures: what ingest stores and what the registry keeps of each node's newest sample. */
export type SampleValues = Pick<SampleRow, 'ts' | 'cpuPercent' | 'memoryPercent' | 'diskPercent' | 'uptimeSeconds' | 'activeBackups' | 'detail'>
export type EventRow = typeof events.$inferSelect
export type IncidentRow = typeof incidents.$inferSelect
export type SilenceRow = typeof silences.$inferSelect
export type RequestLogRow = typeof requestLog.$inferSelect
export type AlertRuleRow = typeof alertRules.$inferSelect
export type MemberRow = typeof members.$inferSelect
export type WebhookRow = typeof webhooks.$inferSelect
export type DeliveryRow = typeof webhookDeliveries.$inferSelect
export type UserRow = typeof users.$inferSelect
export type ApiTokenRow = typeof apiTokens.$inferSelect
