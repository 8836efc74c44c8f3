import { type EventView, SEVERITIES, type Severity, SEVERITY_RANK } from '../shared/contracts/seed002'

/** How the Events page orders its list: newest first, or most severe first (then newest). */
export type EventOrder = 'newest' | 'severity'

/** What the Events page filters on (empty values mean "any") and how it orders the list. */
export interface EventFilters {
  event_type: string
  min_severity: Severity | ''
  node_id: number | null
  cluster_id: string
  unacknowledged: boolean
  order: EventOrder
}

export const NO_FILTERS: EventFilters = { event_type: '', min_severity: '', node_id: null, cluster_id: '', unacknowledged: false, order: 'newest' }

type QueryValue = string | null | (string | null)[] | undefined
const first = (v: QueryValue): string => (Array.isArray(v) ? v[0] : v) ?? ''
const isSeverity = (v: string): v is Severity => (SEVERITIES as readonly string[]).includes(v)

/** Filters from a page URL's query (`?event_type=&min_severity=&node_id=&cluster_id=&unacknowledged=1&order=severity`). */
export function parseEventFilters(query: Record<string, QueryValue>): EventFilters {
  const severity = first(query.min_severity)
  const node = first(query.node_id)
  return {
    event_type: first(query.event_type),
    min_severity: isSeverity(severity) ? severity : '',
    node_id: /^[1-9]\d{0,9}$/.test(node) ? Number(node) : null,
    cluster_id: first(query.cluster_id).trim(),
    unacknowledged: first(query.unacknowledged) === '1',
    order: first(query.order) === 'severity' ? 'severity' : 'newest',
  }
}

/** The page URL's query for filters, defaults left out. */
export function eventFiltersQuery(f: EventFilters): Record<string, string> {
  const query: Record<string, string> = {}
  if (f.event_type) query.event_type = f.event_type
  if (f.min_severity) query.min_severity = f.min_severity
  if (f.node_id !== null) query.node_id = String(f.node_id)
  if (f.cluster_id) query.cluster_id = f.cluster_id
  if (f.unacknowledged) query.unacknowledged = '1'
  if (f.order !== 'newest') query.order = f.order
  return query
}

/** The same filters for `GET /api/v1/events` (which always pages newest first). */
export function eventHistoryQuery(f: EventFilters): Record<string, string> {
  const { unacknowledged, ...rest } = eventFiltersQuery(f)
  delete rest.order
  return unacknowledged ? { ...rest, acknowledged: 'false' } : rest
}

/** Orders events for the list: newest first, or by severity (error first), newest first within one. */
export function compareEvents(order: EventOrder): (a: EventView, b: EventView) => number {
  if (order === 'severity') return (a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || b.id - a.id
  return (a, b) => b.id - a.id
}

/** Whether an event passes the filters, as the server would decide for the history. */
export function matchesEventFilters(e: EventView, f: EventFilters): boolean {
  return (!f.event_type || e.event_type === f.event_type)
    && (!f.min_severity || SEVERITY_RANK[e.severity] >= SEVERITY_RANK[f.min_severity])
    && (f.node_id === null || e.node_id === f.node_id)
    && (!f.cluster_id || e.cluster_id === f.cluster_id)
    && (!f.unacknowledged || e.acknowledged_at === null)
}

/** The filters `GET /api/v1/incidents` shares with the Events page: node, minimum severity, unacknowledged. */
export function incidentQuery(f: EventFilters): Record<string, string> {
  const query: Record<string, string> = {}
  if (f.node_id !== null) query.node_id = String(f.node_id)
  if (f.min_severity) query.min_severity = f.min_severity
  if (f.unacknowledged) query.acknowledged = 'false'
  return query
}
