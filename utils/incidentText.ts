import { describeDuration, type IncidentView } from '~~/shared/contracts/incidents'

/** How long an incident has lasted: an open one's duration runs on to `now` (ms). */
export function incidentDuration(i: IncidentView, now: number): string {
  if (i.resolved_at) return `lasted ${describeDuration(i.duration_seconds)}`
  return `open for ${describeDuration(Math.max(0, (now - Date.parse(i.opened_at)) / 1000))}`
}

/** Open, acknowledged (and still open) or resolved. */
export function incidentStateLabel(i: IncidentView): string {
  if (i.resolved_at) return 'Resolved'
  return i.acknowledged_at ? 'Acknowledged' : 'Open'
}
