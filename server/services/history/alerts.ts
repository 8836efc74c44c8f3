/**
 * Threshold alert rules (issue 12): admin CRUD, and the leader's evaluation over the finest
 * rollup tier (1-minute buckets by default) right after each rollup. A node breaks a rule when
 * every whole bucket of the rule's duration has data and its average breaks the threshold; it
 * recovers when the newest whole bucket no longer does. Each change is an event in the event log
 * (`threshold_exceeded` / `threshold_recovered`), written in one transaction with the rule's state,
 * so webhooks and toasts follow; a node in maintenance gets its events marked so they do not alert.
 */
import { and, asc, eq, sql } from 'drizzle-orm'
import type { AlertNodes, AlertRuleView, CreateAlertRuleBody, UpdateAlertRuleBody } from '../../../shared/contracts/alerts'
import type { Database } from '../../db'
import { alertRules, alertStates, type AlertRuleRow } from '../../db/schema'
import { ConflictError, NotFoundError } from '../errors'
import type { EventLog } from '../events'
import type { NodeState, Registry } from '../registry'
import { startedInstance } from '../started'
import { raw } from './metrics'

const rowsOf = <T>(result: unknown): T[] => (Array.isArray(result) ? result : (result as { rows: T[] }).rows)
const notFound = (id: number) => new NotFoundError(`Alert rule ${id} not found`)
const taken = (name: string) => new ConflictError(`An alert rule named "${name}" already exists`)
const breaks = (value: number, rule: Pick<AlertRuleRow, 'comparison' | 'value'>) => ({
  '>': value > rule.value, '>=': value >= rule.value, '<': value < rule.value, '<=': value <= rule.value,
})[rule.comparison]
const minutes = (s: number) => (s % 3600 === 0 ? `${s / 3600} h` : `${s / 60} min`)
const round = (v: number) => Number(v.toPrecision(4))

/** Whether a rule watches this node. */
export function selects(nodes: AlertNodes, node: NodeState): boolean {
  if (nodes === 'all') return true
  if ('ids' in nodes) return nodes.ids.includes(node.id)
  return Object.entries(nodes.labels).every(([k, v]) => node.labels[k] === v)
}

