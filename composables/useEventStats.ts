import type { EventStats } from '~~/shared/contracts/seed002'
import type { ApiError } from '~/utils/apiError'

const REFRESH_MS = 15_000

/** The last hour of events in numbers, refreshed every 15 s while the page is open. */
export function useEventStats() {
  const { $api } = useNuxtApp()
  const stats = shallowRef<EventStats | null>(null)
  const error = ref<ApiError | null>(null)

  async function refresh() {
    try {
      stats.value = await $api<EventStats>('/api/v1/events/stats')
      error.value = null
    }
    catch (e) {
      error.value = toApiError(e)
    }
  }
  usePolling(refresh, REFRESH_MS)

  return { stats, error, refresh }
}
