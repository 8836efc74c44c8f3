/** Where a stream connection stands. */
export type SSEState = 'connecting' | 'connected' | 'reconnecting' | 'gave_up' | 'closed'

/** One named message from the stream, its JSON data parsed. */
export interface SSEMessage<T = unknown> { type: string, id: string, data: T }

/** Query filters; arrays repeat the parameter (`?severity=warning&severity=error`). */
export type SSEFilters = Record<string, string | number | readonly (string | number)[] | null | undefined>

export interface SSEOptions<T> {
  /** Same-origin stream path, e.g. `/api/v1/events/stream`. */
  path: string
  filters?: MaybeRefOrGetter<SSEFilters>
  /** Named events to listen for (`connected`, `heartbeat` and `reset` are always handled). */
  eventTypes: readonly string[]
  /** How many messages `events` keeps (100). */
  bufferSize?: number
  initialDelayMs?: number
  maxDelayMs?: number
  /** Failed reconnects in a row before giving up (10). */
  maxAttempts?: number
  /** A connection that hears nothing (not even a heartbeat) this long is taken as dead (45 s). */
  silenceMs?: number
  /** Where the first connection resumes from (e.g. a persisted id); later ones resume from the last id seen. */
  resumeFrom?: () => string | null
  /** A short-lived ticket for `?token=`; defaults to `POST /api/v1/auth/stream-token`. */
  ticket?: () => Promise<string>
  onMessage?: (message: SSEMessage<T>) => void
  /** The server could not resume where asked: whatever the caller keeps is now incomplete. `id`: where to resume from now. */
  onReset?: (reason: string, id: string | null) => void
  /** `id`: the stream position the greeting gave, if any. */
  onConnected?: (id: string | null) => void
  /** The ticket was refused with 401: the session is over. */
  onUnauthorized?: () => void
}

/** Failed reconnects in a row before the stream gives up, unless told otherwise. */
export const SSE_MAX_ATTEMPTS = 10

const CONTROL = new Set(['connected', 'heartbeat', 'reset'])

async function defaultTicket(): Promise<string> {
  const { token } = await $fetch<{ token: string }>('/api/v1/auth/stream-token', { method: 'POST' })
  return token
}

function queryOf(filters: SSEFilters, extra: Record<string, string | null>): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(filters)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== null && item !== undefined && item !== '') params.append(key, String(item))
    }
  }
  for (const [key, value] of Object.entries(extra)) if (value) params.set(key, value)
  return params.toString()
}

/**
 * An EventSource that survives: every (re)connect fetches a fresh stream ticket and resumes from
 * the last id seen, so neither an expired ticket nor a restarted server loses an event. On any
 * error it closes the EventSource itself (the browser would retry with the old, maybe expired
 * ticket) and retries with exponential backoff; after `maxAttempts` failures in a row it stops in
 * `gave_up` until `retry()`. Not tied to a component: call `connect()`/`close()` (a component
 * scope closes it on unmount).
 */
