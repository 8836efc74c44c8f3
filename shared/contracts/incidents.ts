/**
 * Incidents (issue 15): one problem from open to resolved — a node down (unreachable → stale →
 * offline), a cluster degraded, a threshold rule firing for a node. An incident collects the events
 * of its problem, is acknowledged once, resolves itself when the problem ends, and is what webhooks
 * notify and the header's bell counts. `GET /api/v1/incidents`, `GET /api/v1/incidents/{id}`,
 * `POST /api/v1/incidents/{id}/acknowledge`, `POST /api/v1/incidents/acknowledge` (every match of a filter).
 */
import { z } from 'zod'
import { repeatable } from './common'
import { type EventView, SEVERITIES, type Severity } from './seed002'

export const INCIDENT_KINDS = ['node', 'cluster', 'threshold'] as const
export type IncidentKind = (typeof INCIDENT_KINDS)[number]

/** The event types that open and resolve an incident of each kind (what a silence of those types also mutes). */
export const INCIDENT_KIND_TYPES: Record<IncidentKind, readonly string[]> = {
  node: ['node_unreachable', 'node_reachable', 'node_status_update', 'valkey_node_down', 'valkey_node_up'],
  cluster: ['cluster_status_update'],
  threshold: ['threshold_exceeded', 'threshold_recovered'],
}

/** The events an incident's changes of state are logged as (and webhooks notify). */
export const INCIDENT_EVENT_TYPES = ['incident_opened', 'incident_acknowledged', 'incident_resolved'] as const
export type IncidentEventType = (typeof INCIDENT_EVENT_TYPES)[number]

export const INCIDENT_STATES = ['open', 'resolved'] as const
export type IncidentState = (typeof INCIDENT_STATES)[number]

/** One incident as the API, the pages and webhook payloads show it. */
export interface IncidentView {
  id: number
  kind: IncidentKind
  node_id: number | null
  cluster_id: string | null
  /** The highest severity among its events. */
  severity: Severity
  title: string
  state: IncidentState
  opened_at: string
  resolved_at: string | null
  acknowledged_at: string | null
  acknowledged_by: string | null
  /** Seconds from opening to resolution, or to now while open. */
  duration_seconds: number
  event_count: number
  last_event_at: string
  /** The active silence covering it (its node, labels or kind): it notifies nobody and the bell leaves it out. */
  silenced_by: { id: number, reason: string } | null
}

/** `GET /api/v1/incidents`: newest first; `next_cursor` pages to older ones. */
export interface IncidentPage { incidents: IncidentView[], next_cursor: number | null }

/** `GET /api/v1/incidents/{id}`: the incident and its events, oldest first. */
export interface IncidentDetail extends IncidentView { events: EventView[] }

/** "42 s", "5 min", "3 h 20 min": an incident's duration in words (webhook messages and the pages say it alike). */
export function describeDuration(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`
  const minutes = Math.round(seconds / 60)
  if (minutes < 60) return `${minutes} min`
  return minutes % 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes / 60} h`
}

/** `POST /api/v1/incidents/acknowledge`: how many incidents this acknowledged, and which. */
export interface AcknowledgeAllAnswer { acknowledged: number, ids: number[] }

const severity = z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')}` })
const nodeId = z.string().regex(/^[1-9]\d{0,9}$/, 'must be a positive whole number').transform(Number)
  .pipe(z.number().max(2_147_483_647, 'is too large to be an id'))

/** Filters of the list and of "acknowledge all"; node_id, severity and kind may repeat. */
export const incidentFilterQuery = z.strictObject({
  state: z.enum(INCIDENT_STATES, { error: 'must be open or resolved' }).optional(),
  acknowledged: z.enum(['true', 'false'], { error: 'must be true or false' }).transform(v => v === 'true').optional(),
  node_id: repeatable(nodeId),
  severity: repeatable(severity),
  min_severity: severity.optional(),
  kind: repeatable(z.enum(INCIDENT_KINDS, { error: `must be one of ${INCIDENT_KINDS.join(', ')}` })),
})
export type IncidentFilter = z.output<typeof incidentFilterQuery>

export const incidentListQuery = incidentFilterQuery.extend({
  cursor: z.string().regex(/^\d{1,10}$/, 'must be a next_cursor value from a previous page').transform(Number).optional(),
  limit: z.string().regex(/^\d+$/, 'must be a whole number').transform(Number)
    .pipe(z.number().min(1, 'must be at least 1').max(500, 'must be at most 500')).optional(),
})
export type IncidentListQuery = z.output<typeof incidentListQuery>
