/**
 * History (issue 12): the metrics NodePulse keeps over time, the queries of
 * `GET /api/v1/nodes/{id}/history`, `GET /api/v1/history` and `GET /api/v1/nodes/{id}/uptime`,
 * and their answers. Times in answers: `t` is the bucket's start in unix seconds (what chart
 * libraries take); range ends are ISO-8601 strings.
 */
import { z } from 'zod'
import { timeParam } from './common'

/**
 * Every figure history keeps, per node and bucket: the summary's percentages and the numeric
 * figures of an agent's detail (network and disk rates summed over interfaces and disks, the
 * hottest sensor).
 */
export const HISTORY_METRICS = [
  'cpu_percent', 'memory_percent', 'disk_percent',
  'load1', 'load5', 'load15',
  'memory_used_bytes', 'swap_used_bytes',
  'net_rx_bytes_per_sec', 'net_tx_bytes_per_sec',
  'disk_read_bytes_per_sec', 'disk_write_bytes_per_sec',
  'temperature_celsius', 'processes', 'active_backups',
] as const
export type HistoryMetric = (typeof HISTORY_METRICS)[number]

/** The metrics a node history query returns when `metrics` is not given. */
export const DEFAULT_HISTORY_METRICS: HistoryMetric[] = ['cpu_percent', 'memory_percent', 'disk_percent']

/** Bounds of the queries. */
export const HISTORY_LIMITS = {
  /** `points` of a node's history: default and most. */
  nodePoints: { default: 300, max: 2000 },
  /** `points` of the fleet query (one metric across nodes): default and most. */
  fleetPoints: { default: 300, max: 1000 },
  /** Most node ids in `nodes=` of the fleet query. */
  fleetNodes: 5000,
  /** Longest range a query may ask for, in days. */
  maxRangeDays: 3660,
  /** Default range when `from` is not given: the 24 hours before `to`. */
  defaultRangeSeconds: 86_400,
  /** `days` of the uptime query: default and most. */
  uptimeDays: { default: 90, max: 731 },
} as const

const metric = z.enum(HISTORY_METRICS, { error: `must be one of ${HISTORY_METRICS.join(', ')}` })
const whole = (min: number, max: number) => z.string({ error: 'must be given once, as a whole number' }).regex(/^\d+$/, 'must be a whole number')
  .transform(Number).pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
const once = z.string({ error: issue => (issue.input === undefined ? 'is required' : 'must be given once') })

/** A comma-separated list (`a,b`), also accepted repeated (`?x=a&x=b`); empty items are refused. */
const commaList = <T extends z.ZodType<unknown, string>>(item: T) => z.union([z.string(), z.array(z.string())], { error: 'must be a comma-separated list' })
  .transform(v => (Array.isArray(v) ? v : [v]).flatMap(s => s.split(',')).map(s => s.trim()))
  .pipe(z.array(item))

/** `from`/`to` (ISO-8601 or unix seconds/ms): `to` defaults to now, `from` to 24 h before `to`; `from` must be before `to`. */
const range = {
  from: once.pipe(timeParam).optional(),
  to: once.pipe(timeParam).optional(),
}
type RangeIn = { from?: Date, to?: Date }
const checkRange = (q: RangeIn, ctx: z.RefinementCtx) => {
  const to = q.to ?? new Date()
  const from = q.from ?? new Date(to.getTime() - HISTORY_LIMITS.defaultRangeSeconds * 1000)
  if (from.getTime() < Date.UTC(2000, 0, 1)) ctx.addIssue({ code: 'custom', path: ['from'], message: 'must not be before the year 2000' })
  if (from.getTime() >= to.getTime()) ctx.addIssue({ code: 'custom', path: ['from'], message: 'must be before to' })
  if (to.getTime() - from.getTime() > HISTORY_LIMITS.maxRangeDays * 86_400_000) ctx.addIssue({ code: 'custom', path: ['from'], message: `must be at most ${HISTORY_LIMITS.maxRangeDays} days before to` })
  return { from, to }
}

/** `GET /api/v1/nodes/{id}/history?metrics=cpu_percent,memory_percent&from=&to=&points=300` */
export const nodeHistoryQuery = z.object({
  metrics: commaList(metric).refine(l => l.length > 0, 'must name at least one metric').optional(),
  ...range,
  points: whole(1, HISTORY_LIMITS.nodePoints.max).optional(),
}).transform((q, ctx) => ({
  metrics: [...new Set(q.metrics ?? DEFAULT_HISTORY_METRICS)],
  ...checkRange(q, ctx),
  points: q.points ?? HISTORY_LIMITS.nodePoints.default,
}))
export type NodeHistoryQuery = z.output<typeof nodeHistoryQuery>

const nodeId = z.string().regex(/^[1-9]\d{0,9}$/, 'must be a list of positive whole numbers').transform(Number)
  .pipe(z.number().max(2_147_483_647, 'is too large'))
/** The figures a bucket can carry. */
export const HISTORY_FIGURES = ['avg', 'min', 'max'] as const
export type HistoryFigure = (typeof HISTORY_FIGURES)[number]
const figure = z.enum(HISTORY_FIGURES, { error: `must be a list of ${HISTORY_FIGURES.join(', ')}` })

