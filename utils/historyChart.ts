import type uPlot from 'uplot'
import type { LocationQuery } from 'vue-router'
import type { HistoryMetric, HistoryRange, HistorySeries, NodeHistory } from '~~/shared/contracts/history'
import type { NodeDetailStats } from '~~/shared/contracts/seed000'

/** The range picker's presets, in seconds. */
export const RANGE_PRESETS = { '1h': 3600, '6h': 21_600, '24h': 86_400, '7d': 604_800, '30d': 2_592_000, '1y': 31_536_000 } as const
export type RangePreset = keyof typeof RANGE_PRESETS
export const DEFAULT_RANGE: RangePreset = '24h'

/** A chart range: a preset ending now (follows the stream live) or fixed ends in unix seconds. */
export type HistoryRangeChoice = { preset: RangePreset } | { from: number, to: number }

/** How a chart's values read: the axis ticks, the legend and the hover readout follow it. */
export type ChartUnit = 'percent' | 'load' | 'rate' | 'bytes' | 'celsius' | 'count'

/** What one chart draws: its metrics, and how their values read. */
export interface ChartGroup { id: string, title: string, metrics: HistoryMetric[], labels: string[], unit: ChartUnit }

/** Every history metric's readable name and unit (the fleet view's picker, axis and list). */
export const METRIC_INFO: Record<HistoryMetric, { name: string, unit: ChartUnit }> = {
  cpu_percent: { name: 'CPU', unit: 'percent' },
  memory_percent: { name: 'Memory', unit: 'percent' },
  disk_percent: { name: 'Disk', unit: 'percent' },
  load1: { name: 'Load, 1 min', unit: 'load' },
  load5: { name: 'Load, 5 min', unit: 'load' },
  load15: { name: 'Load, 15 min', unit: 'load' },
  memory_used_bytes: { name: 'Memory used', unit: 'bytes' },
  swap_used_bytes: { name: 'Swap used', unit: 'bytes' },
  net_rx_bytes_per_sec: { name: 'Network received', unit: 'rate' },
  net_tx_bytes_per_sec: { name: 'Network sent', unit: 'rate' },
  disk_read_bytes_per_sec: { name: 'Disk read', unit: 'rate' },
  disk_write_bytes_per_sec: { name: 'Disk written', unit: 'rate' },
  temperature_celsius: { name: 'Temperature, hottest sensor', unit: 'celsius' },
  processes: { name: 'Processes', unit: 'count' },
  active_backups: { name: 'Active backups', unit: 'count' },
}

/** A unit as the metric picker names it. */
export const UNIT_NAMES: Record<ChartUnit, string> = { percent: '%', load: 'load average', rate: 'bytes/s', bytes: 'bytes', celsius: '°C', count: 'count' }

/** The modal's charts, in the order shown. */
export const CHART_GROUPS: ChartGroup[] = [
  { id: 'cpu', title: 'CPU', metrics: ['cpu_percent'], labels: ['CPU'], unit: 'percent' },
  { id: 'memory', title: 'Memory', metrics: ['memory_percent'], labels: ['Memory'], unit: 'percent' },
  { id: 'disk', title: 'Disk', metrics: ['disk_percent'], labels: ['Disk'], unit: 'percent' },
  { id: 'load', title: 'Load', metrics: ['load1', 'load5', 'load15'], labels: ['1 min', '5 min', '15 min'], unit: 'load' },
  { id: 'network', title: 'Network', metrics: ['net_rx_bytes_per_sec', 'net_tx_bytes_per_sec'], labels: ['Received', 'Sent'], unit: 'rate' },
  { id: 'disk-io', title: 'Disk I/O', metrics: ['disk_read_bytes_per_sec', 'disk_write_bytes_per_sec'], labels: ['Read', 'Written'], unit: 'rate' },
]

/** Every metric the charts ask for, in one request. */
export const CHART_METRICS: HistoryMetric[] = CHART_GROUPS.flatMap(g => g.metrics)

function one(value: LocationQuery[string] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? ''
}

function isPreset(value: string): value is RangePreset {
  return Object.hasOwn(RANGE_PRESETS, value)
}

/** Reads `range=` or `from=&to=` (unix seconds) from the URL; anything else is the default range. */
export function parseRangeQuery(query: LocationQuery): HistoryRangeChoice {
  const range = one(query.range)
  if (isPreset(range)) return { preset: range }
  const from = one(query.from)
  const to = one(query.to)
  if (/^\d{9,11}$/.test(from) && /^\d{9,11}$/.test(to) && Number(from) < Number(to)) return { from: Number(from), to: Number(to) }
  return { preset: DEFAULT_RANGE }
}

