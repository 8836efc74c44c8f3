import { LABEL_NAME } from '../shared/contracts/limits'

/** Parses "env=prod, rack=r1" (commas or new lines) into labels, or says which entry is malformed. */
export function parseLabels(text: string): { labels: Record<string, string> } | { error: string } {
  const labels: Record<string, string> = {}
  for (const entry of text.split(/[,\n]/).map(s => s.trim()).filter(Boolean)) {
    const eq = entry.indexOf('=')
    if (eq <= 0) return { error: `Label "${entry}" must be written as key=value` }
    labels[entry.slice(0, eq).trim()] = entry.slice(eq + 1).trim()
  }
  return { labels }
}

/** A node's labels as the REST list carries them. */
export type Labels = Readonly<Record<string, string>>

/** Label keys a node's own tags already show (a member node's member and source, a Valkey node's role). */
const SHOWN_AS_TAGS: Record<string, readonly string[]> = { member: ['member', 'source'], valkey: ['valkey_role'] }

/** The labels a card or row shows as chips, sorted by key; those a tag already shows are left out. */
export function shownLabels(node: { kind: string, labels: Labels }): [string, string][] {
  const hidden = SHOWN_AS_TAGS[node.kind] ?? []
  return Object.entries(node.labels).filter(([key]) => !hidden.includes(key)).sort(([a], [b]) => a.localeCompare(b))
}

/**
 * Whether a node matches a search: every word must match. `key=value` matches a label exactly
 * (case-insensitive; `key=` any value of that key); a plain word is part of the hostname or of a
 * label value.
 */
export function matchesSearch(hostname: string, labels: Labels, query: string): boolean {
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean)
  if (!words.length) return true
  const entries = Object.entries(labels).map(([k, v]) => [k.toLowerCase(), v.toLowerCase()] as const)
  const host = hostname.toLowerCase()
  return words.every((word) => {
    const eq = word.indexOf('=')
    if (eq > 0) {
      const [key, value] = [word.slice(0, eq), word.slice(eq + 1)]
      return entries.some(([k, v]) => k === key && (value === '' || v === value))
    }
    return host.includes(word) || entries.some(([, v]) => v.includes(word))
  })
}

/** Every label key the nodes carry (tags' keys left out), sorted: the dashboard's "Group by" choices. */
export function labelKeys(nodes: readonly { kind: string, labels: Labels }[]): string[] {
  const keys = new Set<string>()
  for (const n of nodes) for (const [key] of shownLabels(n)) keys.add(key)
  return [...keys].sort((a, b) => a.localeCompare(b))
}

/** What a label key may be in a URL (as the API's label names). */
export const isLabelKey = (text: string): boolean => LABEL_NAME.test(text)
