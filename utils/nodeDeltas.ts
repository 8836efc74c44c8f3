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

/** What changed between two lists of nodes: the versions that left (changed or removed) and those that came (changed or added). */
export interface NodeChanges {
  before: NodeStats[]
  after: NodeStats[]
}

/**
 * The nodes that differ between two lists, both in id order, compared by identity: a delta keeps
 * the objects of the nodes it did not carry, so a walk of both lists finds the changed ones
 * without looking inside any node.
 */
export function diffNodes(prev: readonly NodeStats[], next: readonly NodeStats[]): NodeChanges {
  const before: NodeStats[] = []
  const after: NodeStats[] = []
  let i = 0
  let j = 0
  while (i < prev.length || j < next.length) {
    const a = prev[i]
    const b = next[j]
    if (a === b) {
      i++
      j++
      continue
    }
    const gone = a !== undefined && (b === undefined || a.id <= b.id)
    const came = b !== undefined && (a === undefined || b.id <= a.id)
    if (gone) before.push(a)
    if (came) after.push(b)
    if (gone) i++
    if (came) j++
  }
  return { before, after }
}
