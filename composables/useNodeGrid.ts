import type { NodeStats } from '~~/shared/contracts/seed000'
import type { LabelMap, SortKey, StatusFilter } from '~/utils/nodeList'
import { createGridOrder, createNameOrder } from '~/utils/nodeOrder'

/** Cards per page: enough to fill a wide screen, few enough that 1,000 nodes stay smooth. */
export const PAGE_SIZE = 60

interface GridInput {
  /** Every node, in id order: names are ranked over these, whatever the scope. */
  all: Readonly<Ref<readonly NodeStats[]>>
  /** The nodes in scope, in id order. */
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

/** Whether two lists hold the same items in the same order. */
const sameItems = <T>(a: readonly T[], b: readonly T[]) => a.length === b.length && a.every((x, i) => x === b[i])

/**
 * Filters, sorts and paginates the live nodes (`nodes` in id order), per changed node: a message
 * re-places only the nodes it changed (see createGridOrder), and the page's list stays the same
 * array unless one of its cards changed, so the other cards are not rendered again. While the
 * pointer or focus is on the grid the order is held (values still update, new nodes go last), so
 * a card does not move from under the hand that is about to click it; the next snapshot after
 * that re-sorts.
 */
export function useNodeGrid({ all, nodes, q, status, sort, page, group, labels }: GridInput) {
  const held = ref(false)
  const order = shallowRef<number[]>([])

  const nameOrder = createNameOrder()
  const names = computed(() => nameOrder.sync(all.value))
  const grid = createGridOrder(nameOrder)
  // The same array while nothing it shows changed, so what depends on it does not run again.
  const matching = computed(() => {
    // The names are ranked first: the grid's order compares by those ranks.
    void names.value
    return grid.sync(nodes.value, { q: q.value, status: status.value, sort: sort.value, group: group.value, labels: labels.value })
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

  const pageCount = computed(() => Math.max(1, Math.ceil(order.value.length / PAGE_SIZE)))
  const currentPage = computed(() => Math.min(Math.max(1, page.value), pageCount.value))
  const pageNodes = computed<NodeStats[]>((previous) => {
    const start = (currentPage.value - 1) * PAGE_SIZE
    // Read for its dependency: a changed node changes the list even when the held order stays.
    void matching.value
    const next = order.value.slice(start, start + PAGE_SIZE)
      .map(id => grid.get(id))
      .filter((n): n is NodeStats => n !== undefined)
    return previous && sameItems(previous, next) ? previous : next
  })

  return {
    /**
     * Every node's name by id, in name order (the node picker's groups then come sorted): a new
     * map only when a node came, left or was renamed.
     */
    names,
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
