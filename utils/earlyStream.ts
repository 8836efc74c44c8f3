import type { SessionState } from '../shared/contracts/rest'

/** Seconds between the dashboard's messages (the seed's default); the header and the page share it. */
export const DASHBOARD_INTERVAL = 5

/** The dashboard's delta stream at `interval` seconds. */
export const dashboardStreamUrl = (interval: number) => `/api/v1/metrics/nodes/stats/delta?interval=${interval}`

/** The named events of the dashboard's stream that carry data. */
export const DASHBOARD_EVENTS = ['snapshot', 'delta'] as const

/** What the page's inline head script started before any bundle loaded (see earlyScript). */
export interface EarlyStart {
  /** The session check's answer (null when it failed: the app asks again). */
  session: Promise<SessionState | null> | null
  /** The dashboard's stream, opened once the check found a user; null until then, or after it was taken or dropped. */
  source: EventSource | null
  url: string
  /** Its messages so far, for the transport that takes it over. */
  buffered: MessageEvent[]
  /** The listener that keeps them. */
  keep: ((event: MessageEvent) => void) | null
  /** The stream failed before it was taken: the transport opens its own. */
  failed: boolean
  /** The app has taken (or declined) the stream: the check no longer opens one. */
  done: boolean
}

declare global {
  interface Window { __nodepulseEarly?: EarlyStart }
}

/**
 * The inline script of the page's head: a visit that opens on the dashboard asks who is logged in
 * at once and, for a user, opens the dashboard's stream, keeping its messages, while the page's
 * scripts are still on the way (at 10,000 nodes the first snapshot is the slowest answer the page
 * waits for). The auth store takes the check over (takeEarlySession) and the stream transport the
 * stream (takeEarlySource). An anonymous visit opens no stream (no 401 on its way to the login page).
 */
export function earlyScript(): string {
  const url = JSON.stringify(dashboardStreamUrl(DASHBOARD_INTERVAL))
  const events = JSON.stringify(['connected', 'heartbeat', 'reset', ...DASHBOARD_EVENTS])
  return `(function(){if(location.pathname!=='/'||!window.fetch||!window.EventSource)return;`
    + `var e=window.__nodepulseEarly={session:null,source:null,url:${url},buffered:[],keep:null,failed:false,done:false};`
    + `e.session=fetch('/api/v1/auth/session',{credentials:'same-origin',headers:{accept:'application/json'}})`
    + `.then(function(r){return r.ok?r.json():null}).then(function(s){if(s&&s.user&&!e.done){var x=new EventSource(e.url);`
    + `e.source=x;e.keep=function(m){e.buffered.push(m)};x.onmessage=e.keep;${events}.forEach(function(t){x.addEventListener(t,e.keep)});`
    + `x.onerror=function(){e.failed=true}}return s},function(){return null})})()`
}

const early = (): EarlyStart | undefined => globalThis.window?.__nodepulseEarly

/** The inline script's session check, once (null when there is none to take). */
export function takeEarlySession(): Promise<SessionState | null> | null {
  const start = early()
  const session = start?.session ?? null
  if (start) start.session = null
  return session
}

/**
 * The inline script's stream of `url` with the messages it kept, once, unless it failed (then it
 * is closed); its own listeners are removed, so the caller's are the only ones from now on.
 */
export function takeEarlySource(url: string): { source: EventSource, buffered: MessageEvent[] } | null {
  const start = early()
  if (!start || start.url !== url) return null
  start.done = true
  const { source, buffered, keep } = start
  start.source = null
  start.buffered = []
  if (!source) return null
  if (keep) {
    source.onmessage = null
    for (const type of ['connected', 'heartbeat', 'reset', ...DASHBOARD_EVENTS]) source.removeEventListener(type, keep)
  }
  source.onerror = null
  if (start.failed || source.readyState === EventSource.CLOSED) {
    source.close()
    return null
  }
  return { source, buffered }
}

/** Closes the inline script's stream if nothing took it (the first page was not the dashboard after all). */
export function dropEarlySource(): void {
  const start = early()
  if (!start) return
  start.done = true
  start.source?.close()
  start.source = null
  start.buffered = []
}
