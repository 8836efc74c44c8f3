import { and, asc, desc, eq, gt, gte, inArray, isNotNull, isNull, lt, lte, sql, type SQL } from 'drizzle-orm'
import { type AgentEventBody, type EventFilter, type EventPage, type EventStats, type EventView, SEVERITIES, type Severity, SEVERITY_RANK } from '../../shared/contracts/seed002'
import type { Database, Transaction } from '../db'
import type { SilenceMark } from '../../shared/contracts/silences'
import { events, incidents, type EventRow, type IncidentRow } from '../db/schema'
import { NotFoundError } from './errors'
import { lockJournal, type Journal } from './journal'
import type { NodeState } from './registry'
import { incidentFacts } from './silences'
import { startedInstance } from './started'

export interface NewEvent {
  type: string
  severity: Severity
  nodeId?: number | null
  clusterId?: string | null
  resourceType?: string
  message: string
  data?: Record<string, unknown>
  /** The incident it belongs to, when known as it is logged (an incident's own events). */
  incidentId?: number | null
}

/** Runs in an event's transaction after its insert: links it to an incident and names events to log beside it. */
export type Correlate = (tx: Transaction, row: EventRow) => Promise<{ row: EventRow, follow: NewEvent[] }>

/** The silence an event is muted by as it is logged (an in-memory check), or null. */
export type SilenceCheck = (e: Pick<NewEvent, 'type' | 'nodeId' | 'clusterId' | 'data'>) => SilenceMark | null

/** Paging and extra conditions of the history. */
export interface HistoryQuery {
  cursor?: number
  limit?: number
  acknowledged?: boolean
  since?: Date
}

const MINUTE = 60_000

/** Severities at or above `min`. */
const severitiesFrom = (min: Severity): Severity[] => SEVERITIES.filter(s => SEVERITY_RANK[s] >= SEVERITY_RANK[min])

/** The SQL conditions of an event filter (the history and the stream's replay). */
export function filterConditions(f: EventFilter): SQL[] {
  const where: SQL[] = []
  if (f.node_id.length) where.push(inArray(events.nodeId, f.node_id))
  if (f.cluster_id.length) where.push(inArray(events.clusterId, f.cluster_id))
  if (f.resource_type.length) where.push(inArray(events.resourceType, f.resource_type))
  if (f.event_type.length) where.push(inArray(events.type, f.event_type))
  if (f.severity.length) where.push(inArray(events.severity, f.severity))
  if (f.min_severity) where.push(inArray(events.severity, severitiesFrom(f.min_severity)))
  return where
}

/** Whether a live event passes a filter: the same rules as `filterConditions`, in memory. */
export function matchesFilter(f: EventFilter, e: EventView): boolean {
  return (!f.node_id.length || (e.node_id !== null && f.node_id.includes(e.node_id)))
    && (!f.cluster_id.length || (e.cluster_id !== null && f.cluster_id.includes(e.cluster_id)))
    && (!f.resource_type.length || f.resource_type.includes(e.resource_type))
    && (!f.event_type.length || f.event_type.includes(e.event_type))
    && (!f.severity.length || f.severity.includes(e.severity))
    && (!f.min_severity || SEVERITY_RANK[e.severity] >= SEVERITY_RANK[f.min_severity])
}

const AGENT_DEFAULTS: Record<AgentEventBody['event_type'], { severity: Severity, resource: string, says: string }> = {
  backup_started: { severity: 'info', resource: 'backup', says: 'a backup started' },
  backup_completed: { severity: 'success', resource: 'backup', says: 'a backup completed' },
  backup_failed: { severity: 'error', resource: 'backup', says: 'a backup failed' },
  error_report: { severity: 'error', resource: 'node', says: 'an error was reported' },
}

/**
 * The event an agent's report becomes: its node, cluster and maintenance state come from the
 * registry. The agent's own `data` goes under `data.agent`, so it cannot set a field the server
 * acts on (an agent sending `maintenance: true` would mute its own alerts).
 */
