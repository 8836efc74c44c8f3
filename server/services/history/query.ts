/**
 * The history queries: one node's metrics, or one metric across nodes, over a range, in at most
 * `points` buckets. Reads the tier `planQuery` picks plus the raw samples that tier has not
 * rolled up yet (the newest minutes): the tier's rows as they are when the step is the tier's
 * width, else re-bucketed to the step, in SQL.
 */
import { sql, type SQL } from 'drizzle-orm'
import {
  HISTORY_FIGURES, type FleetBucket, type FleetHistory, type FleetHistoryQuery, type HistoryBucket, type HistoryFigure, type HistoryGap,
  type HistoryMetric, type HistoryTier, type NodeHistory, type NodeHistoryQuery,
} from '../../../shared/contracts/history'
import { rowsOf, type Database } from '../../db'
import { NotFoundError } from '../errors'
import type { Registry } from '../registry'
import { RAW_EXPRESSIONS, raw } from './metrics'
import { planQuery, type QueryPlan } from './tiers'

/** Rollup rows one query may read; past it a coarser tier answers (fewer, wider buckets), so a fleet query stays fast. */
export const ROW_BUDGET = 250_000

/** One metric's figures per bucket of a plan (index i is the bucket starting at `from + i × step`); null where it has no data. Only the figures read are there. */
export type Figures = Partial<Record<HistoryFigure, (number | null)[]>>
const iso = (seconds: number) => sql`${new Date(seconds * 1000).toISOString()}::timestamptz`
/** A figure as SQL handed it over: a number, or null (JSON has no NaN or infinity; Postgres writes them as strings). */
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

/**
 * Every bucket of the plan with the `wanted` figures (all three unless told), empty ones with
 * null figures, and the runs of empty ones as gaps. A bucket is empty when its first figure is
 * null: a bucket with samples has all three.
 */
