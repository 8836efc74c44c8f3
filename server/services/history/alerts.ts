/**
 * Threshold alert rules (issue 12): admin CRUD, and the leader's evaluation over the finest
 * rollup tier (1-minute buckets by default) right after each rollup. A node breaks a rule when
 * every whole bucket of the rule's duration has data and its average breaks the threshold; it
 * recovers when the newest whole bucket no longer does. Each change is an event in the event log
 * (`threshold_exceeded` / `threshold_recovered`), written in one transaction with the rule's state,
 * so webhooks and toasts follow (the state row keeps the event, which webhook reminders repeat while
 * the rule keeps firing); a node in maintenance gets its events marked so they do not alert.
 * A per-core rule's threshold is its value times the node's core count from its newest report.
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
const breaks = (value: number, comparison: AlertRuleRow['comparison'], threshold: number) => ({
  '>': value > threshold, '>=': value >= threshold, '<': value < threshold, '<=': value <= threshold,
})[comparison]
const minutes = (s: number) => (s % 3600 === 0 ? `${s / 3600} h` : `${s / 60} min`)
const round = (v: number) => Number(v.toPrecision(4))

/** A node's CPU core count from its newest report, null when that report has no per-core figures. */
export function coresOf(node: NodeState): number | null {
  const cores = node.latest?.detail?.cpu_cores?.length
  return cores ? cores : null
}

/** The threshold a rule holds a node to: its value, times the node's cores for a per-core rule (null: unknown cores). */
export function thresholdFor(rule: Pick<AlertRuleRow, 'value' | 'perCore'>, node: NodeState): number | null {
  if (!rule.perCore) return rule.value
  const cores = coresOf(node)
  return cores === null ? null : rule.value * cores
}