/** The URL keys of a range (the default leaves the URL plain). */
export function rangeQuery(choice: HistoryRangeChoice): Record<string, string> {
  if ('preset' in choice) return choice.preset === DEFAULT_RANGE ? {} : { range: choice.preset }
  return { from: String(choice.from), to: String(choice.to) }
}

/** The ends of a range in unix seconds, a preset's ending at `now` (ms). */
export function rangeEnds(choice: HistoryRangeChoice, now: number): { from: number, to: number } {
  if ('preset' in choice) {
    const to = Math.floor(now / 1000)
    return { from: to - RANGE_PRESETS[choice.preset], to }
  }
  return { from: choice.from, to: choice.to }
}

/** An answer's range as the charts caption it: "1/12/2026, 10:00:00 – …· 60 s buckets (1m)". */
export function describeRange(h: HistoryRange): string {
  return `${new Date(h.from).toLocaleString()} – ${new Date(h.to).toLocaleString()} · ${h.step_seconds} s buckets (${h.tier.name})`
}

/**
 * One chart's data in uPlot's aligned form: times, then each metric's avg, min and max.
 * Empty buckets stay null, so the lines break at gaps.
 */
export type ChartData = [number[], ...(number | null)[][]]

/** The chart data of a group from a history answer (its metrics share the answer's buckets). */
export function groupData(history: NodeHistory, group: ChartGroup): ChartData {
  const bySeries = new Map<HistoryMetric, HistorySeries>(history.series.map(s => [s.metric, s]))
  const first = bySeries.get(group.metrics[0]!)
  const times = first ? first.buckets.map(b => b.t) : []
  const columns: (number | null)[][] = []
  for (const metric of group.metrics) {
    const buckets = bySeries.get(metric)?.buckets ?? []
    columns.push(buckets.map(b => b.avg), buckets.map(b => b.min), buckets.map(b => b.max))
  }
  return [times, ...columns]
}

/** How many buckets of a chart hold data (any of its metrics). */
export function pointCount(data: ChartData): number {
  let count = 0
  for (let i = 0; i < data[0].length; i++) {
    if (data.slice(1).some(column => column[i] !== null && column[i] !== undefined)) count++
  }
  return count
}

/** The time (unix s) of a chart's newest bucket that holds a value; null when none does. */
export function newestPoint(data: ChartData): number | null {
  for (let i = data[0].length - 1; i >= 0; i--) {
    if (data.slice(1).some(column => column[i] !== null && column[i] !== undefined)) return data[0][i]!
  }
  return null
}

/** Breaks inside a chart's first line: holes between two values wider than twice the usual spacing. */
export function interiorGaps(data: ChartData): number {
  const [times, avg = []] = data
  const spacing = usualSpacing(times, avg) ?? 0
  let gaps = 0
  let previous: number | null = null
  avg.forEach((v, i) => {
    if (v === null || v === undefined) return
    if (previous !== null && times[i]! - previous > 2 * spacing) gaps++
    previous = times[i]!
  })
  return gaps
}

/**
 * The usual distance in seconds between a line's neighbouring values (the median), or null with
 * fewer than two. Buckets finer than the node's report interval leave empty buckets between every
 * two samples; only a hole wider than twice this is a gap the chart breaks at.
 */
export function usualSpacing(times: number[], values: (number | null)[]): number | null {
  const spacings: number[] = []
  let previous: number | null = null
  values.forEach((v, i) => {
    if (v === null || v === undefined) return
    if (previous !== null) spacings.push(times[i]! - previous)
    previous = times[i]!
  })
  if (!spacings.length) return null
  spacings.sort((a, b) => a - b)
  return spacings[Math.floor(spacings.length / 2)]!
}

const sum = (values: (number | null | undefined)[]): number | null => {
  const known = values.filter((v): v is number => typeof v === 'number')
  return known.length ? known.reduce((a, b) => a + b, 0) : null
}

/** A live stream message's value of every charted metric, as the server's rollups read a raw sample. */
export function liveValues(node: NodeDetailStats): Record<string, number | null> {
  const d = node.detail
  return {
    cpu_percent: node.cpu_percent,
    memory_percent: node.memory_percent,
    disk_percent: node.disk_percent,
    load1: d.load?.['1m'] ?? null,
    load5: d.load?.['5m'] ?? null,
    load15: d.load?.['15m'] ?? null,
    net_rx_bytes_per_sec: sum((d.network ?? []).map(n => n.rx_bytes_per_sec)),
    net_tx_bytes_per_sec: sum((d.network ?? []).map(n => n.tx_bytes_per_sec)),
    disk_read_bytes_per_sec: d.disk_io?.read_bytes_per_sec ?? null,
    disk_write_bytes_per_sec: d.disk_io?.write_bytes_per_sec ?? null,
  }
}

