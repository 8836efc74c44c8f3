import { createHmac, randomBytes } from 'node:crypto'
import { type EventView, type Severity, SEVERITY_RANK } from '../../shared/contracts/seed002'

/** The most a retry waits, however many attempts failed before. */
export const MAX_BACKOFF_MS = 5 * 60_000

/** A new signing secret: 256 random bits with a prefix that says what it is. */
export function generateWebhookSecret(): string {
  return 'npw_' + randomBytes(32).toString('base64url')
}

/** `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`: the X-NodePulse-Signature header. */
export function signPayload(secret: string, timestamp: number, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')
}

/** How long to wait after `attempts` failed attempts: 1 s, 2 s, 4 s … capped at 5 minutes. */
export function backoffMs(attempts: number): number {
  return Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.max(0, Math.min(attempts - 1, 30)))
}

/** What a webhook asks for: event types (empty means all) and a minimum severity. */
export interface WebhookFilter { eventTypes: string[], minSeverity: Severity }

/** Whether an event passes a webhook's type and severity filters. */
export function matchesWebhook(hook: WebhookFilter, event: { type: string, severity: Severity }): boolean {
  return (hook.eventTypes.length === 0 || hook.eventTypes.includes(event.type)) && SEVERITY_RANK[event.severity] >= SEVERITY_RANK[hook.minSeverity]
}

/** An event that says its node went down: the one repeated to webhooks while the node stays down. */
export function isDownEvent(event: { type: string, data: Record<string, unknown> }): boolean {
  return event.type === 'node_unreachable' || (event.type === 'node_status_update' && (event.data.status === 'stale' || event.data.status === 'offline'))
}

/** The JSON a receiver gets. */
export interface WebhookPayload {
  webhook: { id: number, name: string }
  event: EventView
  repeat: number
}

export interface SendResult {
  ok: boolean
  status: number | null
  error: string | null
  durationMs: number
}

export interface SendOptions {
  url: string
  secret: string
  deliveryId: number
  payload: WebhookPayload
  timeoutMs: number
  userAgent: string
  /** Aborts the request (NodePulse is stopping). */
  signal?: AbortSignal
}

/**
 * POSTs one signed delivery. Redirects are not followed (a receiver must answer itself), and the
 * outcome is returned, never thrown: a status other than 2xx, a network error or a timeout is
 * `ok: false` with a short reason that names neither the secret nor the URL.
 */
export async function sendWebhook(o: SendOptions): Promise<SendResult> {
  const body = JSON.stringify(o.payload)
  const timestamp = Math.floor(Date.now() / 1000)
  const timeout = AbortSignal.timeout(o.timeoutMs)
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  try {
    const res = await fetch(o.url, {
      method: 'POST',
      redirect: 'manual',
      signal,
      headers: {
        'content-type': 'application/json',
        'user-agent': o.userAgent,
        'x-nodepulse-event': o.payload.event.event_type,
        'x-nodepulse-delivery': String(o.deliveryId),
        'x-nodepulse-timestamp': String(timestamp),
        'x-nodepulse-signature': signPayload(o.secret, timestamp, body),
      },
      body,
    })
    // The answer's body is of no use to NodePulse; let the connection go.
    await res.body?.cancel().catch(() => {})
    const ok = res.status >= 200 && res.status < 300
    const redirect = res.status >= 300 && res.status < 400 ? ' (redirects are not followed)' : ''
    return { ok, status: res.status, error: ok ? null : `receiver answered HTTP ${res.status}${redirect}`, durationMs: elapsed() }
  }
  catch (error) {
    let reason: string
    if (timeout.aborted) reason = `no answer within ${o.timeoutMs / 1000} s (NODEPULSE_WEBHOOK_TIMEOUT)`
    else if (o.signal?.aborted) reason = 'NodePulse stopped during the attempt'
    else reason = describeFetchError(error)
    return { ok: false, status: null, error: reason, durationMs: elapsed() }
  }
}

/** undici's "fetch failed" hides the reason in `cause` (ECONNREFUSED, ENOTFOUND, a TLS error…). */
function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string, message?: string } }).cause
  if (cause?.code) return `could not connect: ${cause.code}`
  return `request failed: ${cause?.message ?? (error as Error).message ?? String(error)}`.slice(0, 300)
}
