import type { NodeStats, NodeStatus } from '~~/shared/contracts/seed000'

export const SORT_KEYS = ['name', 'status', 'cpu', 'memory', 'disk'] as const
export type SortKey = typeof SORT_KEYS[number]
export const STATUSES: readonly NodeStatus[] = ['online', 'stale', 'offline']
export type StatusFilter = NodeStatus | 'all'

/** Whether a query value names a node status. */
export const isStatus = (value: string): value is NodeStatus => (STATUSES as readonly string[]).includes(value)
/** Whether a query value names a sort. */
export const isSortKey = (value: string): value is SortKey => (SORT_KEYS as readonly string[]).includes(value)

/**
 * The master of the instance serving the page: sampled by NodePulse itself, so always live and
 * sent without last_seen. Another instance's master carries its last sample's time like any node.
 */
export const isLiveMaster = (node: Pick<NodeStats, 'is_master' | 'last_seen'>): boolean => node.is_master && node.last_seen === null

/** Nodes that need a look come first: stopped reporting, then never reported. */
const STATUS_RANK: Record<NodeStatus, number> = { stale: 0, offline: 1, online: 2 }
const METRIC: Record<'cpu' | 'memory' | 'disk', (n: NodeStats) => number | null> = {
  cpu: n => n.cpu_percent,
  memory: n => n.memory_percent,
  disk: n => n.disk_percent,
}
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' })
const byName = (a: NodeStats, b: NodeStats) => collator.compare(a.hostname, b.hostname) || a.id - b.id

/** The nodes whose hostname contains `query` (case-insensitive) and whose status matches. */
export function filterNodes(nodes: readonly NodeStats[], query: string, status: StatusFilter): NodeStats[] {
  const needle = query.trim().toLowerCase()
  return nodes.filter(n => (status === 'all' || n.status === status) && (!needle || n.hostname.toLowerCase().includes(needle)))
}

/** A sorted copy: name A→Z, status problems first, metrics highest first with unreported last; ties by name. */
export function sortNodes(nodes: readonly NodeStats[], key: SortKey): NodeStats[] {
  const copy = [...nodes]
  if (key === 'name') return copy.sort(byName)
  if (key === 'status') return copy.sort((a, b) => STATUS_RANK[a.status] - STATUS_RANK[b.status] || byName(a, b))
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

/** The cluster at a glance. Averages are over online nodes that reported the value (null when none did). */
export interface NodeSummary {
  total: number
  byStatus: Record<NodeStatus, number>
  cpu: number | null
  memory: number | null
  disk: number | null
  activeBackups: number
}

function average(values: (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null)
  return known.length ? known.reduce((sum, v) => sum + v, 0) / known.length : null
}

/** Counts by status, average cpu/memory/disk of the online nodes, and the backups running now. */
export function summarize(nodes: readonly NodeStats[]): NodeSummary {
  const byStatus: Record<NodeStatus, number> = { online: 0, stale: 0, offline: 0 }
  let activeBackups = 0
  for (const n of nodes) {
    byStatus[n.status]++
    activeBackups += n.active_backups ?? 0
  }
  const online = nodes.filter(n => n.status === 'online')
  return {
    total: nodes.length,
    byStatus,
    cpu: average(online.map(n => n.cpu_percent)),
    memory: average(online.map(n => n.memory_percent)),
    disk: average(online.map(n => n.disk_percent)),
    activeBackups,
  }
}
