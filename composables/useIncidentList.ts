import type { AcknowledgeAllAnswer, IncidentPage, IncidentView } from '~~/shared/contracts/incidents'
import type { ApiError } from '~/utils/apiError'
import type { EventFilters } from '~/utils/eventFilters'

const PAGE_SIZE = 50
const REFRESH_MS = 15_000

/**
 * The Events page's incident list for the page's filters (node, minimum severity, unacknowledged):
 * every open incident first, then resolved ones newest first, paged back with "Load older".
 * Reloaded when an incident event arrives on the global stream, and every 15 s for the durations.
 */
export function useIncidentList(filters: Readonly<Ref<EventFilters>>) {
  const { $api } = useNuxtApp()
  const store = useEventsStore()
  const open = shallowRef<IncidentView[]>([])
  const resolved = shallowRef<IncidentView[]>([])
  const nextCursor = ref<number | null>(null)
  const loaded = ref(false)
  const error = ref<ApiError | null>(null)
  let request = 0

  const query = computed(() => incidentQuery(filters.value))
  const page = (state: 'open' | 'resolved', extra: Record<string, string> = {}) =>
    $api<IncidentPage>('/api/v1/incidents', { query: { ...query.value, state, ...extra } })

  async function reload() {
    const current = ++request
    try {
      const [o, r] = await Promise.all([page('open', { limit: '500' }), page('resolved', { limit: String(PAGE_SIZE) })])
      if (current !== request) return
      open.value = o.incidents
      resolved.value = r.incidents
      nextCursor.value = r.next_cursor
      error.value = null
    }
    catch (e) {
      if (current === request) error.value = toApiError(e)
    }
    finally {
      if (current === request) loaded.value = true
    }
  }

  async function loadOlder() {
    if (nextCursor.value === null) return
    const r = await page('resolved', { limit: String(PAGE_SIZE), cursor: String(nextCursor.value) })
    resolved.value = [...resolved.value, ...r.incidents]
    nextCursor.value = r.next_cursor
  }

  /** Acknowledges one incident; the list and the bell follow. */
  const acknowledge = useAction(async (incident: IncidentView) => {
    await $api<IncidentView>(`/api/v1/incidents/${incident.id}/acknowledge`, { method: 'POST' })
    await Promise.all([reload(), store.refreshUnacknowledged()])
  })

  /** Acknowledges every unacknowledged incident the filters match (open and resolved alike). */
  const acknowledgeAll = useAction(async () => {
    const answer = await $api<AcknowledgeAllAnswer>('/api/v1/incidents/acknowledge', { method: 'POST', query: query.value })
    await Promise.all([reload(), store.refreshUnacknowledged()])
    return answer
  })

  watch(query, () => void reload(), { immediate: true })
  // A new incident event on the stream (opened, acknowledged, resolved) changes the list.
  watch(() => store.events.find(e => e.event_type.startsWith('incident_'))?.id, (id, before) => {
    if (id !== before) void reload()
  })
  usePolling(async () => {
    if (loaded.value) await reload()
  }, REFRESH_MS)

  const unacknowledged = computed(() => [...open.value, ...resolved.value].some(i => !i.acknowledged_at))
  return { open, resolved, loaded, error, hasOlder: computed(() => nextCursor.value !== null), loadOlder, reload, acknowledge, acknowledgeAll, unacknowledged }
}
