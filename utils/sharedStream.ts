import type { Ref, ShallowRef } from 'vue'

/** One EventSource shared by every caller of the same URL. */
export interface SharedStream<T> {
  /** The newest data message (not the `connected` one). */
  data: ShallowRef<T | null>
  /** True between the server's `connected` message and the next error. */
  connected: Ref<boolean>
  /** What went wrong, for the page to show; null while healthy. */
  error: Ref<string | null>
  /** True once the stream ended for good (e.g. its node was deleted). */
  ended: Ref<boolean>
}

interface Entry<T> extends SharedStream<T> { users: number, close: () => void }

const entries = new Map<string, Entry<unknown>>()
const RETRY_MIN_MS = 1000
const RETRY_MAX_MS = 30_000

function open<T>(url: string): Entry<T> {
  const entry: Entry<T> = {
    data: shallowRef(null), connected: ref(false), error: ref(null), ended: ref(false), users: 0, close: () => {},
  }
  let source: EventSource | undefined
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  let delay = RETRY_MIN_MS

  const connect = () => {
    // Same origin: the session cookie authenticates, so no token ever appears in the URL.
    source = new EventSource(url, { withCredentials: true })
    source.onmessage = (message) => {
      const payload = JSON.parse(message.data) as { event?: string }
      if (payload.event === 'connected') {
        entry.connected.value = true
        entry.error.value = null
        delay = RETRY_MIN_MS
        return
      }
      if (payload.event === 'deleted') {
        entry.ended.value = true
        entry.connected.value = false
        entry.error.value = 'This node was deleted'
        source?.close()
        return
      }
      entry.data.value = payload as T
    }
    source.onerror = () => {
      entry.connected.value = false
      if (entry.ended.value) return
      entry.error.value = 'Connection lost; reconnecting…'
      // The browser retries by itself unless the server refused the stream (e.g. logged out, 404).
      if (source?.readyState === EventSource.CLOSED) {
        retryTimer = setTimeout(connect, delay)
        delay = Math.min(delay * 2, RETRY_MAX_MS)
      }
    }
  }
  connect()
  entry.close = () => {
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