/** Alert rules over `widthSeconds` buckets (the finest rollup tier; null: no rollups, so nothing is evaluated). */
export function createAlerts(db: Database, registry: Registry, log: EventLog, opts: { widthSeconds: number | null }) {
  async function view(row: AlertRuleRow): Promise<AlertRuleView> {
    const firing = await db.select().from(alertStates).where(eq(alertStates.ruleId, row.id)).orderBy(asc(alertStates.nodeId))
    return {
      id: row.id, name: row.name, metric: row.metric, comparison: row.comparison, value: row.value, duration_seconds: row.durationSeconds,
      nodes: row.nodes, severity: row.severity, enabled: row.enabled, created_at: row.createdAt.toISOString(), updated_at: row.updatedAt.toISOString(),
      firing: firing.map(f => ({ node_id: f.nodeId, since: f.since.toISOString(), value: f.value })),
    }
  }

  async function find(id: number): Promise<AlertRuleRow> {
    const [row] = await db.select().from(alertRules).where(eq(alertRules.id, id))
    if (!row) throw notFound(id)
    return row
  }

  /** Records one node's change of state for a rule, with the state row in the same transaction. */
  async function change(rule: AlertRuleRow, node: NodeState, exceeded: boolean, value: number | null, at: Date): Promise<void> {
    const what = `${rule.metric} ${rule.comparison} ${rule.value}`
    await log.record({
      type: exceeded ? 'threshold_exceeded' : 'threshold_recovered',
      severity: exceeded ? rule.severity : 'success',
      nodeId: node.id, clusterId: node.labels.cluster ?? null,
      message: exceeded
        ? `${node.hostname}: ${what} for ${minutes(rule.durationSeconds)} (now ${value === null ? '—' : round(value)}), rule "${rule.name}"`
        : `${node.hostname}: ${rule.metric} is back (${value === null ? '—' : round(value)}), rule "${rule.name}"`,
      data: {
        hostname: node.hostname, rule_id: rule.id, rule: rule.name, metric: rule.metric, comparison: rule.comparison,
        threshold: rule.value, duration_seconds: rule.durationSeconds, value, ...(node.maintenance ? { maintenance: true } : {}),
      },
    }, async (tx) => {
      if (exceeded) await tx.insert(alertStates).values({ ruleId: rule.id, nodeId: node.id, since: at, value }).onConflictDoNothing()
      else await tx.delete(alertStates).where(and(eq(alertStates.ruleId, rule.id), eq(alertStates.nodeId, node.id)))
    })
  }

  /** One rule over its nodes' newest whole buckets. */
  async function evaluateRule(rule: AlertRuleRow, width: number, now: Date): Promise<{ exceeded: number, recovered: number }> {
    const result = { exceeded: 0, recovered: 0 }
    const watched = registry.list().filter(n => selects(rule.nodes, n))
    const firing = new Set((await db.select({ nodeId: alertStates.nodeId }).from(alertStates).where(eq(alertStates.ruleId, rule.id))).map(r => r.nodeId))
    if (!watched.length) return result
    const needed = Math.ceil(rule.durationSeconds / width)
    const end = Math.floor(now.getTime() / 1000 / width) * width
    const start = end - needed * width
    const m = rule.metric
    const rows = rowsOf<{ node_id: number, buckets: string | number, breaking: string | number, latest: number | null, latest_at: string | Date | null }>(await db.execute(sql`
      select node_id, count(*) filter (where ${raw(`${m}_n`)} > 0) as buckets,
        count(*) filter (where ${raw(`${m}_n > 0 and ${m}_avg ${rule.comparison}`)} ${rule.value}) as breaking,
        (array_agg(${raw(`${m}_avg`)} order by bucket desc) filter (where ${raw(`${m}_n`)} > 0))[1]::float8 as latest,
        max(bucket) filter (where ${raw(`${m}_n`)} > 0) as latest_at
      from history_rollups
      where width_seconds = ${width} and bucket >= ${new Date(start * 1000).toISOString()}::timestamptz and bucket < ${new Date(end * 1000).toISOString()}::timestamptz
        and node_id in (${sql.join(watched.map(n => sql`${n.id}`), sql`, `)})
      group by node_id`))
    const byNode = new Map(rows.map(r => [Number(r.node_id), r]))
    for (const node of watched) {
      const r = byNode.get(node.id)
      const latest = r?.latest === null || r?.latest === undefined ? null : Number(r.latest)
      const broken = Boolean(r && Number(r.buckets) === needed && Number(r.breaking) === needed)
      if (!firing.has(node.id) && broken) {
        await change(rule, node, true, latest, now)
        result.exceeded++
      }
      const newest = r?.latest_at ? new Date(r.latest_at).getTime() / 1000 : null
      if (firing.has(node.id) && latest !== null && newest === end - width && !breaks(latest, rule)) {
        await change(rule, node, false, latest, now)
        result.recovered++
      }
    }
    return result
  }

  return {
    /** Every rule, by id, with the nodes it is firing for. */
    async list(): Promise<AlertRuleView[]> {
      return Promise.all((await db.select().from(alertRules).orderBy(asc(alertRules.id))).map(view))
    },

    /** One rule; 404 when there is none. */
    get: async (id: number): Promise<AlertRuleView> => view(await find(id)),

    /** Adds a rule; 409 when the name is taken. */
    async create(body: CreateAlertRuleBody): Promise<AlertRuleView> {
      const [row] = await db.insert(alertRules).values({
        name: body.name, metric: body.metric, comparison: body.comparison, value: body.value, durationSeconds: body.duration_seconds,
        nodes: body.nodes, severity: body.severity, enabled: body.enabled,
      }).onConflictDoNothing().returning()
      if (!row) throw taken(body.name)
      return view(row)
    },

    /** Changes a rule; a changed condition starts it afresh (its firing nodes are forgotten without events). */
    async update(id: number, patch: UpdateAlertRuleBody): Promise<AlertRuleView> {
      const before = await find(id)
      if (patch.name !== undefined && patch.name !== before.name) {
        const [other] = await db.select({ id: alertRules.id }).from(alertRules).where(eq(alertRules.name, patch.name))
        if (other) throw taken(patch.name)
      }
      const [row] = await db.update(alertRules).set({
        name: patch.name, metric: patch.metric, comparison: patch.comparison, value: patch.value, durationSeconds: patch.duration_seconds,
        nodes: patch.nodes, severity: patch.severity, enabled: patch.enabled, updatedAt: new Date(),
      }).where(eq(alertRules.id, id)).returning()
      if (!row) throw notFound(id)
      const condition = ['metric', 'comparison', 'value', 'duration_seconds', 'nodes'] as const
      if (condition.some(k => patch[k] !== undefined) || patch.enabled === false) await db.delete(alertStates).where(eq(alertStates.ruleId, id))
      return view(row)
    },

    /** Deletes a rule and its state; 404 when there is none. */
    async remove(id: number): Promise<void> {
      const [row] = await db.delete(alertRules).where(eq(alertRules.id, id)).returning({ id: alertRules.id })
      if (!row) throw notFound(id)
    },

    /** Evaluates every enabled rule (the leader, right after a rollup); how many nodes changed each way. */
    async evaluate(now = new Date()): Promise<{ exceeded: number, recovered: number }> {
      const total = { exceeded: 0, recovered: 0 }
      if (!opts.widthSeconds) return total
      for (const rule of await db.select().from(alertRules).where(eq(alertRules.enabled, true)).orderBy(asc(alertRules.id))) {
        const r = await evaluateRule(rule, opts.widthSeconds, now)
        total.exceeded += r.exceeded
        total.recovered += r.recovered
      }
      return total
    },
  }
}

export type Alerts = ReturnType<typeof createAlerts>

const running = startedInstance<Alerts>()
/** The running alert rules (503 until start-up has finished). */
export const useAlerts = running.use
/** Publishes the running alert rules (start-up) or withdraws them (stop). */
export const setAlerts = running.set