/** `name:value` (the first ":" separates them), as the nodes page shows labels. */
const labelSelector = once.regex(/^[^:]{1,63}:.{0,255}$/, 'must be name:value (e.g. cluster:prod)')
  .transform(v => ({ name: v.slice(0, v.indexOf(':')), value: v.slice(v.indexOf(':') + 1) }))

/**
 * `GET /api/v1/history?metric=cpu_percent&from=&to=&nodes=1,2,3|label=cluster:prod&points=&figures=avg`:
 * one metric across nodes; neither `nodes` nor `label` means every node. `figures` names the
 * figures each bucket carries (default all three): a comparison of many nodes draws only the
 * averages, and leaving out min and max halves the answer and the work of making it.
 */
export const fleetHistoryQuery = z.object({
  metric: once.pipe(metric),
  ...range,
  points: whole(1, HISTORY_LIMITS.fleetPoints.max).optional(),
  nodes: commaList(nodeId).refine(l => l.length > 0, 'must name at least one node')
    .refine(l => l.length <= HISTORY_LIMITS.fleetNodes, `must name at most ${HISTORY_LIMITS.fleetNodes} nodes`).optional(),
  label: labelSelector.optional(),
  figures: commaList(figure).refine(l => l.length > 0, 'must name at least one figure').optional(),
}).transform((q, ctx): { metric: HistoryMetric, from: Date, to: Date, points: number, nodes?: number[], label?: { name: string, value: string }, figures: HistoryFigure[] } => {
  if (q.nodes && q.label) ctx.addIssue({ code: 'custom', path: ['label'], message: 'give nodes or label, not both' })
  return {
    metric: q.metric,
    ...checkRange(q, ctx),
    points: q.points ?? HISTORY_LIMITS.fleetPoints.default,
    nodes: q.nodes ? [...new Set(q.nodes)] : undefined,
    label: q.label,
    figures: HISTORY_FIGURES.filter(f => q.figures?.includes(f) ?? true),
  }
})
export type FleetHistoryQuery = z.output<typeof fleetHistoryQuery>

/** `GET /api/v1/nodes/{id}/uptime?days=90` */
export const uptimeQuery = z.object({
  days: whole(1, HISTORY_LIMITS.uptimeDays.max).optional(),
}).transform(q => ({ days: q.days ?? HISTORY_LIMITS.uptimeDays.default }))
export type UptimeQuery = z.output<typeof uptimeQuery>

/** A tier of stored history: `raw` samples, or rollups of `width_seconds` buckets. */
export interface HistoryTier {
  /** As configured in NODEPULSE_HISTORY_TIERS: `raw`, `1m`, `15m`, `1h`, … */
  name: string
  /** 0 for raw samples. */
  width_seconds: number
  /** How long the tier is kept. */
  retention_seconds: number
}

/**
 * One bucket of a series: its start (unix seconds) and the average, lowest and highest value
 * of the samples in it. A bucket without data has null figures (a gap).
 */
export interface HistoryBucket { t: number, avg: number | null, min: number | null, max: number | null }

/** A stretch without data: `from` inclusive, `to` exclusive, unix seconds, on bucket edges. */
export interface HistoryGap { from: number, to: number }

/**
 * One metric of one node over the range: every bucket from the one holding `from` to the one
 * holding `to`, in time order (at most `points`), empty ones included; `gaps` lists the runs
 * of empty buckets.
 */
export interface HistorySeries { metric: HistoryMetric, buckets: HistoryBucket[], gaps: HistoryGap[] }

/** What both history queries share: the range asked for, the tier read and the bucket width. */
export interface HistoryRange {
  from: string
  to: string
  /** The tier the buckets were computed from (the newest minutes not yet rolled up come from raw samples). */
  tier: HistoryTier
  /** Width of each returned bucket: a whole multiple of the tier's width. */
  step_seconds: number
}

/** `GET /api/v1/nodes/{id}/history` answer: one series per metric asked for, in the order asked. */
export interface NodeHistory extends HistoryRange {
  node_id: number
  series: HistorySeries[]
}

/** A bucket of the fleet answer: its start and the figures asked for (`figures`, all three by default). */
export type FleetBucket = Pick<HistoryBucket, 't'> & Partial<Omit<HistoryBucket, 't'>>

/** One node's series in the fleet answer. */
export interface FleetSeries {
  node_id: number
  hostname: string
  buckets: FleetBucket[]
  gaps: HistoryGap[]
}

/** `GET /api/v1/history` answer: one series per node (by id), all on the same buckets. */
export interface FleetHistory extends HistoryRange {
  metric: HistoryMetric
  nodes: FleetSeries[]
}

/** One UTC day of a node's availability, from its status history. */
export interface UptimeDay {
  /** YYYY-MM-DD (UTC). */
  date: string
  /** Seconds of the day the node was online. */
  online_seconds: number
  /** Seconds of the day its status is known (after it was added, up to now, within the kept status history). */
  known_seconds: number
  /** online_seconds / known_seconds, 0–1; null when nothing of the day is known. */
  online_share: number | null
}

/** `GET /api/v1/nodes/{id}/uptime` answer: oldest day first, today last (so far). */
export interface NodeUptime {
  node_id: number
  days: UptimeDay[]
  /** Over all the days: online seconds / known seconds; null when none is known. */
  online_share: number | null
}
