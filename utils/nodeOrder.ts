import type { NodeStats } from '../shared/contracts/seed000'
import { searchText, type SearchText } from './labels'
import { diffNodes, type NodeChanges } from './nodeDeltas'
import { collator, groupValue, labelsOf, nodeComparator, nodeFilter, type LabelMap, type NodeCompare, type SortKey, type StatusFilter } from './nodeList'

/** What the grid shows: the search, the status filter, the sort, the label key of the groups ('' for none), and the labels they read. */
export interface GridView {
  q: string
  status: StatusFilter
  sort: SortKey
  group: string
  labels: LabelMap
}

/** Past this many new or renamed nodes at once, one sort beats placing each by binary search. */
const RESORT_ABOVE = 64

/** The index of the first item of `list` that `isAfter` says comes after the one being placed. */
function insertionPoint<T>(list: readonly T[], isAfter: (item: T) => boolean): number {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (isAfter(list[mid]!)) hi = mid
    else lo = mid + 1
  }
  return lo
}

/** Two sorted lists as one sorted list. */
function merge<T>(a: readonly T[], b: readonly T[], compare: (x: T, y: T) => number): T[] {
  const out: T[] = []
  let i = 0
  let j = 0
  while (i < a.length && j < b.length) out.push(compare(a[i]!, b[j]!) <= 0 ? a[i++]! : b[j++]!)
  while (i < a.length) out.push(a[i++]!)
  while (j < b.length) out.push(b[j++]!)
  return out
}

/** A cheap stand-in for the collator's key: lowercase, each run of digits as its length and its digits (leading zeros dropped), so 'web-9' < 'web-10' by plain comparison. */
const roughKey = (hostname: string) => hostname.toLowerCase().replace(/\d+/g, (digits) => {
  const value = digits.replace(/^0+(?=\d)/, '')
  return String.fromCharCode(0x30 + Math.min(value.length, 9)) + value
})

/**
 * Sorts by `compare` (the collator's order) after a rough sort by plain string keys that leaves
 * it (next to) nothing to do: the engine's sort (TimSort) takes runs already in order as they
 * are, so 10,000 names cost ~10,000 collator comparisons instead of ~130,000. The order is the
 * collator's whatever the rough keys get wrong.
 */
function sortByName<T extends { id: number, hostname: string }>(items: readonly T[], compare: (a: T, b: T) => number): T[] {
  const keyed = items.map(item => ({ key: roughKey(item.hostname), item }))
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.item.id - b.item.id))
  return keyed.map(k => k.item).sort(compare)
}

/**
 * Every node's place in name order (the collator's, then id), kept per new or renamed node, so
 * that comparing two nodes by name is a subtraction: a collator comparison costs about a
 * microsecond, and a sort of 10,000 nodes makes ~130,000 of them.
 */
function createNameRanks() {
  let sorted: { id: number, hostname: string }[] = []
  const rank = new Map<number, number>()
  const hostnames = new Map<number, string>()
  const byHostname = (a: { id: number, hostname: string }, b: { id: number, hostname: string }) => collator.compare(a.hostname, b.hostname) || a.id - b.id

  /** Follows the changes: the ranks move only when a node came, left or was renamed (then true). */
  function apply({ before, after }: NodeChanges): boolean {
    const stays = new Set(after.map(n => n.id))
    const moved = new Set(before.filter(n => !stays.has(n.id)).map(n => n.id))
    const placed = after.filter(n => hostnames.get(n.id) !== n.hostname)
    for (const n of placed) moved.add(n.id)
    if (moved.size === 0) return false
    for (const id of moved) hostnames.delete(id)
    for (const n of placed) hostnames.set(n.id, n.hostname)
    sorted = sorted.filter(entry => !moved.has(entry.id))
    const entries = placed.map(n => ({ id: n.id, hostname: n.hostname }))
    if (entries.length > RESORT_ABOVE) sorted = merge(sorted, sortByName(entries, byHostname), byHostname)
    else for (const e of entries) sorted.splice(insertionPoint(sorted, item => byHostname(item, e) > 0), 0, e)
    rank.clear()
    sorted.forEach((entry, i) => rank.set(entry.id, i))
    return true
  }

  /** Two nodes by name, as byName orders them. */
  const compare: NodeCompare = (a, b) => (rank.get(a.id) ?? 0) - (rank.get(b.id) ?? 0)
  return { apply, compare, sorted: () => sorted }
}

/** Every node's name in name order, shared by the grid and the node picker (see createNameOrder). */
export type NameOrder = ReturnType<typeof createNameOrder>

/**
 * The name order of every node, kept per new, renamed or removed node: one sort of 10,000 names
 * with the collator at the first snapshot, shared by the grid (whatever its scope, see
 * createGridOrder) and the node picker, whose groups then come already sorted.
 */
