import { NODE_STATES, type NodeLiveState, type NodeStats } from '../shared/contracts/seed000'
import { isCurrent, shownState } from './nodeState'
import { matchesWords, parseSearch, searchText, type Labels, type SearchText } from './labels'
import { diffNodes } from './nodeDeltas'

/** Each node's labels by id (from the REST list: the stream's summaries carry none). */
export type LabelMap = ReadonlyMap<number, Labels>
/** A node's labels from the map, or none. */
export const labelsOf = (labels: LabelMap, id: number): Labels => labels.get(id) ?? NO_LABELS
const NO_LABELS: Labels = {}

export const SORT_KEYS = ['name', 'status', 'cpu', 'memory', 'disk'] as const
export type SortKey = typeof SORT_KEYS[number]
/** The states the filters offer: seed 000's statuses with unreachable between online and stale. */
export const STATUSES: readonly NodeLiveState[] = NODE_STATES
export type StatusFilter = NodeLiveState | 'all'

/** Whether a query value names a node state. */
export const isStatus = (value: string): value is NodeLiveState => (STATUSES as readonly string[]).includes(value)
/** Whether a query value names a sort. */
export const isSortKey = (value: string): value is SortKey => (SORT_KEYS as readonly string[]).includes(value)

/**
 * The master of the instance serving the page: sampled by NodePulse itself, so always live and
 * sent without last_seen. Another instance's master carries its last sample's time like any node.
 */
export const isLiveMaster = (node: Pick<NodeStats, 'is_master' | 'last_seen'>): boolean => node.is_master && node.last_seen === null

/** Nodes that need a look come first: just gone silent, stopped reporting, then never reported. */
const STATUS_RANK: Record<NodeLiveState, number> = { unreachable: 0, stale: 1, offline: 2, pending: 3, online: 4 }
const METRIC: Record<'cpu' | 'memory' | 'disk', (n: NodeStats) => number | null> = {
  cpu: n => n.cpu_percent,
  memory: n => n.memory_percent,
  disk: n => n.disk_percent,
}
/** Hostnames' and label values' order: natural (web-2 before web-10), case-insensitive. */
export const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' })
/** Two nodes by hostname, then id. */
export const byName: NodeCompare = (a, b) => collator.compare(a.hostname, b.hostname) || a.id - b.id

/** How two nodes compare in the grid's order. */
export type NodeCompare = (a: NodeStats, b: NodeStats) => number

/**
 * The predicate of the status filter and the search (hostname, `key=value` or a label value: see
 * matchesSearch); `textOf` gives a node's search text, which a caller may keep per node.
 */
export function nodeFilter(query: string, status: StatusFilter, textOf: (n: NodeStats) => SearchText): (n: NodeStats) => boolean {
  const words = parseSearch(query)
  return n => (status === 'all' || n.state === status) && (words.length === 0 || matchesWords(textOf(n), words))
}

/** The nodes whose state matches and that match the search. */
export function filterNodes(nodes: readonly NodeStats[], query: string, status: StatusFilter, labels: LabelMap = new Map()): NodeStats[] {
  return nodes.filter(nodeFilter(query, status, n => searchText(n.hostname, labelsOf(labels, n.id))))
}

/**
 * The order of `key`: name A→Z, status problems first, metrics highest first with unreported
 * last; ties by name. `byName` says how two nodes compare by name (the collator's order, then id).
 */
export function nodeComparator(key: SortKey, byName: NodeCompare): NodeCompare {
  if (key === 'name') return byName
  if (key === 'status') return (a, b) => STATUS_RANK[a.state] - STATUS_RANK[b.state] || byName(a, b)
  const value = METRIC[key]
  return (a, b) => {
    const va = value(a)
    const vb = value(b)
    if (va === vb) return byName(a, b)
    if (va === null) return 1
    if (vb === null) return -1
    return vb - va
  }
}

/** A sorted copy in the order of `key` (see nodeComparator). */
export function sortNodes(nodes: readonly NodeStats[], key: SortKey): NodeStats[] {
  return [...nodes].sort(nodeComparator(key, byName))
}

/** The cluster at a glance. Averages and backups are over nodes whose figures are current (null when none reported the value). */
export interface NodeSummary {
  total: number
  byStatus: Record<NodeLiveState, number>
  cpu: number | null
  memory: number | null
  disk: number | null
  /** Null when no node's figures are current. */
  activeBackups: number | null
}

