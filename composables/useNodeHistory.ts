import type { NodeHistory } from '~~/shared/contracts/history'
import type { NodeDetailStats } from '~~/shared/contracts/seed000'
import { appendLive, CHART_GROUPS, CHART_METRICS, groupData, liveValues, rangeEnds, RANGE_PRESETS, type ChartData } from '~/utils/historyChart'

/** Buckets asked per chart: about one per two pixels of the widest modal's chart. */
const POINTS = 400

/**
 * A node's history for the detail modal's charts: the range lives in the URL beside `?node=`
 * (`range=7d` or `from=&to=`), a drag-zoom is a fixed range with a way back, and while the range
 * ends now, each new stream sample is folded into the charts in memory (no refetch per tick).
 */
export function useNodeHistory(id: MaybeRefOrGetter<number>, live: MaybeRefOrGetter<NodeDetailStats | null>) {
  const { choice, zoomed, setRange, zoom, resetZoom } = useHistoryRange()

  const history = shallowRef<NodeHistory | null>(null)
  const charts = shallowRef<Record<string, ChartData>>({})
  /** Bumped when the live sample changes the charts' data in place. */
  const revision = ref(0)
  const loading = ref(false)
  const error = ref<string | null>(null)
  let asked = 0

  async function load() {
    const ticket = ++asked
    const { from, to } = rangeEnds(choice.value, Date.now())
    loading.value = true
    error.value = null
    try {
      const answer = await $fetch<NodeHistory>(`/api/v1/nodes/${toValue(id)}/history`, {
        query: { metrics: CHART_METRICS.join(','), from, to, points: POINTS },
      })
      if (ticket !== asked) return
      history.value = answer
      revision.value = 0
      charts.value = Object.fromEntries(CHART_GROUPS.map(g => [g.id, groupData(answer, g)]))
    }
    catch (e) {
      if (ticket === asked) error.value = toApiError(e).message
    }
    finally {
      if (ticket === asked) loading.value = false
    }
  }

  watch([() => toValue(id), () => JSON.stringify(choice.value)], load, { immediate: true })

  // The stream's newest sample, folded in while the range ends now.
  let lastSampleAt = ''
  watch(() => toValue(live), (node) => {
    const at = node?.detail.last_sample_at
    const answer = history.value
    if (!node || !at || at === lastSampleAt || !answer || !('preset' in choice.value) || loading.value) return
    lastSampleAt = at
    const t = Math.floor(Date.parse(at) / 1000)
    const values = liveValues(node)
    let changed = false
    for (const group of CHART_GROUPS) {
      const data = charts.value[group.id]
      if (data && appendLive(data, group, values, t, answer.step_seconds, RANGE_PRESETS[choice.value.preset])) changed = true
    }
    if (changed) revision.value++
  })

  const empty = computed(() => history.value !== null
    && history.value.series.every(s => s.buckets.every(b => b.avg === null)) && revision.value === 0)

  return {
    choice,
    history,
    charts,
    revision,
    loading,
    error,
    empty,
    zoomed,
    setRange,
    zoom,
    resetZoom,
    reload: load,
  }
}
