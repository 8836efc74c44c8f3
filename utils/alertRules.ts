import type { AlertNodes, AlertRuleView, CreateAlertRuleBody, UpdateAlertRuleBody } from '../shared/contracts/alerts'
import { HISTORY_METRICS, type HistoryMetric } from '../shared/contracts/history'
import { formatBytes } from './units'
import { parseLabels } from './labels'

/** How a metric's values read: a percentage, a plain number, bytes, bytes per second, degrees. */
type MetricUnit = 'percent' | 'number' | 'bytes' | 'rate' | 'celsius'

/** Each metric a rule can watch: its name for people and its unit. */
export const ALERT_METRICS: Record<HistoryMetric, { label: string, unit: MetricUnit }> = {
  cpu_percent: { label: 'CPU usage', unit: 'percent' },
  memory_percent: { label: 'Memory usage', unit: 'percent' },
  disk_percent: { label: 'Disk usage', unit: 'percent' },
  load1: { label: 'Load average, 1 min', unit: 'number' },
  load5: { label: 'Load average, 5 min', unit: 'number' },
  load15: { label: 'Load average, 15 min', unit: 'number' },
  memory_used_bytes: { label: 'Memory used', unit: 'bytes' },
  swap_used_bytes: { label: 'Swap used', unit: 'bytes' },
  net_rx_bytes_per_sec: { label: 'Network received', unit: 'rate' },
  net_tx_bytes_per_sec: { label: 'Network sent', unit: 'rate' },
  disk_read_bytes_per_sec: { label: 'Disk read', unit: 'rate' },
  disk_write_bytes_per_sec: { label: 'Disk written', unit: 'rate' },
  temperature_celsius: { label: 'Temperature, hottest sensor', unit: 'celsius' },
  processes: { label: 'Processes', unit: 'number' },
  active_backups: { label: 'Active backups', unit: 'number' },
}

const UNIT_NAMES: Record<MetricUnit, string> = { percent: '%', number: '', bytes: 'bytes', rate: 'bytes/s', celsius: '°C' }

/** The metric selector's options, in the contract's order: "CPU usage (%)". */
export const METRIC_OPTIONS = HISTORY_METRICS.map((metric) => {
  const { label, unit } = ALERT_METRICS[metric]
  return { metric, label: UNIT_NAMES[unit] ? `${label} (${UNIT_NAMES[unit]})` : label }
})

/** The unit a metric's threshold is typed in ("%", "bytes/s"; empty for plain numbers). */
export const metricUnit = (metric: HistoryMetric): string => UNIT_NAMES[ALERT_METRICS[metric].unit]

const numberFormat = new Intl.NumberFormat('en', { maximumFractionDigits: 2 })

/** A metric's value for people: "97.5 %", "1.5 GiB", "12 MiB/s", "71 °C", "3.08". */
export function formatMetricValue(metric: HistoryMetric, value: number | null): string {
  if (value === null) return '—'
  switch (ALERT_METRICS[metric].unit) {
    case 'percent': return `${numberFormat.format(value)} %`
    case 'bytes': return formatBytes(value)
    case 'rate': return `${formatBytes(value)}/s`
    case 'celsius': return `${numberFormat.format(value)} °C`
    default: return numberFormat.format(value)
  }
}

/** "5 min", "1 h", "90 min": how the server's events say a duration. */
export function formatDuration(seconds: number): string {
  return seconds % 3600 === 0 ? `${seconds / 3600} h` : `${seconds / 60} min`
}

/** "on all nodes", "on web-01, web-02", "on nodes labelled cluster=prod, role=db" (a form not filled in yet: "on no nodes yet"). */
export function describeNodes(nodes: AlertNodes, hostnames: ReadonlyMap<number, string>): string {
  if (nodes === 'all') return 'on all nodes'
  const names = 'ids' in nodes ? nodes.ids.map(id => hostnames.get(id) ?? `node #${id}`) : Object.entries(nodes.labels).map(([k, v]) => `${k}=${v}`)
  if (!names.length) return 'on no nodes yet'
  return 'ids' in nodes ? `on ${names.join(', ')}` : `on nodes labelled ${names.join(', ')}`
}

/**
 * A rule as one sentence: "cpu_percent > 90 for 5 min on nodes labelled cluster=prod",
 * "load1 > 1 × cores for 10 min on all nodes"; a byte metric's threshold also reads in units.
 */
