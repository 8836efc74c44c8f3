import type { LocationQuery } from 'vue-router'
import { describeDuration, INCIDENT_KIND_TYPES, type IncidentView } from '../shared/contracts/incidents'
import type { EventType } from '../shared/contracts/seed002'
import { parseLabel, SILENCEABLE_TYPES, type SilenceView } from '../shared/contracts/silences'
import { eventTypeLabel } from './eventText'
import { formatRelative } from './format'
import type { Labels } from './labels'

/** The silence an event was muted by (`data.silenced_by`), if any. */
export function silenceMarkOf(data: Record<string, unknown>): { id: number, reason: string } | null {
  const mark = data.silenced_by
  if (typeof mark !== 'object' || mark === null) return null
  const { id, reason } = mark as Record<string, unknown>
  return typeof id === 'number' && typeof reason === 'string' ? { id, reason } : null
}

/** Whether a silence names a node: by id (and its label too, when given) or by a label the node carries. */
export function silenceCoversNode(s: SilenceView, node: { id: number, labels: Labels }): boolean {
  if (s.node_ids.length && !s.node_ids.includes(node.id)) return false
  if (s.label) {
    const [name, value] = parseLabel(s.label)
    if (node.labels[name] !== value) return false
  }
  return s.node_ids.length > 0 || s.label !== null
}

/** What a silence mutes, in words, hostnames for ids: "db-1, db-2 · env=prod · Backup failed". */
export function describeSilenceMatchers(s: SilenceView, hostnames: ReadonlyMap<number, string>): string {
  return [
    s.node_ids.map(id => hostnames.get(id) ?? `node ${id}`).join(', '),
    s.label ?? '',
    s.event_types.map(eventTypeLabel).join(', '),
  ].filter(Boolean).join(' · ')
}

/** Where a silence's time stands: "ends in 3 h 20 min", "starts in 5 min", "ended 2 h ago". */
export function silenceTimeText(s: SilenceView, now: number): string {
  const end = Date.parse(s.ended_at ?? s.ends_at)
  if (s.state === 'scheduled') return `starts in ${describeDuration((Date.parse(s.starts_at) - now) / 1000)}, lasts ${describeDuration((end - Date.parse(s.starts_at)) / 1000)}`
  if (s.state === 'active') return `ends in ${describeDuration(Math.max(0, (end - now) / 1000))}`
  return `${s.ended_at ? 'ended early' : 'ended'} ${formatRelative(new Date(end).toISOString(), now)}`
}

/** A new silence's fields given in the URL (`?silence_node=7&silence_types=…&silence_reason=…`). */
export interface SilenceDraftSeed { nodeIds: number[], label: string, eventTypes: EventType[], reason: string }

/** The query keys that fill in a new silence. */
export const SILENCE_SEED_KEYS: readonly string[] = ['silence_node', 'silence_label', 'silence_types', 'silence_reason']

/** A new silence's fields from the URL, or null when it names none. */
export function silenceSeedFromQuery(query: LocationQuery): SilenceDraftSeed | null {
  const text = (key: string) => (typeof query[key] === 'string' ? query[key] : '')
  if (!SILENCE_SEED_KEYS.some(k => text(k))) return null
  const node = Number(text('silence_node'))
  return {
    nodeIds: Number.isInteger(node) && node > 0 ? [node] : [],
    label: text('silence_label'),
    eventTypes: SILENCEABLE_TYPES.filter(t => text('silence_types').split(',').includes(t)),
    reason: text('silence_reason'),
  }
}

/** The query that opens the Silences view with a form for a node. */
export const silenceNodeQuery = (id: number, hostname: string): Record<string, string> =>
  ({ view: 'silences', silence_node: String(id), silence_reason: `Maintenance of ${hostname}` })

/** The query that opens the Silences view with a form filled in for an incident: its node, or its cluster; its kind's types. */
export function silenceIncidentQuery(i: IncidentView): Record<string, string> {
  const query: Record<string, string> = { view: 'silences', silence_reason: `Incident #${i.id}: ${i.title}` }
  if (i.node_id !== null) query.silence_node = String(i.node_id)
  else if (i.cluster_id) query.silence_label = `cluster=${i.cluster_id}`
  if (i.kind !== 'node' || i.node_id === null) query.silence_types = INCIDENT_KIND_TYPES[i.kind].join(',')
  return query
}
