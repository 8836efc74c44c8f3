import type { FailingAgent, RequestLogPage } from '~~/shared/contracts/rest'
import type { RequestLogEntry } from '~~/shared/contracts/seed001'
import type { ApiError } from '~/utils/apiError'

/** The request log's filters as the page keeps them in its URL: a node id and a status ('' for any). */
export interface RequestFilters { node_id: number | null, status: string }

/**
 * The request log (newest first) and the failing agents' summary for `filters`, read again every
 * 5 s while the page is shown.
 */
export function useRequestLog(filters: Ref<RequestFilters>) {
  const { $api } = useNuxtApp()
  const requests = shallowRef<RequestLogEntry[]>([])
  const failing = shallowRef<FailingAgent[]>([])
  const loaded = ref(false)
  const error = ref<ApiError | null>(null)

  async function refresh() {
    const query = {
      ...(filters.value.node_id !== null ? { node_id: filters.value.node_id } : {}),
      ...(filters.value.status ? { status: filters.value.status } : {}),
    }
    try {
      const [page, summary] = await Promise.all([
        $api<RequestLogPage>('/api/v1/requests', { query: { ...query, limit: 200 } }),
        $api<FailingAgent[]>('/api/v1/requests/failing', { query: filters.value.node_id !== null ? { node_id: filters.value.node_id } : {} }),
      ])
      requests.value = page.requests
      failing.value = summary
      error.value = null
    }
    catch (e) {
      error.value = toApiError(e)
    }
    finally {
      loaded.value = true
    }
  }
  usePolling(refresh, 5000)
  watch(filters, () => void refresh(), { deep: true })

  return { requests, failing, loaded, error, refresh }
}
