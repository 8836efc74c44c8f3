import type { LocationQuery } from 'vue-router'
import { HISTORY_METRICS, type FleetHistory, type HistoryMetric } from '../shared/contracts/history'
import type { NodeView } from '~~/shared/contracts/rest'
import type { ChartData } from '~/utils/historyChart'
import { inScope, parseScope, scopeText, type MemberMap, type NodeScope } from './nodeScope'
import { matchesSearch } from './labels'

/** How many lines the fleet chart draws: the top N by the ranking, or every node with data. */
export const TOP_CHOICES = ['10', '20', '50', 'all'] as const
export type TopChoice = (typeof TOP_CHOICES)[number]
export const DEFAULT_TOP: TopChoice = '10'

/** What the nodes are ranked by: the range's average, or the newest bucket's value. */
export type RankBy = 'average' | 'latest'

/**
 * The fleet view's state as it appears in the URL (`/compare?metric=&scope=&label=&q=&nodes=&top=&by=`,
 * the range beside it as on the node modal). The node filters combine: every one given must hold.
 */
export interface CompareView {
  metric: HistoryMetric
  /** The dashboard's "Node: All | …" selection: every node, this server's, one member's, one node. */
  scope: NodeScope
  /** `name:value`, or '' for any. */
  label: string
  /** Hostname contains (case-insensitive), or ''. */
  q: string
  /** Explicit node ids, or null for any. */
  nodes: number[] | null
  top: TopChoice
  by: RankBy
}

/** The URL keys this view owns (the range's `range`/`from`/`to` are the range picker's). */
export const COMPARE_KEYS = ['metric', 'scope', 'label', 'q', 'nodes', 'top', 'by'] as const

function one(value: LocationQuery[string] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? ''
}

function isMetric(value: string): value is HistoryMetric {
  return (HISTORY_METRICS as readonly string[]).includes(value)
}

function isTop(value: string): value is TopChoice {
  return (TOP_CHOICES as readonly string[]).includes(value)
}

/** Reads the view from a query; anything unknown falls back to its default. */
export function parseCompareView(query: LocationQuery): CompareView {
  const metric = one(query.metric)
  const label = one(query.label)
  const nodes = one(query.nodes)
  const top = one(query.top)
  return {
    metric: isMetric(metric) ? metric : 'cpu_percent',
    scope: parseScope(one(query.scope)),
    label: /^[^:]{1,63}:.{0,255}$/.test(label) ? label : '',
    q: one(query.q).slice(0, 200),
    nodes: /^[1-9]\d{0,9}(,[1-9]\d{0,9})*$/.test(nodes) ? [...new Set(nodes.split(',').map(Number))] : null,
    top: isTop(top) ? top : DEFAULT_TOP,
    by: one(query.by) === 'latest' ? 'latest' : 'average',
  }
}

/** The query of a view, defaults left out so plain URLs stay plain. */
export function compareQuery(view: CompareView): Record<string, string> {
  const query: Record<string, string> = {}
  if (view.metric !== 'cpu_percent') query.metric = view.metric
  const scope = scopeText(view.scope)
  if (scope) query.scope = scope
  if (view.label) query.label = view.label
  if (view.q) query.q = view.q
  if (view.nodes) query.nodes = view.nodes.join(',')
  if (view.top !== DEFAULT_TOP) query.top = view.top
  if (view.by !== 'average') query.by = view.by
  return query
}

/** Whether the view narrows the nodes at all (else it compares every node). */
export function isFiltered(view: CompareView): boolean {
  return view.scope.kind !== 'all' || view.label !== '' || view.q.trim() !== '' || view.nodes !== null
}

/** The nodes the view selects, in the list's order. */
export function selectNodes(nodes: readonly NodeView[], view: CompareView, members: MemberMap): NodeView[] {
  const colon = view.label.indexOf(':')
  const [name, value] = [view.label.slice(0, colon), view.label.slice(colon + 1)]
  const ids = view.nodes ? new Set(view.nodes) : null
  return nodes.filter(n => inScope(view.scope, n.id, members)
    && (!view.label || n.labels[name] === value)
    && matchesSearch(n.hostname, n.labels, view.q)
    && (!ids || ids.has(n.id)))
}

