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

/**
 * The selector's groups: this server's own nodes first, then each member (by name) with its nodes.
 * Nodes given in name order are sorted in one pass (a sort of sorted items compares each once).
 */
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

/** One choice of the node picker: its scope's URL form ('' for every node) and the text shown. */
export interface ScopeOption { value: string, text: string }

/** A titled group of the picker's choices: this server's, or one member's. */
export interface ScopeSection { title: string, options: ScopeOption[] }

/** What the picker lists for a search: the matching choices in their groups, and how many matches it left out. */
export interface ScopeMatches { top: ScopeOption[], sections: ScopeSection[], hidden: number }

const EVERY_NODE: ScopeOption = { value: '', text: 'All nodes' }

/**
 * The picker's choices whose text contains `query` (case-insensitive), in the groups' order: every
 * node first, then each group's "All of …" and its nodes. At most `limit` nodes are listed, so a
 * picker over 10,000 nodes draws a page of them, never all; `hidden` counts the matches left out.
 */
export function scopeMatches(groups: readonly ScopeGroup[], unreachable: ReadonlyMap<string, string>, query: string, limit: number): ScopeMatches {
  const q = query.trim().toLowerCase()
  const fits = (text: string) => !q || text.toLowerCase().includes(q)
  const hasMembers = groups.length > 1
  const sections: ScopeSection[] = []
  let listed = 0
  let hidden = 0
  for (const g of groups) {
    const options: ScopeOption[] = []
    const whole = g.member === null ? (hasMembers ? { value: 'local', text: 'All of this server' } : null) : { value: `member:${g.member}`, text: `All of ${g.member}` }
    if (whole && fits(whole.text)) options.push(whole)
    const prefix = g.member === null ? '' : `${g.member} / `
    for (const n of g.nodes) {
      const text = prefix + n.name
      if (!fits(text)) continue
      if (listed < limit) {
        options.push({ value: `node:${n.id}`, text })
        listed++
      }
      else hidden++
    }
    if (options.length) sections.push({ title: g.member === null ? 'This server' : `Member ${g.member}${unreachable.has(g.member) ? ' (unreachable)' : ''}`, options })
  }
  return { top: fits(EVERY_NODE.text) ? [EVERY_NODE] : [], sections, hidden }
}

/**
 * What the closed picker shows for a scope: "All nodes", "All of this server", "All of <member>",
 * or the node's name (with its member's); a node or member this server does not know (a deep link
 * to one that went away) shows its URL form, marked not found.
 */
export function scopeLabel(scope: NodeScope, names: ReadonlyMap<number, string>, members: MemberMap): string {
  switch (scope.kind) {
    case 'all': return EVERY_NODE.text
    case 'local': return 'All of this server'
    case 'member': return [...members.values()].includes(scope.name) ? `All of ${scope.name}` : `${scopeText(scope)} (not found)`
    case 'node': {
      const hostname = names.get(scope.id)
      if (hostname === undefined) return `${scopeText(scope)} (not found)`
      const member = members.get(scope.id)
      return member ? `${member} / ${ownName(hostname, member)}` : hostname
    }
  }
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
