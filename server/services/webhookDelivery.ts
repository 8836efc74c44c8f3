import { createHmac, randomBytes } from 'node:crypto'
import { lookup as dnsLookup, promises as dns, type LookupAddress } from 'node:dns'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { BlockList, isIP, type LookupFunction } from 'node:net'
import type { IncidentView } from '../../shared/contracts/incidents'
import { type EventView, type Severity, SEVERITY_RANK } from '../../shared/contracts/seed002'
import { isIncidentEvent, notifiedSeverity } from './incidents'
import { matchesLabels, parseLabelSelector } from '../../shared/contracts/channels'

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

/** What a channel asks for: event types (empty means all), a minimum severity, and a node label selector (empty means every node). */
export interface WebhookFilter { eventTypes: string[], minSeverity: Severity, labelSelector?: string }

/**
 * Whether an event passes a channel's type, severity and label filters. A channel that names no
 * types gets one notification per incident change (opened, acknowledged, resolved) instead of the
 * events the incident collects; one that names types gets exactly those. An incident event is
 * judged by its incident's severity, so a channel that got the opening also gets the resolution.
 * `labels` are the labels of the event's node (null for an event without one).
 */
export function matchesWebhook(hook: WebhookFilter, event: { type: string, severity: Severity, incidentId?: number | null, data?: Record<string, unknown> }, labels: Record<string, string> | null = null): boolean {
  if (hook.eventTypes.length === 0) {
    if (event.incidentId != null && !isIncidentEvent(event.type)) return false
  }
  else if (!hook.eventTypes.includes(event.type)) return false
  if (SEVERITY_RANK[notifiedSeverity(event)] < SEVERITY_RANK[hook.minSeverity]) return false
  const terms = parseLabelSelector(hook.labelSelector ?? '')
  // A stored selector was checked when it was saved; one that no longer parses filters nothing out rather than silencing the channel.
  return typeof terms === 'string' || matchesLabels(terms, labels)
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
  /** The event's incident as it stands when sent (a reminder's says how long it has been open). */
  incident?: IncidentView
  /** A reminder's line: "Incident #3 still open after 12 min: Node db-1 is down". */
  reminder?: string
}

export interface SendResult {
  ok: boolean
  status: number | null
  error: string | null
  durationMs: number
}

const PRIVATE = new BlockList()
for (const [net, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv4')
}
// Unspecified, loopback, unique local, link-local, multicast. (BlockList checks IPv4 addresses against
// IPv6 rules as IPv4-mapped, so the mapped range cannot be a rule here: it is refused below.)
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv6')
}

/** Whether an IP address is private, loopback, link-local, unspecified or multicast (not a public receiver). */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address)
  // An IPv4-mapped IPv6 address (::ffff:…) is refused whatever it maps: no public receiver needs one.
  if (family === 6 && /^(0{0,4}:){0,5}:?ffff:/i.test(address)) return true
  return family !== 0 && PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6')
}

const PRIVATE_CODE = 'NODEPULSE_PRIVATE_ADDRESS'

/** DNS lookup for the connection itself: a name resolving to any private address fails, so a re-resolve cannot slip past. */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, options, (error, address, family) => {
    if (error) return callback(error, address, family)
    const addresses = Array.isArray(address) ? (address as LookupAddress[]).map(a => a.address) : [address]
    if (addresses.some(isPrivateAddress)) return callback(Object.assign(new Error('private address'), { code: PRIVATE_CODE }), address, family)
    callback(null, address, family)
  })
}

/**
 * The address to connect to for `host`, for clients that resolve names themselves (SMTP): resolved
 * here and refused when any address is private, so the check and the connection use the same one.
 */
export async function publicAddress(host: string): Promise<string> {
  const bare = host.replace(/^\[|\]$/g, '')
  const addresses = isIP(bare) ? [bare] : (await dns.lookup(bare, { all: true })).map(a => a.address)
  if (!addresses.length || addresses.some(isPrivateAddress)) throw Object.assign(new Error('private address'), { code: PRIVATE_CODE })
  return addresses[0]!
}

const result = (ok: boolean, status: number | null, error: string | null, durationMs: number): SendResult => ({ ok, status, error, durationMs })

/** One HTTP request of a delivery, as a channel's format builder makes it. */
export interface HttpRequest {
  url: string
  method: 'POST' | 'PUT'
  headers: Record<string, string>
  body: string
}

