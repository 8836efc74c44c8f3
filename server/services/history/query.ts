/**
 * The history queries: one node's metrics, or one metric across nodes, over a range, in at most
 * `points` buckets. Reads the tier `planQuery` picks plus the raw samples that tier has not
 * rolled up yet (the newest minutes), re-bucketed to the step in one SQL statement.
 */
import { sql, type SQL } from 'drizzle-orm'
import type {
  FleetHistory, FleetHistoryQuery, HistoryBucket, HistoryGap, HistoryMetric, HistoryTier, NodeHistory, NodeHistoryQuery,
} from '../../../shared/contracts/history'
import type { Database } from '../../db'
import { NotFoundError } from '../errors'
import type { Registry } from '../registry'
import { RAW_EXPRESSIONS, raw } from './metrics'
import { planQuery, type QueryPlan } from './tiers'

/** Rollup rows one query may read; past it a coarser tier answers (fewer, wider buckets), so a fleet query stays fast. */
export const ROW_BUDGET = 250_000

type Figures = Map<number, { avg: number | null, min: number | null, max: number | null }>
const rowsOf = <T>(result: unknown): T[] => (Array.isArray(result) ? result : (result as { rows: T[] }).rows)
const iso = (seconds: number) => sql`${new Date(seconds * 1000).toISOString()}::timestamptz`
const num = (v: unknown): number | null => {
  if (v === null || v === undefined || v === 'NULL') return null
  const n = Number(v)
  return Number.isFinite(n) ? Number(n.toPrecision(7)) : null
}

/** The items of a one-dimensional Postgres array of numbers in its text form (`{1,2.5,NULL}`), as strings. */
export function textArray(v: unknown): string[] {
  if (typeof v !== 'string' || v.length < 3) return []
  return v.slice(1, -1).split(',')
}

/** Every bucket of the plan, empty ones with null figures, and the runs of empty ones as gaps. */
export function toSeries(plan: QueryPlan, figures: Figures | undefined): { buckets: HistoryBucket[], gaps: HistoryGap[] } {
  const buckets: HistoryBucket[] = []
  const gaps: HistoryGap[] = []
  for (let t = plan.from; t < plan.to; t += plan.step) {
    const f = figures?.get(t)
    buckets.push({ t, avg: f?.avg ?? null, min: f?.min ?? null, max: f?.max ?? null })
    if (f?.avg !== null && f?.avg !== undefined) continue
    const last = gaps.at(-1)
    if (last && last.to === t) last.to = t + plan.step
    else gaps.push({ from: t, to: t + plan.step })
  }
  return { buckets, gaps }
}

