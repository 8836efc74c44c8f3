/**
 * Follows one SSE stream over node:http/https: reconnects with backoff (1 s doubling to 30 s,
 * jittered, or the server's `retry:`/Retry-After) and resumes with Last-Event-ID when the stream
 * gives ids. A refused token (401/403) ends it; anything else (no connection, 404, 5xx, a silent
 * or closed stream) is retried for as long as it takes.
 */
import http, { type IncomingMessage } from 'node:http'
import https from 'node:https'
import { createSseParser, type SseMessage, type SseParser } from './sse'

/** What the stream is doing, for the status line. */
export type StreamState =
  | { state: 'connecting', attempt: number }
  | { state: 'open' }
  | { state: 'retrying', reason: string, inMs: number, attempt: number }

export interface FollowOptions {
  url: URL
  headers: Record<string, string>
  /** Ends the stream (SIGINT, q). */
  signal: AbortSignal
  /** No byte (message or heartbeat) for this long: the connection is taken as dead. */
  idleMs: number
  onMessage: (message: SseMessage) => void
  onState: (state: StreamState) => void
  /** Backoff bounds (tests shorten them). */
  minDelayMs?: number
  maxDelayMs?: number
}

/** Why following stopped: asked to, or the server refused the token. */
export type FollowEnd = { kind: 'stopped' } | { kind: 'refused', status: number, message: string }

type Attempt = { kind: 'refused', status: number, message: string } | { kind: 'lost', reason: string, retryAfterMs?: number }

const readBody = (res: IncomingMessage, max = 4096): Promise<string> => new Promise((resolve) => {
  let text = ''
  res.setEncoding('utf8')
  res.on('data', (c: string) => {
    if (text.length < max) text += c
  })
  res.on('end', () => resolve(text.slice(0, max)))
  res.on('error', () => resolve(text.slice(0, max)))
})

/** The server's `message` from a JSON error body, else the text's start. */
export function serverMessage(text: string): string {
  try {
    const body: unknown = JSON.parse(text)
    if (typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string') return body.message
  }
  catch {
    // not JSON: the text itself
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 120)
}

const reasonOf = (error: unknown): string => {
  const code = (error as NodeJS.ErrnoException).code
  return code ?? (error instanceof Error ? error.message : String(error))
}

/** One connection: resolves when it ends, with what that means. */
function attempt(opts: FollowOptions, parser: SseParser): Promise<Attempt> {
  return new Promise((resolve) => {
    let settled = false
    const done = (a: Attempt) => {
      if (settled) return
      settled = true
      clearTimeout(idle)
      opts.signal.removeEventListener('abort', onAbort)
      req.destroy()
      resolve(a)
    }
    const headers: Record<string, string> = { ...opts.headers, 'accept': 'text/event-stream', 'cache-control': 'no-cache' }
    if (parser.lastEventId) headers['last-event-id'] = parser.lastEventId
    const mod = opts.url.protocol === 'https:' ? https : http
    const req = mod.request(opts.url, { method: 'GET', headers }, async (res) => {
      const status = res.statusCode ?? 0
      if (status === 401 || status === 403) return done({ kind: 'refused', status, message: serverMessage(await readBody(res)) })
      if (status >= 300 && status < 400) {
        res.resume()
        return done({ kind: 'lost', reason: `the server redirects (${status}) to ${res.headers.location ?? '?'}: give that address as --server` })
      }
      if (status !== 200) {
        const said = serverMessage(await readBody(res))
        const hint = status === 404 ? ': is --server the NodePulse address?' : ''
        const retryAfter = Number(res.headers['retry-after'])
        return done({ kind: 'lost', reason: `the server answered ${status}${said ? ` (${said})` : ''}${hint}`, retryAfterMs: Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined })
      }
      if (!res.headers['content-type']?.startsWith('text/event-stream')) {
        res.resume()
        return done({ kind: 'lost', reason: `the server answered ${res.headers['content-type'] ?? 'no content type'}, not an event stream: is --server the NodePulse address?` })
      }
      parser.reset()
      res.setEncoding('utf8')
      opts.onState({ state: 'open' })
      res.on('data', (chunk: string) => {
        armIdle()
        try {
          parser.feed(chunk)
        }
        catch (error) {
          done({ kind: 'lost', reason: reasonOf(error) })
        }
      })
      res.on('end', () => done({ kind: 'lost', reason: 'the server closed the stream' }))
      res.on('error', error => done({ kind: 'lost', reason: reasonOf(error) }))
    })
    let idle: NodeJS.Timeout
    const armIdle = () => {
      clearTimeout(idle)
      idle = setTimeout(() => done({ kind: 'lost', reason: `nothing from the server for ${Math.round(opts.idleMs / 1000)}s` }), opts.idleMs)
    }
    const onAbort = () => done({ kind: 'lost', reason: 'stopped' })
    opts.signal.addEventListener('abort', onAbort)
    req.on('error', error => done({ kind: 'lost', reason: `cannot reach ${opts.url.host}: ${reasonOf(error)}` }))
    armIdle()
    req.end()
  })
}

const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve) => {
  const t = setTimeout(done, ms)
  function done() {
    clearTimeout(t)
    signal.removeEventListener('abort', done)
    resolve()
  }
  signal.addEventListener('abort', done)
})

/** Follows the stream until `signal` aborts or the token is refused. */
export async function followStream(opts: FollowOptions): Promise<FollowEnd> {
  const min = opts.minDelayMs ?? 1000
  const max = opts.maxDelayMs ?? 30_000
  let serverRetry: number | undefined
  let conn = { delivered: false }
  const parser = createSseParser({
    onMessage: (m) => {
      conn.delivered = true
      opts.onMessage(m)
    },
    onRetry: (ms) => {
      serverRetry = ms
    },
  })
  let failures = 0
  while (!opts.signal.aborted) {
    opts.onState({ state: 'connecting', attempt: failures + 1 })
    conn = { delivered: false }
    const a = await attempt(opts, parser)
    if (a.kind === 'refused') return a
    if (opts.signal.aborted) break
    // A connection that delivered something starts the backoff again.
    failures = conn.delivered ? 1 : failures + 1
    const backoff = Math.min(max, (serverRetry ?? min) * 2 ** (failures - 1))
    const inMs = Math.max(a.retryAfterMs ?? 0, Math.round(backoff * (0.75 + Math.random() * 0.25)))
    opts.onState({ state: 'retrying', reason: a.reason, inMs, attempt: failures })
    await sleep(inMs, opts.signal)
  }
  return { kind: 'stopped' }
}
