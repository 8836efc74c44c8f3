import { type EventView, type Severity, SEVERITY_RANK } from '../shared/contracts/seed002'
import { eventTitle, isMaintenanceEvent } from './eventText'
import { plural } from './format'
import { silenceMarkOf } from './silences'

/** One toast to show: `id` set means it replaces the toast shown with the same id. */
export interface ToastRequest {
  id?: string
  severity: Severity
  title: string
  description: string
  /** ms; Infinity stays until closed. */
  duration: number
}

/** How long a toast of each severity stays: errors until closed. */
export const TOAST_DURATION: Record<Severity, number> = { info: 5000, success: 5000, warning: 10_000, error: Number.POSITIVE_INFINITY }

/** Types never toasted: bookkeeping, not news (an incident's changes repeat its events, which toast; the bell counts incidents). */
const QUIET_TYPES = new Set(['event_acknowledged', 'incident_opened', 'incident_acknowledged', 'incident_resolved'])

/** Whether an event deserves a toast: not bookkeeping, not about a node in maintenance, not muted by a silence. */
export function isToastable(e: EventView): boolean {
  return !QUIET_TYPES.has(e.event_type) && !isMaintenanceEvent(e) && silenceMarkOf(e.data) === null
}

export interface ToasterOptions {
  show: (toast: ToastRequest) => void
  /** Toasts shown one by one within `windowMs` before the rest are collapsed into one (3). */
  burst?: number
  windowMs?: number
  now?: () => number
}


/**
 * Turns stream events into toasts. The first `burst` within a second are shown one by one; past
 * that, one summary toast counts the rest (updated in place, not stacked) until a quiet second
 * passes. A replay after a reconnect therefore shows a few toasts and a count, never a hundred.
 */
export function createEventToaster({ show, burst = 3, windowMs = 1000, now = Date.now }: ToasterOptions) {
  let recent: number[] = []
  let summary: { count: number, bySeverity: Record<Severity, number>, serial: number } | null = null
  let lastAt = 0
  let serial = 0

  function summarize() {
    const s = summary!
    const top = (Object.keys(s.bySeverity) as Severity[]).reduce((a, b) => (SEVERITY_RANK[b] > SEVERITY_RANK[a] && s.bySeverity[b] ? b : a), 'info')
    const parts = (['error', 'warning'] as const).filter(k => s.bySeverity[k]).map(k => plural(s.bySeverity[k], k))
    show({
      id: `event-summary-${s.serial}`,
      severity: top,
      title: `${plural(s.count, 'more event')} just arrived`,
      description: parts.length ? `Among them ${parts.join(' and ')}. See the Events page.` : 'See the Events page for the list.',
      duration: TOAST_DURATION[top],
    })
  }

  /** Offers one event; shows it, counts it in the summary, or ignores it. */
  function push(e: EventView) {
    if (!isToastable(e)) return
    const at = now()
    if (summary && at - lastAt > windowMs) summary = null
    lastAt = at
    recent = recent.filter(t => at - t < windowMs)
    if (!summary && recent.length < burst) {
      recent.push(at)
      show({ severity: e.severity, title: eventTitle(e), description: e.message, duration: TOAST_DURATION[e.severity] })
      return
    }
    summary ??= { count: 0, bySeverity: { info: 0, success: 0, warning: 0, error: 0 }, serial: ++serial }
    summary.count++
    summary.bySeverity[e.severity]++
    summarize()
  }

  return { push }
}
