import { acquireStream, CLOSED_STREAM, type StreamHandle, type StreamListener, type StreamOptions, type StreamStatus } from '~/utils/eventSourceTransport'

/**
 * Joins the shared stream at `url` (utils/eventSourceTransport.ts) for as long as the calling
 * scope lives; a getter URL re-joins when it changes, null joins none. `listener` hears what this
 * caller acts on; `status` and `data` (the newest message's) follow the stream. A stream refused
 * with 401 means the session ended: the auth store sends the user to log in again.
 */
export function useSharedStream<T>(url: MaybeRefOrGetter<string | null>, options: StreamOptions = {}, listener: StreamListener<T> = {}) {
  const auth = useAuthStore()
  const status = shallowRef<StreamStatus>(CLOSED_STREAM)
  const data = shallowRef<T | null>(null)
  let handle: StreamHandle<T> | null = null

  const caller: StreamListener<T> = {
    ...listener,
    message(message) {
      data.value = message.data
      listener.message?.(message)
    },
    change(next) {
      status.value = next
      listener.change?.(next)
    },
  }

  // Synchronous, so a release takes effect at once.
  watch(() => toValue(url), (value) => {
    handle?.release()
    handle = value ? acquireStream<T>(value, options, caller) : null
    status.value = handle?.status ?? CLOSED_STREAM
    data.value = handle?.latest?.data ?? null
  }, { immediate: true, flush: 'sync' })
  onScopeDispose(() => handle?.release())

  loginOnRefusal(status, auth)

  return {
    status,
    data,
    /** What went wrong, for the page to show; null while healthy. */
    error: computed(() => streamErrorText(status.value)),
    /** Reconnects now (after `gave_up`, or any time). */
    retry: () => handle?.retry(),
  }
}

/** What went wrong with a stream, for the page to show; null while healthy. */
export function streamErrorText({ state, error }: StreamStatus): string | null {
  return state === 'reconnecting' && error ? `${error}; reconnecting…` : error
}

/** A stream refused with 401 means the session ended: the auth store sends the user to log in again. */
export function loginOnRefusal(status: Ref<StreamStatus>, auth = useAuthStore()): void {
  watch(() => status.value.refusedWith, (refusal) => {
    if (refusal === 401) void auth.requireLogin()
  })
}
