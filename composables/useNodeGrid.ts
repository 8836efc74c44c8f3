import type { NodeStats } from '~~/shared/contracts/seed000'
import { filterNodes, orderByGroup, sortNodes, type LabelMap, type SortKey, type StatusFilter } from '~/utils/nodeList'

/** Cards per page: enough to fill a wide screen, few enough that 1,000 nodes stay smooth. */
export const PAGE_SIZE = 60

interface GridInput {
  nodes: Readonly<Ref<readonly NodeStats[]>>
  q: Readonly<Ref<string>>
  status: Readonly<Ref<StatusFilter>>
  sort: Readonly<Ref<SortKey>>
  page: Readonly<Ref<number>>
  /** The label key cards are grouped by ('' for none): groups come in order, each sorted within. */
  group: Readonly<Ref<string>>
  /** Each node's labels, for the search and the groups. */
  labels: Readonly<Ref<LabelMap>>
}

/**
 * Filters, sorts and paginates the live nodes. While the pointer or focus is on the grid the
 * order is held (values still update, new nodes go last), so a card does not move from under
 * the hand that is about to click it; the next snapshot after that re-sorts.
 */
export function useNodeGrid({ nodes, q, status, sort, page, group, labels }: GridInput) {
  const held = ref(false)
  const order = shallowRef<number[]>([])

  // Sorting once per snapshot (or sort change) leaves a keystroke only the cheap filter.
  const sorted = computed(() => sortNodes(nodes.value, sort.value))
  const matching = computed(() => {
    const found = filterNodes(sorted.value, q.value, status.value, labels.value)
    return group.value ? orderByGroup(found, group.value, labels.value) : found
  })

  watch([matching, q, status, sort, group], ([list], [, oldQ, oldStatus, oldSort, oldGroup]) => {
    const viewChanged = q.value !== oldQ || status.value !== oldStatus || sort.value !== oldSort || group.value !== oldGroup
    if (!held.value || viewChanged || order.value.length === 0) {
      order.value = list.map(n => n.id)
      return
    }
    const present = new Set(list.map(n => n.id))
    const kept = order.value.filter(id => present.has(id))
    const keptSet = new Set(kept)
    order.value = [...kept, ...list.filter(n => !keptSet.has(n.id)).map(n => n.id)]
  }, { immediate: true })

  const byId = computed(() => new Map(nodes.value.map(n => [n.id, n])))
  const pageCount = computed(() => Math.max(1, Math.ceil(order.value.length / PAGE_SIZE)))
  const currentPage = computed(() => Math.min(Math.max(1, page.value), pageCount.value))
  const pageNodes = computed(() => {
    const start = (currentPage.value - 1) * PAGE_SIZE
    return order.value.slice(start, start + PAGE_SIZE)
      .map(id => byId.value.get(id))
      .filter((n): n is NodeStats => n !== undefined)
  })

  return {
    pageNodes,
    /** Every node that matches, in the grid's order (for the groups' counts). */
    matching,
    /** How many nodes match the search and filter. */
    matched: computed(() => order.value.length),
    pageCount,
    currentPage,
    /** The 1-based range shown, for "61–120 of 1,000". */
    range: computed(() => ({
      from: order.value.length ? (currentPage.value - 1) * PAGE_SIZE + 1 : 0,
      to: Math.min(currentPage.value * PAGE_SIZE, order.value.length),
    })),
    hold: (on: boolean) => {
      held.value = on
    },
  }
}
