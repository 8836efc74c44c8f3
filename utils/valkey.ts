import type { ClusterNode, ValkeyNodeMetrics, WatchedCluster } from '../shared/contracts/seed004'

/** A Valkey node as the cluster view draws it: its place in the cluster and its latest metrics. */
export interface ValkeyCardNode {
  node: ClusterNode
  /** Undefined until the metrics list has it (the two endpoints are read one after the other). */
  metrics?: ValkeyNodeMetrics
}

/** A master with the replicas that follow it; replicas whose master is not listed form a group without one. */
export interface ValkeyGroup { master: ValkeyCardNode | null, replicas: ValkeyCardNode[] }

const slotStart = (slots: string | undefined) => Number.parseInt(slots ?? '', 10)

/** Groups replicas under their master, masters ordered by their first slot (masters without slots last). */
export function groupByMaster(nodes: ClusterNode[], metrics: ValkeyNodeMetrics[]): ValkeyGroup[] {
  const byId = new Map(metrics.map(m => [m.nodeId, m]))
  const card = (node: ClusterNode): ValkeyCardNode => ({ node, metrics: byId.get(node.nodeId) })
  const masters = nodes.filter(n => n.role === 'master').sort((a, b) => {
    const sa = slotStart(a.slots)
    const sb = slotStart(b.slots)
    return (Number.isNaN(sa) ? Infinity : sa) - (Number.isNaN(sb) ? Infinity : sb) || a.nodeAddress.localeCompare(b.nodeAddress)
  })
  const groups: ValkeyGroup[] = masters.map(m => ({ master: card(m), replicas: [] }))
  const groupOf = new Map(groups.map(g => [g.master!.node.nodeId, g]))
  const orphans: ValkeyCardNode[] = []
  for (const r of nodes.filter(n => n.role === 'slave').sort((a, b) => a.nodeAddress.localeCompare(b.nodeAddress))) {
    const group = r.masterNodeId ? groupOf.get(r.masterNodeId) : undefined
    if (group) group.replicas.push(card(r))
    else orphans.push(card(r))
  }
  return orphans.length ? [...groups, { master: null, replicas: orphans }] : groups
}

/** One watched cluster as the view draws it: its state, its masters with their replicas, and what keeps it degraded. */
export interface ValkeyClusterView { cluster: WatchedCluster, groups: ValkeyGroup[], notOk: string[] }

/** Splits the nodes by cluster (a node without `cluster` belongs to the only watched one). */
export function byCluster(clusters: WatchedCluster[], nodes: ClusterNode[], metrics: ValkeyNodeMetrics[]): ValkeyClusterView[] {
  const of = (n: { cluster?: string }) => n.cluster ?? clusters[0]?.name
  return clusters.map((cluster) => {
    const own = nodes.filter(n => of(n) === cluster.name)
    const figures = metrics.filter(m => of(m) === cluster.name)
    return { cluster, groups: groupByMaster(own, figures), notOk: notOkNodes(own, figures) }
  })
}

/** "address (why)" of each node that keeps the cluster degraded: not answering, or flagged by the cluster. */
export function notOkNodes(nodes: ClusterNode[], metrics: ValkeyNodeMetrics[]): string[] {
  const byId = new Map(metrics.map(m => [m.nodeId, m]))
  return nodes.flatMap((n) => {
    const m = byId.get(n.nodeId)
    const why = [...alarmFlags(n.flags), ...(m && m.status !== 'online' ? [m.status] : [])]
    return why.length ? [`${n.nodeAddress} (${why.join(', ')})`] : []
  })
}

/** What the cluster view says of slot coverage. */
export function coverageText(uncovered: string[]): string {
  return uncovered.length ? `Slots not served: ${uncovered.join(', ')}` : 'All 16,384 slots served'
}

/** The flags worth a badge: failure states and handshakes (role and `myself` are shown otherwise). */
export function alarmFlags(flags: string[]): string[] {
  return flags.filter(f => f === 'fail' || f === 'fail?' || f === 'handshake' || f === 'noaddr').map(f => (f === 'fail?' ? 'pfail' : f))
}

const countFormat = new Intl.NumberFormat('en-US')

/** 1250789 → "1,250,789". */
export const formatThousands = (n: number) => countFormat.format(n)