/**
 * Folds one live sample (time `t`, unix seconds) into a chart's data in place: into the last
 * bucket when it falls inside it (min/max widened, avg left as the server computed it unless
 * the bucket was empty), else as a new bucket on the same grid of `step` seconds; buckets older
 * than `span` seconds before it are dropped so the window keeps its width. Returns whether
 * anything changed (older samples than the last bucket are ignored).
 */
export function appendLive(data: ChartData, group: ChartGroup, values: Record<string, number | null>, t: number, step: number, span: number): boolean {
  const [times, ...columns] = data
  const last = times.length ? times[times.length - 1]! : null
  if (last !== null && t < last) return false
  const inLast = last !== null && t < last + step
  if (!inLast) {
    const start = last === null ? t : last + Math.floor((t - last) / step) * step
    times.push(start)
    for (const column of columns) column.push(null)
  }
  const i = times.length - 1
  group.metrics.forEach((metric, m) => {
    const v = values[metric]
    if (v === null || v === undefined) return
    const [avg, min, max] = [columns[m * 3]!, columns[m * 3 + 1]!, columns[m * 3 + 2]!]
    if (avg[i] === null) avg[i] = v
    min[i] = min[i] === null ? v : Math.min(min[i]!, v)
    max[i] = max[i] === null ? v : Math.max(max[i]!, v)
  })
  let drop = 0
  while (drop < times.length - 1 && times[drop]! < t - span) drop++
  if (drop) {
    times.splice(0, drop)
    for (const column of columns) column.splice(0, drop)
  }
  return true
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

/** Tick steps of a bytes or bytes/s axis: 1, 2, 5, 10, 20, 50, 100, 200, 500 of each binary unit, so ticks read round. */
export const RATE_TICK_STEPS: number[] = BYTE_UNITS.flatMap((_, u) => [1, 2, 5, 10, 20, 50, 100, 200, 500].map(n => n * 1024 ** u))

/** An axis or legend value: "42 %", "1.25", "3.4 MiB/s", "7.5 GiB", "61 °C", "212"; a dash when there is none. */
export function formatChartValue(value: number | null | undefined, unit: ChartUnit): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—'
  if (unit === 'percent') return `${Number(value.toFixed(1))} %`
  if (unit === 'load') return String(Number(value.toFixed(2)))
  if (unit === 'celsius') return `${Number(value.toFixed(1))} °C`
  if (unit === 'count') return String(Number(value.toFixed(1)))
  let v = value
  let u = 0
  while (Math.abs(v) >= 1024 && u < BYTE_UNITS.length - 1) {
    v /= 1024
    u++
  }
  return `${Number(v.toFixed(v >= 100 ? 0 : 1))} ${BYTE_UNITS[u]}${unit === 'rate' ? '/s' : ''}`
}

// ─── uPlot options both chart components share ────────────────────────────────────────────

/** The x and y axes of a chart in `unit`, coloured for the scheme. */
export function chartAxes(unit: ChartUnit, dark: boolean): uPlot.Axis[] {
  const grid = dark ? '#1e293b' : '#e2e8f0'
  const style = { stroke: dark ? '#94a3b8' : '#475569', grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } }
  const binary = unit === 'rate' || unit === 'bytes'
  return [
    style,
    { ...style, size: unit === 'rate' ? 84 : binary ? 72 : 56, incrs: binary ? RATE_TICK_STEPS : undefined, values: (_u, splits) => splits.map(v => formatChartValue(v, unit)) },
  ]
}

/** The y scale: percentages 0–100, anything else from 0 to a tenth above the highest value. */
export function chartScales(unit: ChartUnit): uPlot.Scales {
  return { y: { range: (_u, _min, max) => (unit === 'percent' ? [0, 100] : [0, max > 0 ? max * 1.1 : 1]) } }
}

/**
 * Where a line breaks: only at holes wider than twice its usual spacing (not at the empty buckets
 * between samples when buckets are finer than the node's report interval).
 */
export function gapsRefiner(data: ChartData): uPlot.Series.GapsRefiner {
  return (u, seriesIdx, _i0, _i1, found) => {
    const spacing = usualSpacing(data[0], data[seriesIdx] ?? []) ?? 0
    const x0 = data[0][0] ?? 0
    const widest = u.valToPos(x0 + 2 * spacing, 'x', true) - u.valToPos(x0, 'x', true)
    return found.filter(([from, to]) => to - from > widest)
  }
}

/** Drag-to-zoom: a drag across the plot reports its stretch (unix seconds) instead of zooming in place. */
export function zoomOnSelect(onZoom: (from: number, to: number) => void): NonNullable<uPlot.Hooks.Arrays['setSelect']> {
  return [(u) => {
    if (u.select.width > 3) onZoom(u.posToVal(u.select.left, 'x'), u.posToVal(u.select.left + u.select.width, 'x'))
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false)
  }]
}
