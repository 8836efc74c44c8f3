import type { StreamMessage } from '~/utils/eventSourceTransport'

/** One named message from the stream, its JSON data parsed. */
export type SSEMessage<T = unknown> = StreamMessage<T>

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
  onMessage?: (message: SSEMessage<T>) => void
  /** The server could not resume where asked: whatever the caller keeps is now incomplete. `id`: where to resume from now. */
  onReset?: (reason: string, id: string | null) => void
  /** `id`: the stream position the greeting gave, if any. */
  onConnected?: (id: string | null) => void
}

function streamUrl(path: string, filters: SSEFilters): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(filters)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== null && item !== undefined && item !== '') params.append(key, String(item))
    }
  }
  const query = params.toString()
  return query ? `${path}?${query}` : path
}

/**
 * Seed 002's hook: a named-event stream on the shared transport (utils/eventSourceTransport.ts),
 * which reconnects with backoff, resumes from the last id seen, and after `maxAttempts` failures
 * in a row stops in `gave_up` until `retry()`. Not tied to a component: call `connect()`/`close()`
 * (a component scope closes it on unmount). New filters open a new stream that resumes where the
 * old one stopped. A session that ended sends the user to log in (useSharedStream).
 */
export function useSSE<T = unknown>(options: SSEOptions<T>) {
  const { path, filters, eventTypes, bufferSize = 100, initialDelayMs, maxDelayMs, maxAttempts, silenceMs = 45_000, resumeFrom } = options
  const open = ref(false)
  // Oldest first, newest last.
  const events = shallowRef<SSEMessage<T>[]>([])
  const lastEvent = shallowRef<SSEMessage<T> | null>(null)
  // Where this hook's stream stopped: a new stream (new filters) resumes from here.
  let position: string | null = null

  const url = computed(() => (open.value ? streamUrl(path, toValue(filters) ?? {}) : null))
  const stream = useSharedStream<T>(url, {
    eventTypes, initialDelayMs, maxDelayMs, maxAttempts, silenceMs,
    resumeFrom: () => position ?? resumeFrom?.() ?? null,
  }, {
    change: (status) => {
      position = status.lastEventId
    },
    message(message) {
      // A resume by time may repeat the last second's events: each is passed on once.
      if (message.id && events.value.some(m => m.id === message.id)) return
      const kept = events.value.length >= bufferSize ? events.value.slice(events.value.length - bufferSize + 1) : events.value
      events.value = [...kept, message]
      lastEvent.value = message
      options.onMessage?.(message)
    },
    connected: id => options.onConnected?.(id),
    reset: (reason, id) => options.onReset?.(reason, id),
  })

  /** Opens the stream (again), starting a fresh count of attempts. */
  function connect() {
    if (open.value) stream.retry()
    else open.value = true
  }

  /** Closes the stream for good: no request is made after this until `connect()`. */
  function close() {
    open.value = false
    position = null
  }

  /** Empties the message buffer (the connection stays as it is). */
  function clear() {
    events.value = []
    lastEvent.value = null
  }

  return {
    state: computed(() => stream.status.value.state),
    attempts: computed(() => stream.status.value.attempts),
    error: computed(() => stream.status.value.error),
    events,
    lastEvent,
    lastEventId: computed(() => stream.status.value.lastEventId),
    connect,
    close,
    clear,
    /** After `gave_up` (or any time): try again now. */
    retry: connect,
  }
}