export function agentEvent(node: NodeState, body: AgentEventBody): NewEvent {
  const d = AGENT_DEFAULTS[body.event_type]
  return {
    type: body.event_type, severity: body.severity ?? d.severity, nodeId: node.id, clusterId: node.labels.cluster ?? null,
    resourceType: body.resource_type ?? d.resource, message: body.message ?? `${node.hostname}: ${d.says}`,
    data: {
      hostname: node.hostname, source: 'agent',
      ...(body.timestamp ? { reported_at: body.timestamp.toISOString() } : {}),
      ...(node.maintenance ? { maintenance: true } : {}),
      ...(body.data ? { agent: body.data } : {}),
    },
  }
}

/**
 * The persisted event log: each event is stored first, then announced to the streams.
 * `correlate` (the incidents' `correlateEvent`) links each event to its problem's incident;
 * `silenced` marks an event a silence mutes (`data.silenced_by`): stored and shown, never notified.
 */
export function createEventLog(db: Database, journal: Journal, opts: { correlate?: Correlate, silenced?: SilenceCheck } = {}) {
  const insertEvent = async (tx: Transaction, e: NewEvent): Promise<EventRow> => {
    const mark = opts.silenced?.(e)
    return (await tx.insert(events).values({
      type: e.type, severity: e.severity, nodeId: e.nodeId ?? null, clusterId: e.clusterId ?? null, resourceType: e.resourceType ?? 'node',
      message: e.message, data: mark ? { ...e.data, silenced_by: mark } : e.data ?? {}, incidentId: e.incidentId ?? null,
    }).returning())[0]!
  }

  /**
   * Appends one event and publishes it once committed. `alongside` runs in the same transaction
   * (the watcher records the state the event reports, so a crash can neither repeat nor lose it),
   * and so do the incident events it causes, announced right after it.
   */
  function record(e: NewEvent, alongside?: (tx: Transaction, row: EventRow) => Promise<unknown>): Promise<EventRow> {
    return journal.run(async () => {
      const rows = await db.transaction(async (tx) => {
        await lockJournal(tx, journal)
        const inserted = await insertEvent(tx, e)
        await alongside?.(tx, inserted)
        if (!opts.correlate) return [inserted]
        const { row, follow } = await opts.correlate(tx, inserted)
        const all = [row]
        for (const f of follow) all.push(await insertEvent(tx, f))
        return all
      })
      await journal.committed(rows.map(row => ({ kind: 'log' as const, row })))
      return rows[0]!
    })
  }

  /** Whether an active silence covers an incident now (its node, labels and kind's types). */
  const isSilencedIncident = (i: Pick<IncidentRow, 'kind' | 'nodeId' | 'clusterId'>) => opts.silenced?.(incidentFacts(i)) != null

  /** One event; 404 when there is none (any more). */
  async function get(id: number): Promise<EventView> {
    const [row] = await db.select().from(events).where(eq(events.id, id))
    if (!row) throw new NotFoundError(`Event ${id} not found (it may have been deleted by retention)`)
    return toEventView(row)
  }

  return {
    record,

    /** An agent's report of an event of its own node, recorded. */
    async fromAgent(node: NodeState, body: AgentEventBody): Promise<EventView> {
      return toEventView(await record(agentEvent(node, body)))
    },

    get,

    /** The history, newest first: `limit` events older than `cursor` (an id), and the next cursor. */
    async list(filter: EventFilter, q: HistoryQuery = {}): Promise<EventPage> {
      const limit = q.limit ?? 100
      const where = filterConditions(filter)
      if (q.cursor !== undefined) where.push(lt(events.id, q.cursor))
      if (q.acknowledged !== undefined) where.push(q.acknowledged ? isNotNull(events.acknowledgedAt) : isNull(events.acknowledgedAt))
      if (q.since) where.push(gte(events.createdAt, q.since))
      const rows = await db.select().from(events).where(and(...where)).orderBy(desc(events.id)).limit(limit + 1)
      const more = rows.length > limit
      const page = more ? rows.slice(0, limit) : rows
      return { events: page.map(toEventView), next_cursor: more ? page.at(-1)!.id : null }
    },

    /** Events after stream position `from` (or since a time) up to `upTo`, oldest first, at most `limit`. */
    async after(filter: EventFilter, from: { position?: number, since?: Date }, upTo: number, limit: number): Promise<EventRow[]> {
      const where = [...filterConditions(filter), lte(events.id, upTo)]
      if (from.position !== undefined) where.push(gt(events.id, from.position))
      if (from.since) where.push(gte(events.createdAt, from.since))
      return db.select().from(events).where(and(...where)).orderBy(asc(events.id)).limit(limit)
    },

    /**
     * Marks an event acknowledged by `by` and logs `event_acknowledged`. Acknowledging twice changes
     * nothing and logs nothing.
     */
    async acknowledge(id: number, by: string): Promise<EventView> {
      const [row] = await db.update(events).set({ acknowledgedAt: new Date(), acknowledgedBy: by })
        .where(and(eq(events.id, id), isNull(events.acknowledgedAt))).returning()
      if (!row) return get(id)
      await record({
        type: 'event_acknowledged', severity: 'info', nodeId: row.nodeId, clusterId: row.clusterId, resourceType: 'event',
        message: `${by} acknowledged: ${row.message}`,
        data: { acknowledged_event_id: row.id, acknowledged_event_type: row.type, acknowledged_by: by },
      })
      return toEventView(row)
    },

    /**
     * The last hour per minute, totals by type and severity, and what needs attention: unacknowledged
     * warnings and errors no silence muted, open unacknowledged incidents no active silence covers.
     */
    async stats(now = new Date()): Promise<EventStats> {
      const start = new Date(Math.floor(now.getTime() / MINUTE) * MINUTE - 59 * MINUTE)
      const minute = sql<Date>`date_trunc('minute', ${events.createdAt})`
      const rows = await db.select({ minute, type: events.type, severity: events.severity, count: sql<number>`count(*)::int` })
        .from(events).where(gte(events.createdAt, start)).groupBy(minute, events.type, events.severity)
      const [open] = await db.select({ count: sql<number>`count(*)::int` }).from(events)
        .where(and(isNull(events.acknowledgedAt), inArray(events.severity, ['warning', 'error']), sql`(${events.data}->'silenced_by') is null`))
      const openIncidents = await db.select({ kind: incidents.kind, nodeId: incidents.nodeId, clusterId: incidents.clusterId }).from(incidents)
        .where(and(isNull(incidents.resolvedAt), isNull(incidents.acknowledgedAt)))
      const buckets = Array.from({ length: 60 }, (_, i) => ({ minute: new Date(start.getTime() + i * MINUTE).toISOString(), count: 0, warning: 0, error: 0 }))
      const byType: Record<string, number> = {}
      const bySeverity = Object.fromEntries(SEVERITIES.map(s => [s, 0])) as Record<Severity, number>
      let total = 0
      for (const r of rows) {
        const bucket = buckets[Math.floor((new Date(r.minute).getTime() - start.getTime()) / MINUTE)]
        if (!bucket) continue
        bucket.count += r.count
        if (r.severity === 'warning' || r.severity === 'error') bucket[r.severity] += r.count
        byType[r.type] = (byType[r.type] ?? 0) + r.count
        bySeverity[r.severity] += r.count
        total += r.count
      }
      return { since: start.toISOString(), total, by_type: byType, by_severity: bySeverity, per_minute: buckets, unacknowledged: open?.count ?? 0, open_incidents: openIncidents.filter(i => !isSilencedIncident(i)).length }
    },
  }
}

export type EventLog = ReturnType<typeof createEventLog>

const running = startedInstance<EventLog>()
/** The running event log (503 until start-up has finished). */
export const useEventLog = running.use
/** Publishes the running event log (start-up) or withdraws it (stop). */
export const setEventLog = running.set

/** An event as the logs channel, the event stream, the history and webhooks show it. */
export function toEventView(row: EventRow): EventView {
  return {
    id: row.id, event_type: row.type, severity: row.severity, node_id: row.nodeId, cluster_id: row.clusterId,
    resource_type: row.resourceType, message: row.message, data: row.data,
    timestamp: Math.floor(row.createdAt.getTime() / 1000), created_at: row.createdAt.toISOString(),
    acknowledged_at: row.acknowledgedAt?.toISOString() ?? null, acknowledged_by: row.acknowledgedBy, incident_id: row.incidentId,
  }
}