export function createNameOrder() {
  const ranks = createNameRanks()
  let nodes: readonly NodeStats[] = []
  let names: ReadonlyMap<number, string> = new Map()
  return {
    /**
     * Follows `next` (every node, in id order): each node's name by id, the map in name order, a
     * new map only when a node came, left or was renamed.
     */
    sync(next: readonly NodeStats[]): ReadonlyMap<number, string> {
      if (next === nodes) return names
      if (ranks.apply(diffNodes(nodes, next))) names = new Map(ranks.sorted().map(e => [e.id, e.hostname]))
      nodes = next
      return names
    },
    /** Two nodes by name (both among the nodes of the last sync). */
    compare: ranks.compare,
  }
}

/**
 * The nodes that match the grid's view, in its order (orderByGroup(filterNodes(sortNodes(…))),
 * which the unit tests hold it to), kept per changed node: a delta's nodes leave the list and the
 * matching ones are sorted among themselves and merged back in, so a tick costs a walk of the
 * list, not a sort with the collator. A change of the view sorts again, with names compared by
 * rank. Each node's lowercase search text is kept while its name and labels stay.
 * With `shared`, names are ranked there: its owner syncs it, before each sync of the grid, with a
 * list that holds every node the grid gets (so a change of scope sorts no names).
 */
export function createGridOrder(shared?: NameOrder) {
  const own = createNameRanks()
  const byName = shared?.compare ?? own.compare
  const texts = new Map<number, { hostname: string, labels: LabelMap, text: SearchText }>()
  const byId = new Map<number, NodeStats>()
  let nodes: readonly NodeStats[] = []
  let view: GridView | null = null
  let list: NodeStats[] = []
  let listed = new Set<number>()
  let matches: (n: NodeStats) => boolean = () => true
  let compare: NodeCompare = byName

  let labels: LabelMap = new Map()

  function textOf(n: NodeStats): SearchText {
    const kept = texts.get(n.id)
    if (kept && kept.hostname === n.hostname && kept.labels === labels) return kept.text
    const text = searchText(n.hostname, labelsOf(labels, n.id))
    texts.set(n.id, { hostname: n.hostname, labels, text })
    return text
  }

  /** Group values in the collator's order, values it finds equal sharing a rank; nodes without the label last. */
  function groupCompare(key: string): NodeCompare {
    const values = [...new Set([...labels.keys()].map(id => groupValue(labels, id, key)).filter(v => v !== null))].sort(collator.compare)
    const rank = new Map<string | null, number>([[null, Infinity]])
    values.forEach((v, i) => rank.set(v, i > 0 && collator.compare(values[i - 1]!, v) === 0 ? rank.get(values[i - 1]!)! : i))
    const of = (n: NodeStats) => rank.get(groupValue(labels, n.id, key)) ?? Infinity
    return (a, b) => of(a) - of(b) || 0
  }

  function rebuild(next: GridView) {
    view = next
    labels = next.labels
    matches = nodeFilter(next.q, next.status, textOf)
    const bySort = nodeComparator(next.sort, byName)
    const byGroup = next.group ? groupCompare(next.group) : null
    compare = byGroup ? (a, b) => byGroup(a, b) || bySort(a, b) : bySort
    list = nodes.filter(matches).sort(compare)
    listed = new Set(list.map(n => n.id))
  }

  function update({ before, after }: NodeChanges) {
    const leaving = new Set(before.filter(n => listed.has(n.id)).map(n => n.id))
    const coming = after.filter(matches).sort(compare)
    if (leaving.size === 0 && coming.length === 0) return
    for (const id of leaving) listed.delete(id)
    for (const n of coming) listed.add(n.id)
    list = merge(leaving.size ? list.filter(n => !leaving.has(n.id)) : list, coming, compare)
  }

  const sameView = (a: GridView, b: GridView) => a.q === b.q && a.status === b.status && a.sort === b.sort && a.group === b.group && a.labels === b.labels

  return {
    /**
     * The matching nodes of `next` (in id order) in the order of `nextView`: the same array as
     * the last call's when nothing it shows changed.
     */
    sync(next: readonly NodeStats[], nextView: GridView): readonly NodeStats[] {
      const changes = next === nodes ? null : diffNodes(nodes, next)
      if (changes) {
        if (!shared) own.apply(changes)
        for (const n of changes.before) byId.delete(n.id)
        for (const n of changes.after) byId.set(n.id, n)
        for (const n of changes.before) if (!byId.has(n.id)) texts.delete(n.id)
        nodes = next
      }
      if (!view || !sameView(view, nextView)) rebuild(nextView)
      else if (changes) update(changes)
      return list
    },
    /** A node of the last list synced, by id. */
    get: (id: number) => byId.get(id),
  }
}