/** "load1 > 1 × cores (8)", "cpu_percent > 90". */
function condition(rule: AlertRuleRow, threshold: number): string {
  return rule.perCore ? `${rule.metric} ${rule.comparison} ${rule.value} × cores (${round(threshold)})` : `${rule.metric} ${rule.comparison} ${rule.value}`
}

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
      id: row.id, name: row.name, metric: row.metric, comparison: row.comparison, value: row.value, per_core: row.perCore, duration_seconds: row.durationSeconds,
      nodes: row.nodes, severity: row.severity, enabled: row.enabled, created_at: row.createdAt.toISOString(), updated_at: row.updatedAt.toISOString(),
      firing: firing.map(f => ({ node_id: f.nodeId, since: f.since.toISOString(), value: f.value, threshold: f.threshold ?? row.value })),
    }
  }

  async function find(id: number): Promise<AlertRuleRow> {
    const [row] = await db.select().from(alertRules).where(eq(alertRules.id, id))
    if (!row) throw notFound(id)
    return row
  }

  /** Records one node's change of state for a rule, with the state row in the same transaction. */
  async function change(rule: AlertRuleRow, node: NodeState, exceeded: boolean, value: number | null, threshold: number, at: Date): Promise<void> {
    const now = value === null ? '—' : round(value)
    await log.record({
      type: exceeded ? 'threshold_exceeded' : 'threshold_recovered',
      severity: exceeded ? rule.severity : 'success',
      nodeId: node.id, clusterId: node.labels.cluster ?? null,
      message: exceeded
        ? `${node.hostname}: ${condition(rule, threshold)} for ${minutes(rule.durationSeconds)} (now ${now}), rule "${rule.name}"`
        : `${node.hostname}: ${rule.metric} is back (${now}), rule "${rule.name}"`,
      data: {
        hostname: node.hostname, rule_id: rule.id, rule: rule.name, metric: rule.metric, comparison: rule.comparison,
        threshold, ...(rule.perCore ? { per_core: rule.value } : {}), duration_seconds: rule.durationSeconds, value,
        ...(node.maintenance ? { maintenance: true } : {}),
      },
    }, async (tx, event) => {
      if (exceeded) await tx.insert(alertStates).values({ ruleId: rule.id, nodeId: node.id, since: at, value, threshold, eventId: event.id }).onConflictDoNothing()
      else await tx.delete(alertStates).where(and(eq(alertStates.ruleId, rule.id), eq(alertStates.nodeId, node.id)))
    })
  }

  /** One rule over its nodes' newest whole buckets. */
  async function evaluateRule(rule: AlertRuleRow, width: number, now: Date): Promise<{ exceeded: number, recovered: number }> {
    const result = { exceeded: 0, recovered: 0 }
    const firing = new Map((await db.select().from(alertStates).where(eq(alertStates.ruleId, rule.id))).map(r => [r.nodeId, r]))
    // Each watched node with the threshold it is held to; a per-core rule skips nodes of unknown cores.
    const watched = registry.list().filter(n => selects(rule.nodes, n))
      .flatMap((node) => {
        const threshold = thresholdFor(rule, node)
        return threshold === null ? [] : [{ node, threshold }]
      })
    if (!watched.length) return result
    const needed = Math.ceil(rule.durationSeconds / width)
    const end = Math.floor(now.getTime() / 1000 / width) * width
    const start = end - needed * width
    const m = rule.metric
    const thresholds = sql.join(watched.map(w => sql`(${w.node.id}::int, ${w.threshold}::float8)`), sql`, `)
    const rows = rowsOf<{ node_id: number, buckets: string | number, breaking: string | number, latest: number | null, latest_at: string | Date | null }>(await db.execute(sql`
      select r.node_id, count(*) filter (where ${raw(`r.${m}_n`)} > 0) as buckets,
        count(*) filter (where ${raw(`r.${m}_n > 0 and r.${m}_avg ${rule.comparison}`)} t.threshold) as breaking,
        (array_agg(${raw(`r.${m}_avg`)} order by r.bucket desc) filter (where ${raw(`r.${m}_n`)} > 0))[1]::float8 as latest,
        max(r.bucket) filter (where ${raw(`r.${m}_n`)} > 0) as latest_at
      from history_rollups r join (values ${thresholds}) as t(node_id, threshold) on t.node_id = r.node_id
      where r.width_seconds = ${width} and r.bucket >= ${new Date(start * 1000).toISOString()}::timestamptz and r.bucket < ${new Date(end * 1000).toISOString()}::timestamptz
      group by r.node_id`))
    const byNode = new Map(rows.map(r => [Number(r.node_id), r]))
    for (const { node, threshold } of watched) {
      const r = byNode.get(node.id)
      const latest = r?.latest === null || r?.latest === undefined ? null : Number(r.latest)
      const broken = Boolean(r && Number(r.buckets) === needed && Number(r.breaking) === needed)
      const state = firing.get(node.id)
      if (!state && broken) {
        await change(rule, node, true, latest, threshold, now)
        result.exceeded++
      }
      const newest = r?.latest_at ? new Date(r.latest_at).getTime() / 1000 : null
      // Recovery is judged against the threshold the node broke (its cores may have changed since).
      if (state && latest !== null && newest === end - width && !breaks(latest, rule.comparison, state.threshold ?? threshold)) {
        await change(rule, node, false, latest, state.threshold ?? threshold, now)
        result.recovered++
      }
    }
    return result
  }

  // Whether a rule was added, changed or deleted here since the last evaluation (evaluated at the
  // leader's next tick, not only after the next rollup). A change on another instance waits for the
  // leader's next rollup, at most a minute.
  let rulesChanged = true

  return {
    /** Whether a rule changed on this instance since the last evaluation. */
    rulesChanged: () => rulesChanged,

    /** Every rule, by id, with the nodes it is firing for. */
    async list(): Promise<AlertRuleView[]> {
      return Promise.all((await db.select().from(alertRules).orderBy(asc(alertRules.id))).map(view))
    },

    /** One rule; 404 when there is none. */
    get: async (id: number): Promise<AlertRuleView> => view(await find(id)),

    /** Adds a rule; 409 when the name is taken. */
    async create(body: CreateAlertRuleBody): Promise<AlertRuleView> {
      rulesChanged = true
      const [row] = await db.insert(alertRules).values({
        name: body.name, metric: body.metric, comparison: body.comparison, value: body.value, perCore: body.per_core, durationSeconds: body.duration_seconds,
        nodes: body.nodes, severity: body.severity, enabled: body.enabled,
      }).onConflictDoNothing().returning()
      if (!row) throw taken(body.name)
      return view(row)
    },

    /** Changes a rule; a changed condition starts it afresh (its firing nodes are forgotten without events). */
    async update(id: number, patch: UpdateAlertRuleBody): Promise<AlertRuleView> {
      rulesChanged = true
      const before = await find(id)
      if (patch.name !== undefined && patch.name !== before.name) {
        const [other] = await db.select({ id: alertRules.id }).from(alertRules).where(eq(alertRules.name, patch.name))
        if (other) throw taken(patch.name)
      }
      const [row] = await db.update(alertRules).set({
        name: patch.name, metric: patch.metric, comparison: patch.comparison, value: patch.value, perCore: patch.per_core, durationSeconds: patch.duration_seconds,
        nodes: patch.nodes, severity: patch.severity, enabled: patch.enabled, updatedAt: new Date(),
      }).where(eq(alertRules.id, id)).returning()
      if (!row) throw notFound(id)
      const conditionFields = ['metric', 'comparison', 'value', 'per_core', 'duration_seconds', 'nodes'] as const
      if (conditionFields.some(k => patch[k] !== undefined) || patch.enabled === false) await db.delete(alertStates).where(eq(alertStates.ruleId, id))
      return view(row)
    },

    /** Deletes a rule and its state; 404 when there is none. */
    async remove(id: number): Promise<void> {
      rulesChanged = true
      const [row] = await db.delete(alertRules).where(eq(alertRules.id, id)).returning({ id: alertRules.id })
      if (!row) throw notFound(id)
    },

    /** Evaluates every enabled rule (the leader, right after a rollup); how many nodes changed each way. */
    async evaluate(now = new Date()): Promise<{ exceeded: number, recovered: number }> {
      const total = { exceeded: 0, recovered: 0 }
      rulesChanged = false
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
