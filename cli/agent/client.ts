/**
 * The agent's side of the ingest contract: POSTs reports and events with the node token and
 * turns each answer into what the agent does next (sent, retry later, stop, set aside).
 */
import http, { type IncomingHttpHeaders } from 'node:http'
import type { AgentSettings } from './settings'

/** What an answer means for the agent. */
export type SendOutcome =
  | { kind: 'ok' }
  /** Try again later (no connection, timeout, 5xx, 429); `retryAfterMs` from the server's Retry-After. */
  | { kind: 'retry', reason: string, retryAfterMs?: number }
  /** 401 or 403: the token is wrong, or another node's. */
  | { kind: 'auth', status: number, message: string }
  /** 404: the server has no such node. */
  | { kind: 'unknown-node', message: string }
  /**
   * Any other 4xx: the server will never take this body; resending it would loop forever. For a 422
   * naming only fields of samples in a batch (`samples.12.timestamp`), `invalidSamples` lists those samples.
   */
  | { kind: 'refused', status: number, message: string, invalidSamples?: number[] }

/** An answer, with the server's clock offset when it sent a Date header. */
export type SendResult = SendOutcome & { skewMs?: number }

/** Retry-After as milliseconds from `now` (seconds or an HTTP date); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/** How far the local clock is ahead of the server's (negative: behind), from its Date header. */
export function clockSkewMs(date: string | null, now = Date.now()): number | undefined {
  const at = date ? Date.parse(date) : Number.NaN
  return Number.isNaN(at) ? undefined : now - at
}

const serverMessage = (text: string): string => {
  try {
    const body: unknown = JSON.parse(text)
    if (typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string') return body.message
  }
  catch {
    // not JSON: the text itself
  }
  return text.slice(0, 200)
}

/**
 * The samples of a batch a 422 names, from the error body's `data.issues[].path` (server/error.ts,
 * server/utils/http.ts): `samples.<i>.<field>`. Undefined when any issue is not about one sample
 * (or the body is not that shape): then the whole batch is at fault.
 */
export function invalidSampleIndexes(text: string): number[] | undefined {
  let body: unknown
  try {
    body = JSON.parse(text)
  }
  catch {
    return undefined
  }
  const issues = (body as { data?: { issues?: unknown } } | null)?.data?.issues
  if (!Array.isArray(issues) || !issues.length) return undefined
  const out = new Set<number>()
  for (const issue of issues) {
    const m = /^samples\.(\d+)(?:\.|$)/.exec(typeof issue?.path === 'string' ? issue.path : '')
    if (!m) return undefined
    out.add(Number(m[1]))
  }
  return [...out].sort((a, b) => a - b)
}

/** Maps an HTTP answer to what the agent does next. */
export function classify(status: number, headers: IncomingHttpHeaders, text: string, nodeId: number): SendOutcome {
  if (status >= 200 && status < 300) return { kind: 'ok' }
  const said = serverMessage(text)
  if (status === 401) return { kind: 'auth', status, message: `the server refused the token (401 ${said}): it is wrong, or the node's token was regenerated; put the current one in NODEPULSE_TOKEN or the token file` }
  if (status === 403) return { kind: 'auth', status, message: `the token belongs to another node, not node ${nodeId} (403 ${said}); check --node-id / NODEPULSE_NODE_ID against the Nodes page` }
  if (status === 404) return { kind: 'unknown-node', message: `the server has no node ${nodeId} (404 ${said}); it was deleted or the id is wrong` }
  if (status === 429 || status === 408 || status >= 500) {
    return { kind: 'retry', reason: `the server answered ${status}${said ? ` (${said})` : ''}`, retryAfterMs: parseRetryAfter(headers['retry-after'] ?? null) }
  }
  const invalidSamples = status === 422 ? invalidSampleIndexes(text) : undefined
  return { kind: 'refused', status, message: `${status} ${said}`, ...(invalidSamples ? { invalidSamples } : {}) }
}

const reasonOf = (error: unknown): string => {
  const code = (error as NodeJS.ErrnoException).code
  return code ? `${code}${error instanceof Error && error.message && !error.message.includes(code) ? `: ${error.message}` : ''}` : String(error)
}

interface Answer { status: number, headers: IncomingHttpHeaders, text: string }

// node:http rather than fetch: about 10 MB less resident memory, and no refused "bad ports" (fetch will not call port 6000, 6665–6669, …).
// One keep-alive socket, reused every interval. node:https (TLS and all of node:crypto, ~1 MB) is loaded only for an https:// server.
type Transport = { request: typeof http.request, agent: http.Agent }
let plain: Promise<Transport> | undefined
let secure: Promise<Transport> | undefined
const transportFor = (url: URL): Promise<Transport> => (url.protocol === 'https:'
  ? secure ??= import('node:https').then(https => ({ request: https.request, agent: new https.Agent({ keepAlive: true, maxSockets: 2 }) }))
  : plain ??= Promise.resolve({ request: http.request, agent: new http.Agent({ keepAlive: true, maxSockets: 2 }) }))

/** One POST; rejects on no connection, on `timeoutMs` without a whole answer, or when `stop` aborts. */
async function post(url: URL, headers: Record<string, string>, body: string, timeoutMs: number, stop?: AbortSignal): Promise<Answer> {
  const { request, agent } = await transportFor(url)
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) }, agent }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    const fail = (message: string, code: string) => req.destroy(Object.assign(new Error(message), { code }))
    const timer = setTimeout(() => fail('no answer in time', 'ETIMEDOUT'), timeoutMs)
    const onStop = () => fail('the agent is stopping', 'ABORTED')
    stop?.addEventListener('abort', onStop)
    req.on('error', reject)
    req.on('close', () => {
      clearTimeout(timer)
      stop?.removeEventListener('abort', onStop)
    })
    req.end(body)
  })
}

export interface AgentClient {
  /** POSTs a stats report (one sample or `{samples:[…]}`, already serialized). */
  sendStats: (body: string, timeoutMs: number) => Promise<SendResult>
  /** POSTs an agent event (e.g. `error_report`). */
  sendEvent: (event: { event_type: 'error_report', message: string, severity?: 'warning', data?: Record<string, unknown> }, timeoutMs: number) => Promise<SendResult>
}

/** A client for one node on one server; `stop` aborts a request in flight (it then counts as not sent). */
export function createClient(settings: Pick<AgentSettings, 'server' | 'nodeId' | 'token'>, version: string, stop?: AbortSignal): AgentClient {
  const headers = { 'authorization': `Bearer ${settings.token}`, 'content-type': 'application/json', 'user-agent': `nodepulse-agent/${version}` }
  const send = async (path: string, body: string, timeoutMs: number): Promise<SendResult> => {
    try {
      const res = await post(new URL(`${settings.server}/api/v1/nodes/${settings.nodeId}/${path}`), headers, body, timeoutMs, stop)
      return { ...classify(res.status, res.headers, res.text, settings.nodeId), skewMs: clockSkewMs(res.headers.date ?? null) }
    }
    catch (error) {
      return { kind: 'retry', reason: reasonOf(error) }
    }
  }
  return {
    sendStats: (body, timeoutMs) => send('stats', body, timeoutMs),
    sendEvent: (event, timeoutMs) => send('events', JSON.stringify(event), timeoutMs),
  }
}
