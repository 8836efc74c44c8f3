import { NODE_STATES, type NodeLiveState, type NodeStats } from '../shared/contracts/seed000'
import { isCurrent, shownState } from './nodeState'
import { matchesSearch, type Labels } from './labels'

/** Each node's labels by id (from the REST list: the stream's summaries carry none). */
export type LabelMap = ReadonlyMap<number, Labels>
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
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' })
const byName = (a: NodeStats, b: NodeStats) => collator.compare(a.hostname, b.hostname) || a.id - b.id

/** The nodes whose state matches and that match the search (hostname, `key=value` or a label value: see matchesSearch). */
export function filterNodes(nodes: readonly NodeStats[], query: string, status: StatusFilter, labels: LabelMap = new Map()): NodeStats[] {
  const searching = query.trim() !== ''
  return nodes.filter(n => (status === 'all' || n.state === status) && (!searching || matchesSearch(n.hostname, labels.get(n.id) ?? NO_LABELS, query)))
}

/** A sorted copy: name A→Z, status problems first, metrics highest first with unreported last; ties by name. */
export function sortNodes(nodes: readonly NodeStats[], key: SortKey): NodeStats[] {
  const copy = [...nodes]
  if (key === 'name') return copy.sort(byName)
  if (key === 'status') return copy.sort((a, b) => STATUS_RANK[a.state] - STATUS_RANK[b.state] || byName(a, b))
  const value = METRIC[key]
  return copy.sort((a, b) => {
    const va = value(a)
    const vb = value(b)
    if (va === vb) return byName(a, b)
    if (va === null) return 1
    if (vb === null) return -1
    return vb - va
  })
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

function average(values: (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null)
  return known.length ? known.reduce((sum, v) => sum + v, 0) / known.length : null
}

/**
 * Counts by the state each card shows, and the live totals: average cpu/memory/disk and backups
 * running of the nodes whose figures are current. An unreachable, stale or offline node's last
 * known figures say nothing of now; while the stream is down, no figure is current.
 */
export function summarize(nodes: readonly NodeStats[], streamDown = false): NodeSummary {
  const byStatus: Record<NodeLiveState, number> = { online: 0, unreachable: 0, stale: 0, offline: 0, pending: 0 }
  for (const n of nodes) byStatus[shownState(n, streamDown)]++
  const online = nodes.filter(n => isCurrent(n, streamDown))
  const activeBackups = online.length ? online.reduce((sum, n) => sum + (n.active_backups ?? 0), 0) : null
  return {
    total: nodes.length,
    byStatus,
    cpu: average(online.map(n => n.cpu_percent)),
    memory: average(online.map(n => n.memory_percent)),
    disk: average(online.map(n => n.disk_percent)),
    activeBackups,
  }
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
