import type { IncidentView } from '~~/shared/contracts/incidents'

/** "42 s", "5 min", "3 h 20 min". */
export function formatSeconds(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`
  const minutes = Math.round(seconds / 60)
  return minutes < 120 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`
}

/** How long an incident has lasted: an open one's duration runs on to `now` (ms). */
export function incidentDuration(i: IncidentView, now: number): string {
  if (i.resolved_at) return `lasted ${formatSeconds(i.duration_seconds)}`
  return `open for ${formatSeconds(Math.max(0, (now - Date.parse(i.opened_at)) / 1000))}`
}

/** Open, acknowledged (and still open) or resolved. */
export function incidentStateLabel(i: IncidentView): string {
  if (i.resolved_at) return 'Resolved'
  return i.acknowledged_at ? 'Acknowledged' : 'Open'
}