export function toSeries(plan: QueryPlan, figures: Figures | undefined): { buckets: HistoryBucket[], gaps: HistoryGap[] }
export function toSeries(plan: QueryPlan, figures: Figures | undefined, wanted: readonly HistoryFigure[]): { buckets: FleetBucket[], gaps: HistoryGap[] }
export function toSeries(plan: QueryPlan, figures: Figures | undefined, wanted: readonly HistoryFigure[] = HISTORY_FIGURES) {
  const buckets: FleetBucket[] = []
  const gaps: HistoryGap[] = []
  const first = figures?.[wanted[0]!]
  for (let i = 0, t = plan.from; t < plan.to; i++, t += plan.step) {
    const bucket: FleetBucket = { t }
    for (const f of wanted) bucket[f] = figures?.[f]?.[i] ?? null
    buckets.push(bucket)
    if ((first?.[i] ?? null) !== null) continue
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

  /** The newest sample id rolled into tier `w`: the raw samples past it are the top-up (read first, so the planner sees a number and finds them by id). */
  async function cursorOf(w: number): Promise<number> {
    if (!w) return 0
    return Number(rowsOf<{ c: string | number }>(await db.execute(sql`select coalesce(max(cursor), 0) as c from history_progress where width_seconds = ${w}`))[0]?.c ?? 0)
  }

  /** Per node and metric, the `wanted` figures of every bucket of the plan. */
  async function read(p: QueryPlan, metrics: HistoryMetric[], nodeIds: number[] | null, wanted: readonly HistoryFigure[]): Promise<Map<number, Map<HistoryMetric, Figures>>> {
    const w = p.tier.width_seconds
    const count = Math.round((p.to - p.from) / p.step)
    const only = (column: string): SQL => (nodeIds ? sql`and ${raw(column)} in (${sql.join(nodeIds.map(id => sql`${id}`), sql`, `)})` : sql``)
    const inRange = (time: string, node: string) => sql`${raw(time)} >= ${iso(p.from)} and ${raw(time)} < ${iso(p.to)} ${only(node)}`
    const rawRows = (newerThanTier: SQL) => sql`select s.node_id, s.ts, ${raw(metrics.map(m => `${RAW_EXPRESSIONS[m]} as ${m}`).join(', '))}
      from node_samples s where ${inRange('s.ts', 's.node_id')} ${newerThanTier}`
    // The bucket's index in the plan; date_part (float8) rather than extract (numeric) keeps it cheap.
    const indexOf = (time: string) => `floor((date_part('epoch', ${time}) - ${p.from}) / ${p.step})::int`
    // The cursor as read just before (a number, so the planner finds the newer samples by id), and
    // as the statement's own snapshot has it: a rollup that commits in between has moved those
    // samples into the tier, and they must not be counted twice.
    const cursor = await cursorOf(w)
    const newerThanTier = sql`and s.id > ${cursor} and s.id > (select coalesce(max(cursor), 0) from history_progress where width_seconds = ${w})`

    const out = new Map<number, Map<HistoryMetric, Figures>>()
    const figuresOf = (node: number, m: HistoryMetric) => {
      let perNode = out.get(node)
      if (!perNode) {
        const empty = (): Figures => Object.fromEntries(wanted.map(f => [f, Array(count).fill(null)]))
        out.set(node, perNode = new Map(metrics.map(x => [x, empty()])))
      }
      return perNode.get(m)!
    }
    // All of it as one JSON text, a row per node with its buckets as arrays of float4: handing tens
    // of thousands of rows, or Postgres arrays, to JavaScript costs more than the query on PGlite,
    // while JSON.parse is quick; float4 (what a rollup column holds) prints its shortest form,
    // about 7 digits. The arrays of one row are aggregated over the same rows in the same order,
    // so their items match; `i` places them.
    const perNode = async (source: SQL) => {
      const arrays = metrics.flatMap(m => wanted.map(f => `array_agg(${m}_${f}::float4) as ${m}_${f}`)).join(', ')
      const [row] = rowsOf<{ j: string | null }>(await db.execute(sql`select json_agg(x)::text as j from (
        select node_id as n, array_agg(i) as i, ${raw(arrays)} from (${source}) s group by node_id) x`))
      for (const x of JSON.parse(row?.j ?? '[]') as Record<string, number[]>[]) {
        const indexes = x.i!
        for (const m of metrics) {
          const target = figuresOf(Number(x.n), m)
          for (const f of wanted) {
            const values = x[`${m}_${f}`]!
            const into = target[f]!
            indexes.forEach((i, k) => (into[i] = num(values[k])))
          }
        }
      }
    }

    if (w && p.step === w) {
      // The step is the tier's width: its rows are the buckets, read as they are.
      await perNode(sql`select node_id, ${raw(indexOf('bucket'))} as i, ${raw(metrics.flatMap(m => wanted.map(f => `${m}_${f}`)).join(', '))}
        from history_rollups where width_seconds = ${w} and ${inRange('bucket', 'node_id')}`)
      // The samples not rolled up yet (the newest, and late ones), merged into their bucket's row.
      const sums = metrics.map(m => `sum(${m}) as ${m}_s, count(${m}) as ${m}_c, min(${m}) as ${m}_lo, max(${m}) as ${m}_hi`).join(', ')
      const merged = metrics.map(m => `((coalesce(r.${m}_avg * r.${m}_n, 0) + coalesce(x.${m}_s, 0)) / nullif(coalesce(r.${m}_n, 0) + x.${m}_c, 0))::float4 as ${m}_avg,
        least(r.${m}_min, x.${m}_lo)::float4 as ${m}_min, greatest(r.${m}_max, x.${m}_hi)::float4 as ${m}_max`).join(', ')
      const topUp = rowsOf<Record<string, unknown>>(await db.execute(sql`select x.node_id, x.i, ${raw(merged)}
        from (select node_id, ${raw(indexOf('ts'))} as i, ${raw(sums)} from (${rawRows(newerThanTier)}) s group by 1, 2) x
        left join history_rollups r on r.width_seconds = ${w} and r.node_id = x.node_id and r.bucket = ${iso(p.from)} + make_interval(secs => x.i * ${p.step})`))
      for (const row of topUp) {
        for (const m of metrics) {
          const target = figuresOf(Number(row.node_id), m)
          for (const f of wanted) target[f]![Number(row.i)] = num(Number(row[`${m}_${f}`] ?? Number.NaN))
        }
      }
      return out
    }
    // Wider buckets than the tier's (or raw samples): grouped to the step, the raw top-up weighted by its count.
    const fromRaw = metrics.map(m => `${m} as ${m}_a, ${m} as ${m}_lo, ${m} as ${m}_hi, (${m} is not null)::int as ${m}_n`).join(', ')
    const rawPart = (newerThanTier: SQL) => sql`select node_id, ts, ${raw(fromRaw)} from (${rawRows(newerThanTier)}) s`
    const source = w
      ? sql`select node_id, bucket as ts, ${raw(metrics.map(m => `${m}_avg::float8 as ${m}_a, ${m}_min::float8 as ${m}_lo, ${m}_max::float8 as ${m}_hi, ${m}_n`).join(', '))}
          from history_rollups where width_seconds = ${w} and ${inRange('bucket', 'node_id')}
        union all
        ${rawPart(newerThanTier)}`
      : rawPart(sql``)
    const figures = metrics.map(m => `sum(${m}_a * ${m}_n) / nullif(sum(${m}_n), 0) as ${m}_avg, min(${m}_lo) as ${m}_min, max(${m}_hi) as ${m}_max`).join(', ')
    await perNode(sql`select node_id, ${raw(indexOf('ts'))} as i, ${raw(figures)} from (${source}) src group by 1, 2`)
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
      const data = (await read(p, q.metrics, [nodeId], HISTORY_FIGURES)).get(nodeId)
      return { node_id: nodeId, ...range(p, q), series: q.metrics.map(metric => ({ metric, ...toSeries(p, data?.get(metric)) })) }
    },

    /** One metric across the chosen nodes (ids, a label, or all), one series per node by id, with the figures asked for; unknown ids are a 404. */
    async fleet(q: FleetHistoryQuery): Promise<FleetHistory> {
      const all = registry.list()
      const missing = q.nodes?.filter(id => !registry.get(id)) ?? []
      if (missing.length) throw new NotFoundError(`Node${missing.length > 1 ? 's' : ''} ${missing.slice(0, 10).join(', ')} not found`)
      const chosen = (q.nodes ? q.nodes.map(id => registry.get(id)!)
        : q.label ? all.filter(n => n.labels[q.label!.name] === q.label!.value) : all).sort((a, b) => a.id - b.id)
      const p = plan(q.from, q.to, q.points, Math.max(1, chosen.length))
      const data = chosen.length ? await read(p, [q.metric], q.nodes || q.label ? chosen.map(n => n.id) : null, q.figures) : new Map()
      return {
        metric: q.metric, ...range(p, q),
        nodes: chosen.map(n => ({ node_id: n.id, hostname: n.hostname, ...toSeries(p, data.get(n.id)?.get(q.metric), q.figures) })),
      }
    },
  }
}
