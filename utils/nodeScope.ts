import type { NodeStats } from '~~/shared/contracts/seed000'
import type { EventView } from '~~/shared/contracts/seed002'
import { collator } from './nodeList'

/**
 * The dashboard's "Node: All | …" selection (seed 003): every node, this server's own nodes, one
 * member's nodes, or one node. In the URL as `?scope=local`, `?scope=member:<name>`, `?scope=node:<id>`.
 */
export type NodeScope =
  | { kind: 'all' }
  | { kind: 'local' }
  | { kind: 'member', name: string }
  | { kind: 'node', id: number }

export const ALL_NODES: NodeScope = { kind: 'all' }

/** A scope from its URL form; anything unknown is every node. */
export function parseScope(text: string): NodeScope {
  if (text === 'local') return { kind: 'local' }
  const member = /^member:([\w.-]{1,64})$/.exec(text)
  if (member) return { kind: 'member', name: member[1]! }
  const node = /^node:([1-9]\d{0,9})$/.exec(text)
  if (node) return { kind: 'node', id: Number(node[1]) }
  return ALL_NODES
}

/** A scope's URL form ('' for every node). */
export function scopeText(scope: NodeScope): string {
  switch (scope.kind) {
    case 'all': return ''
    case 'local': return 'local'
    case 'member': return `member:${scope.name}`
    case 'node': return `node:${scope.id}`
  }
}

/** Member names by node id: the nodes this server pulls from a member (the rest are its own). */
export type MemberMap = ReadonlyMap<number, string>

/** Whether node `id` is in the scope. */
export function inScope(scope: NodeScope, id: number, members: MemberMap): boolean {
  switch (scope.kind) {
    case 'all': return true
    case 'local': return !members.has(id)
    case 'member': return members.get(id) === scope.name
    case 'node': return id === scope.id
  }
}

/** The nodes in the scope, in their order. */
export function nodesInScope<T extends Pick<NodeStats, 'id'>>(nodes: readonly T[], scope: NodeScope, members: MemberMap): readonly T[] {
  return scope.kind === 'all' ? nodes : nodes.filter(n => inScope(scope, n.id, members))
}

/**
 * Whether an event belongs to the scope: by its node, or, for an event about no node, by the
 * member it came from (pulled events and a member's reachability changes name it in `data.member`).
 */
export function eventInScope(scope: NodeScope, e: Pick<EventView, 'node_id' | 'data'>, members: MemberMap): boolean {
  if (e.node_id !== null) return inScope(scope, e.node_id, members)
  const member = typeof e.data.member === 'string' ? e.data.member : null
  switch (scope.kind) {
    case 'all': return true
    case 'local': return member === null
    case 'member': return member === scope.name
    case 'node': return false
  }
}

/** A node's own name: the aggregator names member nodes `<member> / <hostname>`. */
export function ownName(hostname: string, member: string | null | undefined): string {
  const prefix = member ? `${member} / ` : ''
  return prefix && hostname.startsWith(prefix) ? hostname.slice(prefix.length) : hostname
}

/** One group of the selector: this server's nodes (member null), then each member's. */
export interface ScopeGroup { member: string | null, nodes: { id: number, name: string }[] }

/** The selector's groups: this server's own nodes first, then each member (by name) with its nodes. */
export function scopeGroups(nodes: readonly Pick<NodeStats, 'id' | 'hostname'>[], members: MemberMap): ScopeGroup[] {
  const byMember = new Map<string | null, ScopeGroup>([[null, { member: null, nodes: [] }]])
  for (const n of nodes) {
    const member = members.get(n.id) ?? null
    let group = byMember.get(member)
    if (!group) byMember.set(member, (group = { member, nodes: [] }))
    group.nodes.push({ id: n.id, name: ownName(n.hostname, member) })
  }
  for (const g of byMember.values()) g.nodes.sort((a, b) => collator.compare(a.name, b.name) || a.id - b.id)
  const [own, ...rest] = byMember.values()
  return [own!, ...rest.sort((a, b) => collator.compare(a.member!, b.member!))]
}

/** One row of the readings table: a node's sample as the live stream showed it. */
export interface ReadingRow {
  key: string
  id: number
  hostname: string
  /** When the sample arrived (the node's last_seen), or the snapshot's time for the live master. */
  at: string
  cpu: number | null
  memory: number | null
  disk: number | null
}

/**
 * Adds the samples a snapshot shows to the newest-first rows: a row per node whose last_seen moved
 * (its first appearance included); the live master, which has no last_seen, when its figures
 * changed. Keeps at most `max` rows.
 */
export function addReadings(rows: readonly ReadingRow[], snapshot: { timestamp: string, nodes: readonly NodeStats[] }, max: number): ReadingRow[] {
  const latest = new Map<number, ReadingRow>()
  for (const r of rows) if (!latest.has(r.id)) latest.set(r.id, r)
  const added: ReadingRow[] = []
  for (const n of snapshot.nodes) {
    if (n.cpu_percent === null) continue
    const prev = latest.get(n.id)
    const at = n.last_seen ?? snapshot.timestamp
    if (prev && (n.last_seen === null
      ? prev.cpu === n.cpu_percent && prev.memory === n.memory_percent && prev.disk === n.disk_percent
      : prev.at >= at)) continue
    added.push({ key: `${n.id}@${at}`, id: n.id, hostname: n.hostname, at, cpu: n.cpu_percent, memory: n.memory_percent, disk: n.disk_percent })
  }
  if (!added.length) return rows as ReadingRow[]
  added.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : a.id - b.id))
  return [...added, ...rows].slice(0, max)
}
