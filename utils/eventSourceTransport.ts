/**
 * The browser's one EventSource transport, plain TypeScript (no Vue, so unit tests need no
 * Nuxt). Every caller of the same URL shares one EventSource. Same-origin pages authenticate
 * with the session cookie: no token ever appears in a stream URL (stream tokens are for
 * cross-origin clients).
 */
import { takeEarlySource } from './earlyStream'

/** Where a stream connection stands. */
export type StreamState = 'connecting' | 'connected' | 'reconnecting' | 'gave_up' | 'closed'

/** A stream's condition; a new object on every change. */
export interface StreamStatus {
  state: StreamState
  /** Failed reconnects in a row. */
  attempts: number
  /** What went wrong last, for the page to show; null while healthy. */
  error: string | null
  /** The HTTP status the server refused the stream with (401, 403, 404); null otherwise. */
  refusedWith: number | null
  /** True once the stream ended for good: refused, or ended by the server (its node was deleted). */
  ended: boolean
  /** The last id the stream gave (or the one it resumed from): where a reconnect resumes. */
  lastEventId: string | null
}

/** One data message, its JSON parsed; `type` is `message` for unnamed ones. */
export interface StreamMessage<T = unknown> { type: string, id: string, data: T }

export interface StreamOptions {
  /** Named events that carry data; unnamed messages always do. */
  eventTypes?: readonly string[]
  /** Failed reconnects in a row before giving up (10). */
  maxAttempts?: number
  initialDelayMs?: number
  maxDelayMs?: number
  /** A connection that hears nothing this long is taken as dead; only for streams with heartbeat events. */
  silenceMs?: number
  /** Where the first connection resumes from (e.g. a persisted id); later ones resume from the last id seen. */
  resumeFrom?: () => string | null
}

/** What one caller hears. Method syntax on purpose: a listener typed for its own `T` joins any stream. */
export interface StreamListener<T = unknown> {
  message?(message: StreamMessage<T>): void
  /** The server's greeting; `id`: the position it gave, if any. */
  connected?(id: string | null): void
  /** The server could not resume where asked; `id`: where to resume from now. */
  reset?(reason: string, id: string | null): void
  /** Any change of the status. */
  change?(status: StreamStatus): void
}

/** One caller's hold on a shared stream. */
export interface StreamHandle<T = unknown> {
  readonly status: StreamStatus
  /** The newest data message, so a caller joining late has it at once. */
  readonly latest: StreamMessage<T> | null
  /** Reconnects now with a fresh count of attempts (after `gave_up`, or any time). */
  retry(): void
  /** Leaves the stream; the last caller to leave closes it. */
  release(): void
}

/** Failed reconnects in a row before a stream gives up, unless told otherwise. */
export const STREAM_MAX_ATTEMPTS = 10

/** The status of a stream nobody holds. */
export const CLOSED_STREAM: StreamStatus = Object.freeze({ state: 'closed', attempts: 0, error: null, refusedWith: null, ended: false, lastEventId: null })

interface Entry {
  readonly status: StreamStatus
  readonly latest: StreamMessage | null
  listeners: Set<StreamListener>
  retry(): void
  close(): void
}

const entries = new Map<string, Entry>()
const CONTROL_EVENTS = ['connected', 'heartbeat', 'reset']
const REFUSALS: Record<number, string> = {
  401: 'Your session has ended; log in again',
  403: 'Your session has ended; log in again',
  404: 'Not found',
}

/**
 * EventSource hides the status of a refused stream; one plain request tells it (401 logged out,
 * 404 no such node). The body is not read: the request is aborted as soon as headers arrive.
 */
async function refusalStatus(url: string): Promise<number | null> {
  const controller = new AbortController()
  try {
    const response = await fetch(url, { signal: controller.signal, credentials: 'same-origin', headers: { accept: 'text/event-stream' } })
    return response.ok ? null : response.status
  }
  catch {
    return null
  }
  finally {
    controller.abort()
  }
}

