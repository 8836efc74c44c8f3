/**
 * Seed 002 (002_6ccf38f21c9b94bb.txt): events and alerts. The event stream
 * `/api/v1/events/stream` sends `event: <event_type>` with an {@link EventView}; its control
 * messages are `connected`, `heartbeat` and `reset`. Filters come as query parameters and are
 * shared with the history (`GET /api/v1/events`).
 */
import { z } from 'zod'
import { reportTimestamp, repeatable, timeParam } from './common'
import type { ResetReason } from './seed001'

export const SEVERITIES = ['info', 'success', 'warning', 'error'] as const
export type Severity = (typeof SEVERITIES)[number]
/** Severity as a priority: higher is more urgent (orders the UI, `min_severity` filters). */
export const SEVERITY_RANK: Record<Severity, number> = { info: 0, success: 1, warning: 2, error: 3 }
const severity = z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')}` })

/** Event types NodePulse computes and persists. */
export const EVENT_TYPES = [
  'node_status_update', 'node_registered', 'node_updated', 'node_removed', 'node_token_rotated',
  'node_unreachable', 'node_reachable', 'node_maintenance',
  'backup_started', 'backup_completed', 'backup_failed',
  'cluster_status_update', 'error_report', 'event_acknowledged',
  'valkey_node_down', 'valkey_node_up', 'valkey_failover', 'valkey_node_left', 'valkey_node_joined',
  'threshold_exceeded', 'threshold_recovered',
  'incident_opened', 'incident_acknowledged', 'incident_resolved',
  'silence_created', 'silence_started', 'silence_changed', 'silence_ended', 'silence_deleted',
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
  /** The incident this event belongs to (NodePulse's addition: one problem's events from open to resolved). */
  incident_id: number | null
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
  /** Open incidents nobody has acknowledged yet: what the header's bell counts. */
  open_incidents: number
}

const numberList = repeatable(z.string().regex(/^[1-9]\d{0,9}$/, 'must be a positive whole number').transform(Number)
  .pipe(z.number().max(2_147_483_647, 'is too large to be an id')))
const textList = repeatable(z.string().min(1, 'must not be empty').max(255, 'must be at most 255 characters'))

/** Filters shared by the event stream and history; each may repeat (`?severity=warning&severity=error`). */
export const eventFilterQuery = z.object({
  node_id: numberList,
  cluster_id: textList,
  resource_type: textList,
  event_type: textList,
  severity: repeatable(severity),
  min_severity: severity.optional(),
})
export type EventFilter = z.output<typeof eventFilterQuery>

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
  severity: severity.optional(),
  resource_type: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, 'must be 1–32 lowercase letters, digits or "_"').optional(),
  timestamp: reportTimestamp.optional(),
  data: z.record(z.string(), z.unknown()).optional(),
})
export type AgentEventBody = z.output<typeof agentEventBody>

/** `event: connected`: the first message, echoing the filters in force. */
export interface EventStreamConnected { event_type: 'connected', timestamp: number, filters: EventFilter }
/** `event: heartbeat`. */
export interface EventStreamHeartbeat { event_type: 'heartbeat', timestamp: number }
/** `event: reset`: missed events cannot be replayed; reload the history. */
export interface EventStreamReset { event_type: 'reset', reason: ResetReason, message: string, timestamp: number }
