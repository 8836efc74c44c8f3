import type { LocationQuery } from 'vue-router'
import { isSortKey, isStatus, type SortKey, type StatusFilter } from '~/utils/nodeList'
import { parseScope, scopeText, type NodeScope } from '~/utils/nodeScope'
import { isLabelKey } from '~/utils/labels'

/**
 * The dashboard's view state as it appears in the URL (`?scope=&q=&status=&sort=&group=&page=&node=`);
 * `group` is a label key ('' for no groups).
 */
export interface DashboardView { scope: NodeScope, q: string, status: StatusFilter, sort: SortKey, group: string, page: number, node: number | null }
/** The query keys the view owns; any other (the node modal's `range=`, `from=`, `to=`) is kept as it is. */
const OWN_KEYS = new Set(['scope', 'q', 'status', 'sort', 'group', 'page', 'node'])

const SEARCH_WRITE_DELAY_MS = 250

function one(value: LocationQuery[string] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? ''
}

function positiveInt(text: string): number | null {
  return /^\d{1,10}$/.test(text) && Number(text) > 0 ? Number(text) : null
}

/** Reads the view from a query; anything unknown falls back to the default. */
function parseView(query: LocationQuery): DashboardView {
  const status = one(query.status)
  const sort = one(query.sort)
  const group = one(query.group)
  return {
    scope: parseScope(one(query.scope)),
    q: one(query.q),
    status: isStatus(status) ? status : 'all',
    sort: isSortKey(sort) ? sort : 'name',
    group: isLabelKey(group) ? group : '',
    page: positiveInt(one(query.page)) ?? 1,
    node: positiveInt(one(query.node)),
  }
}

/** The query for a view, defaults left out so plain URLs stay plain. */
export function viewQuery(view: DashboardView): Record<string, string> {
  const query: Record<string, string> = {}
  const scope = scopeText(view.scope)
  if (scope) query.scope = scope
  if (view.q) query.q = view.q
  if (view.status !== 'all') query.status = view.status
  if (view.sort !== 'name') query.sort = view.sort
  if (view.group) query.group = view.group
  if (view.page > 1) query.page = String(view.page)
  if (view.node !== null) query.node = String(view.node)
  return query
}

/** The query's keys that belong to others (the node modal's chart range), as strings. */
function othersQuery(query: LocationQuery): Record<string, string> {
  return Object.fromEntries(Object.keys(query).filter(k => !OWN_KEYS.has(k)).map(k => [k, one(query[k])]))
}

/**
 * The node selection, search, filter, sort, page and the open node, kept in the URL so a view can be shared.
 * Writes use router.replace (no history entry per keystroke); search is written after a short
 * pause. Changing the selection, search, filter or sort goes back to page 1.
 */
export function useDashboardQuery() {
  const route = useRoute()
  const router = useRouter()
  const view = ref<DashboardView>(parseView(route.query))
  let written = JSON.stringify(viewQuery(view.value))
  let timer: ReturnType<typeof setTimeout> | undefined

  function write() {
    clearTimeout(timer)
    const own = viewQuery(view.value)
    written = JSON.stringify(own)
    if (written !== JSON.stringify(viewQuery(parseView(route.query)))) void router.replace({ query: { ...othersQuery(route.query), ...own } })
  }

  // Back/forward or a link changed the URL: follow it, unless it is one of our own writes landing.
  watch(() => route.query, (query) => {
    const next = parseView(query)
    if (route.path !== '/' || JSON.stringify(viewQuery(next)) === written) return
    view.value = next
    written = JSON.stringify(viewQuery(next))
  })
  // A search still waiting to be written when the visitor leaves the dashboard (e.g. "Compare over
  // time" clicked within the pause) is dropped: written then, it would replace the navigation
  // under way with the dashboard again.
  const stopGuard = router.beforeEach((to) => {
    if (to.path !== '/') clearTimeout(timer)
  })
  onScopeDispose(() => {
    clearTimeout(timer)
    stopGuard()
  })

  function set(patch: Partial<DashboardView>, delayed = false) {
    view.value = { ...view.value, ...patch }
    clearTimeout(timer)
    if (delayed) timer = setTimeout(write, SEARCH_WRITE_DELAY_MS)
    else write()
  }

  // Built once per view change, not once per card.
  const linkBase = computed(() => {
    const rest = new URLSearchParams({ ...othersQuery(route.query), ...viewQuery({ ...view.value, node: null }) }).toString()
    return rest ? `${rest}&` : ''
  })

  const field = <K extends 'scope' | 'q' | 'status' | 'sort' | 'group'>(key: K) => computed({
    get: () => view.value[key],
    set: (value: DashboardView[K]) => set({ [key]: value, page: 1 }, key === 'q'),
  })

  return {
    /** The "Node: All | …" selection. */
    scope: field('scope'),
    q: field('q'),
    status: field('status'),
    sort: field('sort'),
    /** The label key cards are grouped by ('' for none). */
    group: field('group'),
    page: computed({ get: () => view.value.page, set: page => set({ page }) }),
    node: computed(() => view.value.node),
    /** The URL of this view with node `id` open (for card links). */
    nodeLink: (id: number) => `/?${linkBase.value}node=${id}`,
    openNode: (id: number) => set({ node: id }),
    closeNode: () => set({ node: null }),
  }
}
