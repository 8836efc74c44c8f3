import { DEFAULT_RANGE, parseRangeQuery, rangeQuery, type HistoryRangeChoice } from '~/utils/historyChart'

/**
 * A chart range kept in the URL (`range=7d` or `from=&to=`, beside whatever else the page keeps
 * there): a drag-zoom is a fixed range with a way back to the range before it.
 */
export function useHistoryRange() {
  const route = useRoute()
  const router = useRouter()
  const choice = computed<HistoryRangeChoice>(() => parseRangeQuery(route.query))
  /** The range before a zoom, for "Reset zoom" (memory only: a reloaded zoom is a custom range). */
  const beforeZoom = ref<HistoryRangeChoice | null>(null)

  function setRange(next: HistoryRangeChoice, zoom = false) {
    beforeZoom.value = zoom ? (beforeZoom.value ?? choice.value) : null
    const query = { ...route.query }
    delete query.range
    delete query.from
    delete query.to
    void router.replace({ query: { ...query, ...rangeQuery(next) } })
  }

  return {
    choice,
    zoomed: computed(() => beforeZoom.value !== null),
    setRange: (next: HistoryRangeChoice) => setRange(next),
    zoom: (from: number, to: number) => setRange({ from: Math.floor(from), to: Math.ceil(to) }, true),
    resetZoom: () => setRange(beforeZoom.value ?? { preset: DEFAULT_RANGE }),
  }
}
