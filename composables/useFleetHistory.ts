import type { FleetHistory, HistoryMetric } from '~~/shared/contracts/history'
import { HISTORY_LIMITS } from '~~/shared/contracts/history'
import { rangeEnds, type HistoryRangeChoice } from '~/utils/historyChart'

/** What the fleet view asks for: a metric, the node part of the query (ids, a label, or nothing for all), a range. */
export interface FleetRequest { metric: HistoryMetric, selector: { nodes?: string, label?: string }, choice: HistoryRangeChoice }

/**
 * One metric across nodes from `GET /api/v1/history`, read again whenever the request changes;
 * a null request (no node selected, or the node list not read yet) reads nothing. An older
 * answer arriving after a newer request is dropped.
 */
export function useFleetHistory(request: () => FleetRequest | null) {
  const history = shallowRef<FleetHistory | null>(null)
  const loading = ref(false)
  const error = ref<string | null>(null)
  let asked = 0

  async function load() {
    const ticket = ++asked
    const r = request()
    error.value = null
    if (!r) {
      history.value = null
      loading.value = false
      return
    }
    const { from, to } = rangeEnds(r.choice, Date.now())
    loading.value = true
    try {
      const answer = await $fetch<FleetHistory>('/api/v1/history', {
        // The chart draws each node's averages; min and max would double the answer for nothing.
        query: { metric: r.metric, from, to, points: HISTORY_LIMITS.fleetPoints.default, figures: 'avg', ...r.selector },
      })
      if (ticket === asked) history.value = answer
    }
    catch (e) {
      if (ticket === asked) error.value = toApiError(e).message
    }
    finally {
      if (ticket === asked) loading.value = false
    }
  }

  watch(() => JSON.stringify(request()), load, { immediate: true })

  return { history, loading, error, reload: load }
}