export function describeRule(rule: Pick<AlertRuleView, 'metric' | 'comparison' | 'value' | 'per_core' | 'duration_seconds' | 'nodes'>, hostnames: ReadonlyMap<number, string>): string {
  const unit = ALERT_METRICS[rule.metric].unit
  const readable = !rule.per_core && (unit === 'bytes' || unit === 'rate') ? ` (${formatMetricValue(rule.metric, rule.value)})` : ''
  const threshold = rule.per_core ? `${rule.value} × cores` : `${rule.value}${readable}`
  return `${rule.metric} ${rule.comparison} ${threshold} for ${formatDuration(rule.duration_seconds)} ${describeNodes(rule.nodes, hostnames)}`
}

/** What the form edits: a whole rule, as `POST` takes it. */
export type AlertRuleDraft = CreateAlertRuleBody

/** A new rule's starting point. */
export function emptyDraft(): AlertRuleDraft {
  return { name: '', metric: 'cpu_percent', comparison: '>', value: 90, per_core: false, duration_seconds: 300, nodes: 'all', severity: 'warning', enabled: true }
}

/** A rule's editable fields. */
export function draftOf(rule: AlertRuleView): AlertRuleDraft {
  const { name, metric, comparison, value, per_core, duration_seconds, nodes, severity, enabled } = rule
  return { name, metric, comparison, value, per_core, duration_seconds, nodes, severity, enabled }
}

/** The add form's one-click starting points (issue 12's examples). */
export const ALERT_PRESETS: { id: string, label: string, name: string, fields: Pick<AlertRuleDraft, 'metric' | 'comparison' | 'value' | 'per_core' | 'duration_seconds'> }[] = [
  { id: 'cpu', label: 'CPU > 90 % for 5 min', name: 'High CPU', fields: { metric: 'cpu_percent', comparison: '>', value: 90, per_core: false, duration_seconds: 300 } },
  { id: 'disk', label: 'Disk > 85 % for 1 min', name: 'Disk filling up', fields: { metric: 'disk_percent', comparison: '>', value: 85, per_core: false, duration_seconds: 60 } },
  { id: 'load', label: 'Load > cores for 10 min', name: 'Load above cores', fields: { metric: 'load1', comparison: '>', value: 1, per_core: true, duration_seconds: 600 } },
]

const sameNodes = (a: AlertNodes, b: AlertNodes): boolean => {
  const key = (n: AlertNodes) => (n === 'all' ? 'all' : 'ids' in n ? `ids:${[...n.ids].sort((x, y) => x - y).join(',')}` : `labels:${Object.entries(n.labels).sort(([x], [y]) => x.localeCompare(y)).map(([k, v]) => `${k}=${v}`).join('\n')}`)
  return key(a) === key(b)
}

/**
 * The fields an edit changed, for `PATCH`: only those, since a changed condition makes the server
 * forget which nodes the rule is firing for (a new name or severity keeps them). Empty: nothing to send.
 */
export function changedFields(rule: AlertRuleView, draft: AlertRuleDraft): UpdateAlertRuleBody {
  const patch: UpdateAlertRuleBody = {}
  const before = draftOf(rule)
  for (const key of ['name', 'metric', 'comparison', 'value', 'per_core', 'duration_seconds', 'severity', 'enabled'] as const) {
    if (draft[key] !== before[key]) Object.assign(patch, { [key]: draft[key] })
  }
  if (!sameNodes(before.nodes, draft.nodes)) patch.nodes = draft.nodes
  return patch
}

/** How the form's node selector is set: all, nodes picked from the list, or labels typed as "name=value, …". */
export type NodeChoice = 'all' | 'ids' | 'labels'
export interface NodeSelection { mode: NodeChoice, ids: number[], labels: string }

/** The selector's setting for a rule's nodes. */
export function selectionOf(nodes: AlertNodes): NodeSelection {
  if (nodes === 'all') return { mode: 'all', ids: [], labels: '' }
  if ('ids' in nodes) return { mode: 'ids', ids: [...nodes.ids], labels: '' }
  return { mode: 'labels', ids: [], labels: Object.entries(nodes.labels).map(([k, v]) => `${k}=${v}`).join(', ') }
}

/** The rule's nodes from the selector, or what is wrong with the labels typed (the server judges the rest). */
export function nodesOf(selection: NodeSelection): { nodes: AlertNodes } | { error: string } {
  if (selection.mode === 'all') return { nodes: 'all' }
  if (selection.mode === 'ids') return { nodes: { ids: [...selection.ids].sort((a, b) => a - b) } }
  const parsed = parseLabels(selection.labels)
  return 'error' in parsed ? parsed : { nodes: { labels: parsed.labels } }
}