export function useSSE<T = unknown>(options: SSEOptions<T>) {
  const { bufferSize = 100, initialDelayMs = 1000, maxDelayMs = 30_000, maxAttempts = SSE_MAX_ATTEMPTS, silenceMs = 45_000 } = options
  const state = ref<SSEState>('closed')
  const attempts = ref(0)
  const error = ref<string | null>(null)
  // Oldest first, newest last.
  const events = shallowRef<SSEMessage<T>[]>([])
  const lastEvent = shallowRef<SSEMessage<T> | null>(null)
  const lastEventId = ref<string | null>(null)

  let source: EventSource | null = null
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  let silenceTimer: ReturnType<typeof setTimeout> | undefined
  // Bumped by every connect and close, so a ticket that arrives late opens nothing.
  let generation = 0
  // Without an id to resume from, a reconnect asks for everything since the server's last word.
  let since: number | null = null

  function drop() {
    clearTimeout(retryTimer)
    clearTimeout(silenceTimer)
    source?.close()
    source = null
  }

  function fail(reason: string) {
    drop()
    error.value = reason
    if (attempts.value >= maxAttempts) {
      state.value = 'gave_up'
      return
    }
    const delay = Math.min(initialDelayMs * 2 ** attempts.value, maxDelayMs)
    attempts.value++
    state.value = 'reconnecting'
    const current = generation
    // Up to 20 % jitter, so a restarted server is not hit by every browser in the same instant.
    retryTimer = setTimeout(() => current === generation && void open(), delay * (1 + Math.random() * 0.2))
  }

  function heard() {
    clearTimeout(silenceTimer)
    silenceTimer = setTimeout(() => fail('The stream went silent'), silenceMs)
  }

  function parse(raw: MessageEvent): unknown {
    try {
      return JSON.parse(raw.data)
    }
    catch {
      return null
    }
  }

  function onNamed(raw: MessageEvent) {
    heard()
    const data = parse(raw) as T | null
    if (data === null) return
    // A resume by time may repeat the last second's events: each is passed on once.
    if (raw.lastEventId && events.value.some(m => m.id === raw.lastEventId)) return
    if (raw.lastEventId) lastEventId.value = raw.lastEventId
    const timestamp = (data as { timestamp?: unknown }).timestamp
    if (typeof timestamp === 'number') since = timestamp
    const message: SSEMessage<T> = { type: raw.type, id: raw.lastEventId, data }
    const kept = events.value.length >= bufferSize ? events.value.slice(events.value.length - bufferSize + 1) : events.value
    events.value = [...kept, message]
    lastEvent.value = message
    options.onMessage?.(message)
  }

  function onControl(raw: MessageEvent) {
    heard()
    const data = parse(raw) as { timestamp?: number, reason?: string, message?: string } | null
    if (typeof data?.timestamp === 'number') since = data.timestamp
    if (raw.type === 'heartbeat') return
    // The greeting and a reset carry the position to resume from, even before any event.
    if (raw.type === 'reset') lastEventId.value = raw.lastEventId || null
    else if (raw.lastEventId) lastEventId.value = raw.lastEventId
    if (raw.type === 'connected') {
      state.value = 'connected'
      attempts.value = 0
      error.value = null
      options.onConnected?.(lastEventId.value)
    }
    else {
      options.onReset?.(data?.message ?? data?.reason ?? 'reset', lastEventId.value)
    }
  }

  async function open() {
    drop()
    const current = ++generation
    state.value = attempts.value === 0 ? 'connecting' : 'reconnecting'
    let token: string
    try {
      token = await (options.ticket ?? defaultTicket)()
    }
    catch (e) {
      if (current !== generation) return
      if (toApiError(e).status === 401) {
        close()
        options.onUnauthorized?.()
        return
      }
      return fail(toApiError(e).message)
    }
    if (current !== generation) return
    const resume = lastEventId.value ?? options.resumeFrom?.() ?? null
    const query = queryOf(toValue(options.filters) ?? {}, {
      token,
      lastEventId: resume,
      since: resume || since === null ? null : String(since),
    })
    source = new EventSource(`${options.path}?${query}`)
    for (const name of CONTROL) source.addEventListener(name, onControl)
    for (const name of options.eventTypes) source.addEventListener(name, onNamed)
    source.onerror = () => fail('Connection to the event stream lost')
    heard()
  }

  /** Opens the stream (again), starting a fresh count of attempts. */
  function connect() {
    attempts.value = 0
    void open()
  }

  /** Closes the stream for good: no request is made after this until `connect()`. */
  function close() {
    generation++
    drop()
    state.value = 'closed'
    since = null
    lastEventId.value = null
  }

  /** Empties the message buffer (the connection stays as it is). */
  function clear() {
    events.value = []
    lastEvent.value = null
  }

  // New filters need a new stream; it resumes where the old one stopped.
  watch(() => JSON.stringify(toValue(options.filters) ?? {}), () => {
    if (state.value !== 'closed') connect()
  })

  // The network came back: no reason to wait out the backoff.
  const onOnline = () => {
    if (state.value === 'reconnecting' || state.value === 'gave_up') connect()
  }
  window.addEventListener('online', onOnline)
  if (getCurrentScope()) {
    onScopeDispose(() => {
      window.removeEventListener('online', onOnline)
      close()
    })
  }

  return {
    state: readonly(state),
    attempts: readonly(attempts),
    error: readonly(error),
    events,
    lastEvent,
    lastEventId: readonly(lastEventId),
    connect,
    close,
    clear,
    /** After `gave_up` (or any time): try again now. */
    retry: connect,
  }
}