function parse(raw: MessageEvent): unknown {
  try {
    return JSON.parse(raw.data)
  }
  catch {
    return null
  }
}

function field(data: unknown, key: string): unknown {
  return typeof data === 'object' && data !== null ? (data as Record<string, unknown>)[key] : undefined
}

/** `url` with the position to resume from: the last id, or else the time of the server's last word. */
function resumeUrl(url: string, lastEventId: string | null, since: number | null): string {
  const params = new URLSearchParams()
  if (lastEventId) params.set('lastEventId', lastEventId)
  else if (since !== null) params.set('since', String(since))
  const query = params.toString()
  return query ? `${url}${url.includes('?') ? '&' : '?'}${query}` : url
}

function open(url: string, options: StreamOptions): Entry {
  const { eventTypes = [], maxAttempts = STREAM_MAX_ATTEMPTS, initialDelayMs = 1000, maxDelayMs = 30_000, silenceMs, resumeFrom } = options
  const listeners = new Set<StreamListener>()
  let status: StreamStatus = CLOSED_STREAM
  let latest: StreamMessage | null = null
  let source: EventSource | null = null
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  let silenceTimer: ReturnType<typeof setTimeout> | undefined
  // Bumped by every connect and close, so a refusal probe that answers late changes nothing.
  let generation = 0
  let since: number | null = null

  function set(patch: Partial<StreamStatus>) {
    status = { ...status, ...patch }
    for (const listener of listeners) listener.change?.(status)
  }

  function drop() {
    clearTimeout(retryTimer)
    clearTimeout(silenceTimer)
    source?.close()
    source = null
  }

  function end(patch: Partial<StreamStatus>) {
    drop()
    set({ state: 'closed', ended: true, ...patch })
  }

  function fail(reason: string) {
    drop()
    if (status.attempts >= maxAttempts) return set({ state: 'gave_up', error: reason })
    const delay = Math.min(initialDelayMs * 2 ** status.attempts, maxDelayMs)
    set({ state: 'reconnecting', attempts: status.attempts + 1, error: reason })
    // Up to 20 % jitter, so a restarted server is not hit by every browser in the same instant.
    retryTimer = setTimeout(connect, delay * (1 + Math.random() * 0.2))
  }

  function heard() {
    if (silenceMs === undefined) return
    clearTimeout(silenceTimer)
    silenceTimer = setTimeout(() => fail('The stream went silent'), silenceMs)
  }

  function noteTime(data: unknown) {
    const timestamp = field(data, 'timestamp')
    if (typeof timestamp === 'number') since = timestamp
  }

  function greeted(id: string | null) {
    set({ state: 'connected', attempts: 0, error: null, ...(id ? { lastEventId: id } : {}) })
    for (const listener of listeners) listener.connected?.(status.lastEventId)
  }

  function deliver(raw: MessageEvent, data: unknown) {
    if (data === null) return
    noteTime(data)
    if (raw.lastEventId) set({ lastEventId: raw.lastEventId })
    const message: StreamMessage = { type: raw.type, id: raw.lastEventId, data }
    latest = message
    for (const listener of listeners) listener.message?.(message)
  }

  // Seed 000 streams send their greeting and their end in-band, as unnamed data with an `event` field.
  function onUnnamed(raw: MessageEvent) {
    heard()
    const data = parse(raw)
    const event = field(data, 'event')
    if (event === 'connected') return greeted(raw.lastEventId || null)
    if (event === 'deleted') return end({ error: 'The server ended the stream' })
    deliver(raw, data)
  }

  function onNamed(raw: MessageEvent) {
    heard()
    deliver(raw, parse(raw))
  }

  // Seed 002 streams name theirs; the greeting and a reset carry the position even before any event.
  function onControl(raw: MessageEvent) {
    heard()
    const data = parse(raw)
    noteTime(data)
    if (raw.type === 'connected') return greeted(raw.lastEventId || null)
    if (raw.type !== 'reset') return
    set({ lastEventId: raw.lastEventId || null })
    const message = field(data, 'message') ?? field(data, 'reason')
    for (const listener of listeners) listener.reset?.(typeof message === 'string' ? message : 'reset', status.lastEventId)
  }

  async function onError() {
    // The browser retries a dropped connection by itself, but not a refused one (non-200): only a
    // refusal is worth a probe. Either way the transport reconnects itself, resuming explicitly.
    const refused = source?.readyState === EventSource.CLOSED
    drop()
    if (!refused) return fail('Connection lost')
    const current = generation
    const refusal = await refusalStatus(url)
    if (current !== generation) return
    if (refusal !== null && REFUSALS[refusal]) return end({ refusedWith: refusal, error: REFUSALS[refusal] })
    fail(refusal === null ? 'Connection lost' : `The server answered ${refusal}`)
  }

  function connect() {
    drop()
    generation++
    const position = status.lastEventId ?? resumeFrom?.() ?? null
    set({ state: status.attempts === 0 ? 'connecting' : 'reconnecting', lastEventId: position })
    // The page's inline script may have opened this stream already (the dashboard's, see earlyStream.ts).
    const early = generation === 1 && position === null ? takeEarlySource(url) : null
    source = early?.source ?? new EventSource(resumeUrl(url, position, since))
    source.onmessage = onUnnamed
    for (const name of CONTROL_EVENTS) source.addEventListener(name, onControl)
    for (const name of eventTypes) source.addEventListener(name, onNamed)
    source.onerror = () => void onError()
    heard()
    // What it heard before is handed on once the first caller listens (acquireStream adds it right
    // after opening), ahead of anything the stream hears next.
    if (early?.buffered.length) {
      const current = generation
      queueMicrotask(() => {
        for (const raw of early.buffered) {
          if (current !== generation) return
          if (raw.type === 'message') onUnnamed(raw)
          else if (CONTROL_EVENTS.includes(raw.type)) onControl(raw)
          else onNamed(raw)
        }
      })
    }
  }

  function retry() {
    set({ attempts: 0, ended: false, refusedWith: null })
    connect()
  }

  // The network came back: no reason to wait out the backoff.
  const onOnline = () => {
    if (status.state === 'reconnecting' || status.state === 'gave_up') retry()
  }
  globalThis.window?.addEventListener('online', onOnline)

  connect()
  return {
    get status() {
      return status
    },
    get latest() {
      return latest
    },
    listeners,
    retry,
    close() {
      generation++
      drop()
      globalThis.window?.removeEventListener('online', onOnline)
    },
  }
}

/**
 * Joins the stream at `url`, opening it for the first caller (whose options it keeps) and closing
 * it after the last one leaves. It reconnects with backoff (1 s doubling to 30 s, up to 20 %
 * jitter), resuming from the last id, and stops in `gave_up` after `maxAttempts` failures in a
 * row until `retry()`. A refusal (401, 403, 404) or the server's own end stops it in `closed`.
 */
export function acquireStream<T>(url: string, options: StreamOptions, listener: StreamListener<T>): StreamHandle<T> {
  let entry = entries.get(url)
  if (!entry) {
    entry = open(url, options)
    entries.set(url, entry)
  }
  const joined = entry
  // A copy per caller: the same listener passed twice still counts as two callers.
  const own = { ...listener }
  joined.listeners.add(own)
  let released = false
  return {
    get status() {
      return joined.status
    },
    get latest() {
      // The entry is shared by callers of one URL, who agree on its messages' type.
      return joined.latest as StreamMessage<T> | null
    },
    retry: () => joined.retry(),
    release: () => {
      if (released) return
      released = true
      joined.listeners.delete(own)
      if (joined.listeners.size > 0) return
      joined.close()
      entries.delete(url)
    },
  }
}
