const percentFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 })

/** "12.5 %", or a dash when the node has not reported the value. */
export function formatPercent(value: number | null): string {
  return value === null ? '—' : `${percentFormat.format(value)} %`
}

/** "12 s ago", "5 min ago", "3 h ago", "2 d ago" relative to `now` (ms). */
export function formatRelative(iso: string | null, now: number): string {
  if (!iso) return 'never'
  const seconds = Math.floor((now - new Date(iso).getTime()) / 1000)
  // A server clock slightly ahead of the browser's would otherwise show negative ages.
  if (seconds < 1) return 'just now'
  if (seconds < 60) return `${seconds} s ago`
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`
  return `${Math.floor(seconds / 86_400)} d ago`
}

// One formatter for every row: toLocaleTimeString builds a new one per call (~0.1 ms each, per row per render).
const clockFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })

/** "14:03:07": a time of day in the browser's locale, 24-hour. */
export function formatClock(iso: string): string {
  return clockFormat.format(new Date(iso))
}

// toLocaleString's own fields (numeric date and time), in one formatter: the dashboard's clock
// re-renders every card's "last seen" title each second, and toLocaleString builds one per call.
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })

/** A date and time in the browser's locale (as toLocaleString writes it), or a dash. */
export function formatDateTime(iso: string | null): string {
  return iso ? dateTimeFormat.format(new Date(iso)) : '—'
}

const countFormat = new Intl.NumberFormat('en')

/** "1 node", "2 nodes", "1,000 nodes": a count with its noun in the right number. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${countFormat.format(count)} ${count === 1 ? one : many}`
}

/** A time (ms) as the value of an `<input type="datetime-local">`, in local time. */
export function localInputValue(ms: number): string {
  return new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16)
}
