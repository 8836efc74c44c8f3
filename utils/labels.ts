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

/** A node's text as the search reads it, lowercased once (kept per node while its name and labels stay). */
export interface SearchText {
  host: string
  entries: readonly (readonly [string, string])[]
  /** Every label value, one per line: a word (no whitespace) cannot match across two. */
  values: string
}

/** A search's words, lowercased: `key=value` (a key before the `=`) or a plain word. */
export type SearchWord = string | { key: string, value: string }

/** A node's search text from its hostname and labels. */
export function searchText(hostname: string, labels: Labels): SearchText {
  const entries = Object.entries(labels).map(([k, v]) => [k.toLowerCase(), v.toLowerCase()] as const)
  return { host: hostname.toLowerCase(), entries, values: entries.map(([, v]) => v).join('\n') }
}

/** A search's words; none for an empty search. */
export function parseSearch(query: string): SearchWord[] {
  return query.trim().toLowerCase().split(/\s+/).filter(Boolean).map((word) => {
    const eq = word.indexOf('=')
    return eq > 0 ? { key: word.slice(0, eq), value: word.slice(eq + 1) } : word
  })
}

/** Whether a search text matches every word (see matchesSearch). */
export function matchesWords(text: SearchText, words: readonly SearchWord[]): boolean {
  return words.every(word => typeof word === 'string'
    ? text.host.includes(word) || text.values.includes(word)
    : text.entries.some(([k, v]) => k === word.key && (word.value === '' || v === word.value)))
}

/**
 * Whether a node matches a search: every word must match. `key=value` matches a label exactly
 * (case-insensitive; `key=` any value of that key); a plain word is part of the hostname or of a
 * label value.
 */
export function matchesSearch(hostname: string, labels: Labels, query: string): boolean {
  return matchesWords(searchText(hostname, labels), parseSearch(query))
}

/** Every label key the nodes carry (tags' keys left out), sorted: the dashboard's "Group by" choices. */
export function labelKeys(nodes: readonly { kind: string, labels: Labels }[]): string[] {
  const keys = new Set<string>()
  for (const n of nodes) for (const [key] of shownLabels(n)) keys.add(key)
  return [...keys].sort((a, b) => a.localeCompare(b))
}

/** What a label key may be in a URL (as the API's label names). */
export const isLabelKey = (text: string): boolean => LABEL_NAME.test(text)
