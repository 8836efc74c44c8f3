import type { Ref, ShallowRef } from 'vue'

/** One EventSource shared by every caller of the same URL. */
export interface SharedStream<T> {
  /** The newest data message (not the `connected` one). */
  data: ShallowRef<T | null>
  /** True between the server's `connected` message and the next error. */
  connected: Ref<boolean>
  /** What went wrong, for the page to show; null while healthy. */
  error: Ref<string | null>
  /** True once the stream ended for good (its node was deleted, or the server refused it). */
  ended: Ref<boolean>
  /** The HTTP status the server refused the stream with (401, 404…); null otherwise. */
  refusedWith: Ref<number | null>
}

interface Entry<T> extends SharedStream<T> { users: number, close: () => void }

const entries = new Map<string, Entry<unknown>>()
const RETRY_MIN_MS = 1000
const RETRY_MAX_MS = 30_000

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

function open<T>(url: string): Entry<T> {
  const entry: Entry<T> = {
    data: shallowRef(null), connected: ref(false), error: ref(null), ended: ref(false), refusedWith: ref(null),
    users: 0, close: () => {},
  }
  let source: EventSource | undefined
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  let delay = RETRY_MIN_MS
  let closed = false

  const end = (message: string) => {
    entry.ended.value = true
    entry.connected.value = false
    entry.error.value = message
    source?.close()
  }

  const retry = () => {
    retryTimer = setTimeout(connect, delay)
    delay = Math.min(delay * 2, RETRY_MAX_MS)
  }

  const onRefused = async () => {
    const status = await refusalStatus(url)
    if (closed) return
    if (status === 401 || status === 403 || status === 404) {
      entry.refusedWith.value = status
      end(status === 404 ? 'Not found' : 'Your session has ended; log in again')
      return
    }
    retry()
  }

  function connect() {
    // Same origin: the session cookie authenticates, so no token ever appears in the URL.
    source = new EventSource(url, { withCredentials: true })
    source.onmessage = (message) => {
      let payload: { event?: string }
      try {
        payload = JSON.parse(message.data)
      }
      catch {
        return
      }
      if (payload.event === 'connected') {
        entry.connected.value = true
        entry.error.value = null
        delay = RETRY_MIN_MS
        return
      }
      if (payload.event === 'deleted') return end('This node was deleted')
      entry.data.value = payload as T
    }
    source.onerror = () => {
      entry.connected.value = false
      if (entry.ended.value) return
      entry.error.value = 'Connection lost; reconnecting…'
      // The browser retries by itself after a dropped connection, but not after a refusal (non-200).
      if (source?.readyState === EventSource.CLOSED) void onRefused()
    }
  }
  connect()
  entry.close = () => {
    closed = true
    clearTimeout(retryTimer)
    source?.close()
  }
  return entry
}

/** Joins the stream at `url`, opening it for the first caller; release() closes it after the last. */
export function acquireStream<T>(url: string): { stream: SharedStream<T>, release: () => void } {
  let entry = entries.get(url) as Entry<T> | undefined
  if (!entry) {
    entry = open<T>(url)
    entries.set(url, entry as Entry<unknown>)
  }
  entry.users++
  let released = false
  return {
    stream: entry,
    release: () => {
      if (released || !entry) return
      released = true
      if (--entry.users === 0) {
        entry.close()
        entries.delete(url)
      }
    },
  }
}