/** How every attempt is made, whatever the channel. */
export interface AttemptOptions {
  timeoutMs: number
  userAgent: string
  /** Refuse receivers on private, loopback and link-local addresses, checked on the addresses DNS gives (NODEPULSE_WEBHOOK_BLOCK_PRIVATE). */
  blockPrivate?: boolean
  /** Aborts the request (NodePulse is stopping). */
  signal?: AbortSignal
}

/** Why an attempt ended without an answer: the timeout, NodePulse stopping, or the network error's code. */
export function describeAttemptError(error: unknown, timeout: AbortSignal, o: AttemptOptions): string {
  if (timeout.aborted) return `no answer within ${o.timeoutMs / 1000} s (NODEPULSE_WEBHOOK_TIMEOUT)`
  if (o.signal?.aborted) return 'NodePulse stopped during the attempt'
  return describeNetworkError(error)
}

/**
 * Sends one request. Redirects are not followed (a receiver must answer itself, and a redirect
 * could point anywhere), and the outcome is returned, never thrown: a status other than 2xx, a
 * network error or a timeout is `ok: false` with a short reason that names neither a secret nor
 * the URL (viewers read it, and chat services put their token in the URL).
 */
export function sendHttp(request: HttpRequest, o: AttemptOptions): Promise<SendResult> {
  const timeout = AbortSignal.timeout(o.timeoutMs)
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  const url = new URL(request.url)
  if (o.blockPrivate && isPrivateAddress(url.hostname.replace(/^\[|\]$/g, ''))) {
    return Promise.resolve(result(false, null, 'refused: the receiver is on a private address (NODEPULSE_WEBHOOK_BLOCK_PRIVATE)', 0))
  }
  return new Promise((resolve) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      method: request.method,
      signal,
      lookup: o.blockPrivate ? publicOnlyLookup : undefined,
      headers: { 'content-length': Buffer.byteLength(request.body), 'user-agent': o.userAgent, ...request.headers },
    }, (res) => {
      // The answer's body is of no use to NodePulse: read it away so the connection can be reused.
      res.resume()
      const status = res.statusCode ?? 0
      const ok = status >= 200 && status < 300
      const redirect = status >= 300 && status < 400 ? ' (redirects are not followed)' : ''
      resolve(result(ok, status, ok ? null : `receiver answered HTTP ${status}${redirect}`, elapsed()))
    })
    req.on('error', error => resolve(result(false, null, describeAttemptError(error, timeout, o), elapsed())))
    req.end(request.body)
  })
}

/** The signed JSON POST of a `webhook` channel: the payload with the X-NodePulse-* headers. */
export function webhookRequest(url: string, secret: string, deliveryId: number, payload: WebhookPayload): HttpRequest {
  const body = JSON.stringify(payload)
  const timestamp = Math.floor(Date.now() / 1000)
  return {
    url, method: 'POST', body,
    headers: {
      'content-type': 'application/json',
      'x-nodepulse-event': payload.event.event_type,
      'x-nodepulse-delivery': String(deliveryId),
      'x-nodepulse-timestamp': String(timestamp),
      'x-nodepulse-signature': signPayload(secret, timestamp, body),
    },
  }
}

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_|HOSTNAME_MISMATCH)/

/**
 * A network error as a short reason from its code alone: messages can carry the host, the path
 * or the query, and a URL's path or query often holds the receiver's own secret.
 */
export function describeNetworkError(error: unknown): string {
  const code = String((error as { code?: unknown }).code ?? '')
  switch (code) {
    case PRIVATE_CODE: return 'refused: the receiver resolves to a private address (NODEPULSE_WEBHOOK_BLOCK_PRIVATE)'
    case 'ECONNREFUSED': return 'could not connect: connection refused'
    case 'ENOTFOUND': case 'EAI_AGAIN': case 'EAI_NONAME': return 'could not connect: host not found'
    case 'EHOSTUNREACH': case 'ENETUNREACH': case 'ETIMEDOUT': return 'could not connect: host unreachable'
    case 'ECONNRESET': case 'EPIPE': return 'the receiver closed the connection'
  }
  if (TLS_CODE.test(code)) return `TLS error (${code})`
  return /^[A-Z][A-Z0-9_]{1,40}$/.test(code) ? `request failed (${code})` : 'request failed'
}