/** History reads over the configured tiers. */
export function createHistoryQueries(db: Database, registry: Registry, tiers: HistoryTier[]) {
  /** The plan for a range, moved to coarser tiers while it would read more than ROW_BUDGET rows for `nodes` nodes. */
  function plan(from: Date, to: Date, points: number, nodes: number): QueryPlan {
    const f = Math.floor(from.getTime() / 1000)
    const t = Math.ceil(to.getTime() / 1000)
    const now = Math.floor(Date.now() / 1000)
    let p = planQuery(tiers, f, t, points, now)
    for (const coarser of tiers.filter(x => x.width_seconds > p.tier.width_seconds)) {
      const rows = nodes * (p.to - p.from) / Math.max(p.tier.width_seconds, 5)
      if (rows <= ROW_BUDGET) break
      p = planQuery([coarser], f, t, points, now)
    }
    return p
  }

  /** Per node and metric, each non-empty bucket's avg/min/max. */
  async function read(p: QueryPlan, metrics: HistoryMetric[], nodeIds: number[] | null): Promise<Map<number, Map<HistoryMetric, Figures>>> {
    const w = p.tier.width_seconds
    const only = (column: string): SQL => (nodeIds ? sql`and ${raw(column)} in (${sql.join(nodeIds.map(id => sql`${id}`), sql`, `)})` : sql``)
    const rawValues = metrics.map(m => `${RAW_EXPRESSIONS[m]} as ${m}`).join(', ')
    const fromRawRows = metrics.map(m => `${m} as ${m}_a, ${m} as ${m}_lo, ${m} as ${m}_hi, (${m} is not null)::int as ${m}_n`).join(', ')
    const rawPart = (newerThanTier: SQL) => sql`select node_id, ts, ${raw(fromRawRows)} from (
        select s.node_id, s.ts, ${raw(rawValues)} from node_samples s
        where s.ts >= ${iso(p.from)} and s.ts < ${iso(p.to)} ${only('s.node_id')} ${newerThanTier}) x`
    // Read first, so the planner sees a number: the samples past it are few and found by id.
    const cursor = w ? Number(rowsOf<{ c: string | number }>(await db.execute(sql`select coalesce(max(cursor), 0) as c from history_progress where width_seconds = ${w}`))[0]?.c ?? 0) : 0
    const source = w
      ? sql`select node_id, bucket as ts, ${raw(metrics.map(m => `${m}_avg::float8 as ${m}_a, ${m}_min::float8 as ${m}_lo, ${m}_max::float8 as ${m}_hi, ${m}_n`).join(', '))}
          from history_rollups where width_seconds = ${w} and bucket >= ${iso(p.from)} and bucket < ${iso(p.to)} ${only('node_id')}
        union all
        ${rawPart(sql`and s.id > ${cursor}`)}`
      : rawPart(sql``)
    const figures = metrics.map(m => `sum(${m}_a * ${m}_n) / nullif(sum(${m}_n), 0) as ${m}_avg, min(${m}_lo) as ${m}_min, max(${m}_hi) as ${m}_max`).join(', ')
    const arrays = metrics.flatMap(m => ['avg', 'min', 'max'].map(f => `array_agg(${m}_${f} order by t)::text as ${m}_${f}`)).join(', ')
    // One row per node with its buckets as arrays, as text: handing tens of thousands of rows, or
    // arrays of float8, to JavaScript costs more than the query (PGlite decodes them slowly), and
    // date_part (float8) rather than extract (numeric) keeps the bucket arithmetic cheap.
    const rows = rowsOf<Record<string, unknown>>(await db.execute(sql`with src as (${source}),
      buckets as (select node_id, (floor(date_part('epoch', ts) / ${p.step}) * ${p.step})::int8 as t, ${raw(figures)} from src group by 1, 2)
      select node_id, array_agg(t order by t)::text as t, ${raw(arrays)} from buckets group by node_id`))
    const out = new Map<number, Map<HistoryMetric, Figures>>()
    for (const row of rows) {
      const times = textArray(row.t).map(Number)
      out.set(Number(row.node_id), new Map(metrics.map((m) => {
        const [avg, min, max] = [textArray(row[`${m}_avg`]), textArray(row[`${m}_min`]), textArray(row[`${m}_max`])]
        return [m, new Map(times.map((t, i) => [t, { avg: num(avg[i]), min: num(min[i]), max: num(max[i]) }]))]
      })))
    }
    return out
  }

  const range = (p: QueryPlan, q: { from: Date, to: Date }) => ({
    from: q.from.toISOString(), to: q.to.toISOString(), tier: p.tier, step_seconds: p.step,
  })

  return {
    /** One node's metrics over the range (404 for an unknown node). */
    async node(nodeId: number, q: NodeHistoryQuery): Promise<NodeHistory> {
      if (!registry.get(nodeId)) throw new NotFoundError(`Node ${nodeId} not found`)
      const p = plan(q.from, q.to, q.points, 1)
      const data = (await read(p, q.metrics, [nodeId])).get(nodeId)
      return { node_id: nodeId, ...range(p, q), series: q.metrics.map(metric => ({ metric, ...toSeries(p, data?.get(metric)) })) }
    },

    /** One metric across the chosen nodes (ids, a label, or all), one series per node by id; unknown ids are a 404. */
    async fleet(q: FleetHistoryQuery): Promise<FleetHistory> {
      const all = registry.list()
      const missing = q.nodes?.filter(id => !registry.get(id)) ?? []
      if (missing.length) throw new NotFoundError(`Node${missing.length > 1 ? 's' : ''} ${missing.slice(0, 10).join(', ')} not found`)
      const chosen = (q.nodes ? q.nodes.map(id => registry.get(id)!)
        : q.label ? all.filter(n => n.labels[q.label!.name] === q.label!.value) : all).sort((a, b) => a.id - b.id)
      const p = plan(q.from, q.to, q.points, Math.max(1, chosen.length))
      const data = chosen.length ? await read(p, [q.metric], q.nodes || q.label ? chosen.map(n => n.id) : null) : new Map()
      return {
        metric: q.metric, ...range(p, q),
        nodes: chosen.map(n => ({ node_id: n.id, hostname: n.hostname, ...toSeries(p, data.get(n.id)?.get(q.metric)) })),
      }
    },
  }
}