/** Every `name:value` label the nodes carry, sorted, for the label picker. */
export function labelChoices(nodes: readonly NodeView[]): string[] {
  const seen = new Set<string>()
  for (const n of nodes) for (const [name, value] of Object.entries(n.labels)) seen.add(`${name}:${value}`)
  return [...seen].sort(collator.compare)
}

/** Past this many ids the query asks for every node and keeps the chosen ones (a URL of 5,000 ids is too long). */
export const MAX_IDS_IN_QUERY = 1000

/** The node part of `GET /api/v1/history`'s query for a selection; null when it selects no node. */
export function fleetSelector(view: CompareView, selected: readonly NodeView[], all: readonly NodeView[]): { nodes?: string, label?: string } | null {
  if (!selected.length) return null
  if (selected.length === all.length && !isFiltered(view)) return {}
  const onlyLabel = view.label && view.scope.kind === 'all' && !view.q.trim() && !view.nodes
  if (onlyLabel) return { label: view.label }
  if (selected.length > MAX_IDS_IN_QUERY) return {}
  return { nodes: selected.map(n => n.id).join(',') }
}

/** One node of the ranking beside the chart. */
export interface FleetRank {
  id: number
  hostname: string
  /** The mean of its buckets' averages over the range; null without data. */
  average: number | null
  /** Its newest bucket's average, and that bucket's start (unix s); null without data. */
  latest: number | null
  latestAt: number | null
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' })

/**
 * The answer's nodes (those in `only`, when given) ranked by `by`, highest first; nodes without
 * data in the range last, by name.
 */
export function rankFleet(history: FleetHistory, by: RankBy, only?: ReadonlySet<number>): FleetRank[] {
  const ranks = history.nodes.filter(n => !only || only.has(n.node_id)).map((n): FleetRank => {
    let sum = 0
    let count = 0
    let latest: number | null = null
    let latestAt: number | null = null
    for (const b of n.buckets) {
      if (b.avg == null) continue
      sum += b.avg
      count++
      latest = b.avg
      latestAt = b.t
    }
    return { id: n.node_id, hostname: n.hostname, average: count ? sum / count : null, latest, latestAt }
  })
  return ranks.sort((a, b) => {
    const [va, vb] = [a[by], b[by]]
    if (va !== vb) {
      if (va === null) return 1
      if (vb === null) return -1
      return vb - va
    }
    return collator.compare(a.hostname, b.hostname) || a.id - b.id
  })
}

/** How many of the ranked nodes the chart draws: the top N of those with data. */
export function drawnCount(ranks: readonly FleetRank[], top: TopChoice): number {
  const withData = ranks.filter(r => r.average !== null).length
  return top === 'all' ? withData : Math.min(withData, Number(top))
}

/** The fleet chart's data in uPlot's aligned form: the shared bucket times, then one avg column per node in `ids`. */
export function fleetChartData(history: FleetHistory, ids: readonly number[]): ChartData {
  const byId = new Map(history.nodes.map(n => [n.node_id, n]))
  const times = history.nodes[0]?.buckets.map(b => b.t) ?? []
  return [times, ...ids.map(id => byId.get(id)?.buckets.map(b => b.avg ?? null) ?? times.map(() => null))]
}

/** Ten hues, each as a light-mode (600–700) and a dark-mode (400) shade, far enough apart to tell lines apart. */
const HUES = [
  ['#0284c7', '#38bdf8'], ['#ea580c', '#fb923c'], ['#059669', '#34d399'], ['#7c3aed', '#a78bfa'], ['#e11d48', '#fb7185'],
  ['#b45309', '#fbbf24'], ['#0f766e', '#2dd4bf'], ['#c026d3', '#e879f9'], ['#4d7c0f', '#a3e635'], ['#4338ca', '#818cf8'],
] as const
/** Past ten lines the hues repeat, dashed, then dotted. */
const DASHES: (number[] | null)[] = [null, [8, 4], [2, 3]]

/** Line `i`'s colour in each scheme and its dash pattern (null: solid), shared by the chart and its list. */
export function lineStyle(i: number): { light: string, dark: string, dash: number[] | null } {
  const [light, dark] = HUES[i % HUES.length]!
  return { light, dark, dash: DASHES[Math.floor(i / HUES.length) % DASHES.length]! }
}