/**
 * The summary kept per changed node: counts by shown state, and sums of the current figures,
 * adjusted by what left and what came (nodes compared by identity, see diffNodes) instead of a
 * pass over every node. A change of `streamDown` changes every node's part: it counts again.
 */
export function createSummaryTally() {
  let nodes: readonly NodeStats[] | null = null
  let streamDown = false
  let byStatus: Record<NodeLiveState, number> = { online: 0, unreachable: 0, stale: 0, offline: 0, pending: 0 }
  // Per metric: the sum and how many current nodes reported it.
  let sums: Record<'cpu' | 'memory' | 'disk', [sum: number, known: number]> = { cpu: [0, 0], memory: [0, 0], disk: [0, 0] }
  let current = 0
  let backups = 0

  function count(n: NodeStats, sign: 1 | -1) {
    byStatus[shownState(n, streamDown)] += sign
    if (!isCurrent(n, streamDown)) return
    current += sign
    backups += sign * (n.active_backups ?? 0)
    for (const key of ['cpu', 'memory', 'disk'] as const) {
      const v = METRIC[key](n)
      if (v === null) continue
      sums[key][0] += sign * v
      sums[key][1] += sign
    }
  }
  const average = ([sum, known]: [number, number]) => (known ? sum / known : null)

  /** The summary of `next`, counting only the nodes that changed since the last call. */
  return function sync(next: readonly NodeStats[], down = false): NodeSummary {
    if (nodes === null || down !== streamDown) {
      streamDown = down
      byStatus = { online: 0, unreachable: 0, stale: 0, offline: 0, pending: 0 }
      sums = { cpu: [0, 0], memory: [0, 0], disk: [0, 0] }
      current = backups = 0
      for (const n of next) count(n, 1)
    }
    else if (next !== nodes) {
      const { before, after } = diffNodes(nodes, next)
      for (const n of before) count(n, -1)
      for (const n of after) count(n, 1)
    }
    nodes = next
    return {
      total: next.length,
      byStatus: { ...byStatus },
      cpu: average(sums.cpu),
      memory: average(sums.memory),
      disk: average(sums.disk),
      activeBackups: current ? backups : null,
    }
  }
}

/**
 * Counts by the state each card shows, and the live totals: average cpu/memory/disk and backups
 * running of the nodes whose figures are current. An unreachable, stale or offline node's last
 * known figures say nothing of now; while the stream is down, no figure is current.
 */
export function summarize(nodes: readonly NodeStats[], streamDown = false): NodeSummary {
  return createSummaryTally()(nodes, streamDown)
}

/** A node's value of the label `key`, or null without it. */
export const groupValue = (labels: LabelMap, id: number, key: string): string | null => labels.get(id)?.[key] ?? null

/** The nodes ordered by their value of label `key` (A→Z, nodes without it last), keeping their order within each group. */
export function orderByGroup(nodes: readonly NodeStats[], key: string, labels: LabelMap): NodeStats[] {
  const value = (n: NodeStats) => groupValue(labels, n.id, key)
  return [...nodes].sort((a, b) => {
    const [va, vb] = [value(a), value(b)]
    if (va === vb) return 0
    if (va === null) return 1
    if (vb === null) return -1
    return collator.compare(va, vb)
  })
}

/** One group of cards under "Group by": a label value (null: the nodes without that label). */
export interface NodeGroup {
  value: string | null
  /** Its nodes on the page shown. */
  nodes: NodeStats[]
  /** How many matching nodes it has, on every page. */
  total: number
  /** Those nodes by the state their cards show. */
  byStatus: Record<NodeLiveState, number>
}

/**
 * The page's cards in groups by label `key`, in the order the page shows them, each with its
 * counts over every matching node (not only this page's).
 */
export function groupNodes(page: readonly NodeStats[], matching: readonly NodeStats[], key: string, labels: LabelMap, streamDown = false): NodeGroup[] {
  const members = new Map<string | null, NodeStats[]>()
  for (const n of matching) {
    const value = groupValue(labels, n.id, key)
    const list = members.get(value)
    if (list) list.push(n)
    else members.set(value, [n])
  }
  const groups = new Map<string | null, NodeGroup>()
  for (const n of page) {
    const value = groupValue(labels, n.id, key)
    let group = groups.get(value)
    if (!group) {
      const all = members.get(value) ?? []
      group = { value, nodes: [], total: all.length, byStatus: summarize(all, streamDown).byStatus }
      groups.set(value, group)
    }
    group.nodes.push(n)
  }
  return [...groups.values()]
}
