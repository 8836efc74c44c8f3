import type { NodeStats, NodeStatsDelta, NodeStatsSnapshot } from '~~/shared/contracts/seed000'

/** Every node's summary as the dashboard's delta stream has told it so far, in id order. */
export interface NodeTable {
  timestamp: string | null
  /** Ordered by id; a new array whenever a node changed (the page's views compare by identity), the same one after an empty delta. */
  nodes: NodeStats[]
}

/**
 * Folds one message of the dashboard's stream into the table: a `snapshot` replaces it, a `delta`
 * replaces the nodes it carries whole and drops the ids it removed. Pure, so it is unit tested.
 */
export function applyNodeMessage(table: NodeTable, type: string, data: NodeStatsSnapshot | NodeStatsDelta): NodeTable {
  if (type === 'snapshot') {
    const { nodes, timestamp } = data as NodeStatsSnapshot
    return { timestamp, nodes: [...nodes].sort((a, b) => a.id - b.id) }
  }
  if (type !== 'delta') return table
  const { changed, removed, timestamp } = data as NodeStatsDelta
  if (changed.length === 0 && removed.length === 0) return { timestamp, nodes: table.nodes }
  const byId = new Map(changed.map(n => [n.id, n]))
  const gone = new Set(removed)
  const nodes: NodeStats[] = []
  for (const n of table.nodes) {
    if (gone.has(n.id)) continue
    const next = byId.get(n.id)
    nodes.push(next ?? n)
    byId.delete(n.id)
  }
  // Whatever is left is new: added nodes, in id order.
  if (byId.size) {
    nodes.push(...byId.values())
    nodes.sort((a, b) => a.id - b.id)
  }
  return { timestamp, nodes }
}
