import { COMPARE_KEYS, compareQuery, parseCompareView, type CompareView } from '~/utils/compare'

const SEARCH_WRITE_DELAY_MS = 250

/**
 * The fleet view's metric, node filters, line count and ranking, kept in the URL beside the range
 * (router.replace: no history entry per change). The search box is written after a short pause,
 * and follows the URL when a link or back/forward changes it.
 */
export function useCompareView() {
  const route = useRoute()
  const router = useRouter()
  const view = computed<CompareView>(() => parseCompareView(route.query))
  const search = ref(view.value.q)
  /** The search text of our latest write: its landing in the URL must not overwrite newer typing. */
  let written = view.value.q
  let timer: ReturnType<typeof setTimeout> | undefined

  function set(patch: Partial<CompareView>) {
    clearTimeout(timer)
    const query = Object.fromEntries(Object.entries(route.query).filter(([key]) => !(COMPARE_KEYS as readonly string[]).includes(key)))
    written = patch.q ?? search.value
    void router.replace({ query: { ...query, ...compareQuery({ ...view.value, q: search.value, ...patch }) } })
  }

  watch(search, (q) => {
    clearTimeout(timer)
    if (q !== view.value.q) timer = setTimeout(() => set({ q }), SEARCH_WRITE_DELAY_MS)
  })
  // A link or back/forward changed the URL's search: follow it.
  watch(() => view.value.q, (q) => {
    if (q !== written) search.value = written = q
  })
  onScopeDispose(() => clearTimeout(timer))

  const field = <K extends 'metric' | 'scope' | 'label' | 'top' | 'by'>(key: K) => computed({
    get: () => view.value[key],
    set: (value: CompareView[K]) => set({ [key]: value }),
  })

  return {
    view,
    metric: field('metric'),
    scope: field('scope'),
    label: field('label'),
    top: field('top'),
    by: field('by'),
    /** The search box's text (written to the URL after a pause). */
    search,
    /** Drops the explicit node ids a link brought. */
    clearIds: () => set({ nodes: null }),
    /** Back to every node. */
    clearFilters: () => {
      search.value = ''
      set({ scope: { kind: 'all' }, label: '', q: '', nodes: null })
    },
  }
}
