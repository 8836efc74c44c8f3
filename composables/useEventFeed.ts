import type { EventPage, EventView } from '~~/shared/contracts/seed002'
import type { ApiError } from '~/utils/apiError'
import type { EventFilters } from '~/utils/eventFilters'

const PAGE_SIZE = 50

/**
 * The Events page's list: the history for the filters (fetched newest first, paged back with
 * "Load older"), topped up live by the global stream's events that pass the same filters, each
 * shown once and with its latest acknowledgement, in the order the filters ask for (newest, or
 * most severe first among what is loaded).
 */
export function useEventFeed(filters: Readonly<Ref<EventFilters>>) {
  const { $api } = useNuxtApp()
  const store = useEventsStore()
  const history = shallowRef<EventView[]>([])
  const nextCursor = ref<number | null>(null)
  const loaded = ref(false)
  const loading = ref(false)
  const error = ref<ApiError | null>(null)
  let request = 0

  async function load(older: boolean) {
    const current = older ? request : ++request
    loading.value = true
    try {
      const query = { ...eventHistoryQuery(filters.value), limit: String(PAGE_SIZE), ...(older && nextCursor.value !== null ? { cursor: String(nextCursor.value) } : {}) }
      const page = await $api<EventPage>('/api/v1/events', { query })
      if (current !== request) return
      history.value = older ? [...history.value, ...page.events] : page.events
      nextCursor.value = page.next_cursor
      error.value = null
    }
    catch (e) {
      if (current === request) error.value = toApiError(e)
    }
    finally {
      if (current === request) {
        loading.value = false
        loaded.value = true
      }
    }
  }

  // Only what the server filters on reloads the history; the order is applied here.
  const historyQuery = computed(() => JSON.stringify(eventHistoryQuery(filters.value)))
  watch(historyQuery, () => void load(false), { immediate: true })
  // The stream could not resume: the history may have missed events too.
  watch(() => store.resets, () => void load(false))

  const events = computed(() => {
    const f = filters.value
    // Live events older than the history loaded so far wait for "Load older", so no gap shows.
    const oldest = nextCursor.value === null ? 0 : (history.value.at(-1)?.id ?? 0)
    const byId = new Map<number, EventView>()
    for (const e of history.value) byId.set(e.id, e)
    for (const e of store.events) if (e.id >= oldest && !byId.has(e.id)) byId.set(e.id, e)
    return [...byId.values()]
      .map((e) => {
        const ack = store.acks.get(e.id)
        return ack && !e.acknowledged_at ? { ...e, ...ack } : e
      })
      .filter(e => matchesEventFilters(e, f))
      .sort(compareEvents(f.order))
  })

  return {
    events,
    loaded,
    loading,
    error,
    hasOlder: computed(() => nextCursor.value !== null),
    loadOlder: () => load(true),
    reload: () => load(false),
  }
}
