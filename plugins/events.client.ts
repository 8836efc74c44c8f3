import { toast } from 'vue-sonner'
import { EVENT_TYPES, type EventView } from '~~/shared/contracts/seed002'
import type { ToastRequest } from '~/utils/eventToaster'

/**
 * The one global connection to the event stream (seed 002's SSEProvider): open while someone is
 * logged in, closed the moment they are not. Every event goes to the events store and, unless it
 * is bookkeeping or about a node in maintenance, to a toast. A session that ended is noticed by
 * the stream itself (useSharedStream), which sends the user to log in.
 */
export default defineNuxtPlugin(() => {
  const auth = useAuthStore()
  const store = useEventsStore()
  const router = useRouter()

  const toaster = createEventToaster({
    show: ({ id, severity, title, description, duration }: ToastRequest) => {
      toast[severity](title, {
        id,
        description,
        duration,
        action: router.currentRoute.value.path === '/events' ? undefined : { label: 'View', onClick: () => void router.push('/events') },
      })
    },
  })

  const scope = effectScope(true)
  const stream = scope.run(() => useSSE<EventView>({
    path: '/api/v1/events/stream',
    eventTypes: EVENT_TYPES,
    resumeFrom: () => store.lastEventId,
    onMessage: ({ data, id }) => {
      // A replay may repeat what the store kept from before a reload: toast only news.
      if (store.addEvent(data, id)) toaster.push(data)
    },
    onConnected: (id) => {
      store.setPosition(id)
      void store.refreshUnacknowledged()
    },
    onReset: (_reason, id) => void store.reloadHistory(id),
  }))!

  scope.run(() => {
    watch([stream.state, stream.attempts, stream.error], ([state, attempts, error]) => {
      store.setConnectionState({ state, attempts, error, ...(state === 'connected' ? { connectedAt: Date.now() } : {}) })
    })

    // Synchronous, so the stream is closed before anything else reacts to the logout.
    watch(() => auth.user?.username ?? null, async (username, previous) => {
      if (previous) {
        stream.close()
        stream.clear()
        await store.clearEvents()
      }
      if (username) {
        await store.hydrate(username)
        if (auth.user?.username === username) stream.connect()
      }
    }, { immediate: true, flush: 'sync' })
  })

  return { provide: { eventStream: { retry: stream.retry } } }
})
