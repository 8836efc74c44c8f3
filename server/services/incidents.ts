import { and, asc, desc, eq, gte, inArray, isNotNull, isNull, lt, sql, type SQL } from 'drizzle-orm'
import type { AcknowledgeAllAnswer, IncidentDetail, IncidentEventType, IncidentFilter, IncidentKind, IncidentPage, IncidentView } from '../../shared/contracts/incidents'
import { describeDuration, INCIDENT_EVENT_TYPES } from '../../shared/contracts/incidents'
import type { SilenceMark } from '../../shared/contracts/silences'
import { SEVERITIES, type Severity, SEVERITY_RANK } from '../../shared/contracts/seed002'
import type { Database, Transaction } from '../db'
import { events, incidents, type EventRow, type IncidentRow } from '../db/schema'
import { NotFoundError } from './errors'
import { toEventView, type EventLog, type NewEvent, type SilenceCheck } from './events'
import { incidentFacts } from './silences'
import { startedInstance } from './started'

/** What an event does to the incident of its problem. */
export interface IncidentRule {
  /** Names the problem: at most one incident per key is open. */
  key: string
  kind: IncidentKind
  action: 'open' | 'resolve'
  title: string
}

/** A recovery this soon after its incident resolved belongs to it (a node back logs reachable, then online). */
const LATE_RECOVERY_MS = 60_000
/** The events an incident's page shows at most. */
const MAX_EVENTS = 500

type EventFacts = Pick<EventRow, 'type' | 'nodeId' | 'clusterId' | 'data'>

const hostOf = (e: EventFacts) => (typeof e.data.hostname === 'string' ? e.data.hostname : `node ${e.nodeId}`)

/**
 * Which incident an event opens or resolves, if any: a node going unreachable, stale or offline
 * (or a Valkey node down) opens `node:<id>`, the node reporting again (or removed) resolves it; a
 * cluster degraded opens `cluster:<id>` ('' for the whole fleet), ok resolves it; a threshold rule
 * firing for a node opens `threshold:<rule>:<node>`, its recovery resolves it.
 */
export function incidentRule(e: EventFacts): IncidentRule | null {
  const node = e.nodeId !== null ? { key: `node:${e.nodeId}`, kind: 'node' as const, title: `Node ${hostOf(e)} is down` } : null
  switch (e.type) {
    case 'node_unreachable': case 'valkey_node_down':
      return node && { ...node, action: 'open' }
    case 'node_reachable': case 'valkey_node_up': case 'node_removed':
      return node && { ...node, action: 'resolve' }
    case 'node_status_update':
      if (!node) return null
      return e.data.status === 'online' ? { ...node, action: 'resolve' } : { ...node, action: 'open' }
    case 'cluster_status_update': {
      const name = e.clusterId ? `Cluster ${e.clusterId}` : 'The cluster'
      return { key: `cluster:${e.clusterId ?? ''}`, kind: 'cluster', title: `${name} is degraded`, action: e.data.status === 'ok' ? 'resolve' : 'open' }
    }
    case 'threshold_exceeded': case 'threshold_recovered': {
      if (e.nodeId === null || e.data.rule_id === undefined) return null
      return {
        key: `threshold:${String(e.data.rule_id)}:${e.nodeId}`, kind: 'threshold', action: e.type === 'threshold_exceeded' ? 'open' : 'resolve',
        title: `${hostOf(e)}: rule "${String(e.data.rule ?? e.data.rule_id)}" firing`,
      }
    }
  }
  return null
}

/** Whether an event type is one of an incident's own changes of state. */
export const isIncidentEvent = (type: string): type is IncidentEventType => (INCIDENT_EVENT_TYPES as readonly string[]).includes(type)

/** The severity an incident event is notified with: its incident's, carried in `data.incident_severity`. */
export function notifiedSeverity(e: { type: string, severity: Severity, data?: Record<string, unknown> }): Severity {
  const s = e.data?.incident_severity
  return isIncidentEvent(e.type) && typeof s === 'string' && (SEVERITIES as readonly string[]).includes(s) ? s as Severity : e.severity
}

const higher = (a: Severity, b: Severity) => (SEVERITY_RANK[b] > SEVERITY_RANK[a] ? b : a)

/** An incident as the API shows it; an open one's duration runs to `now`; `silencedBy`, the silence covering it now. */
export function toIncidentView(row: IncidentRow, now = Date.now(), silencedBy: SilenceMark | null = null): IncidentView {
  const end = row.resolvedAt?.getTime() ?? now
  return {
    id: row.id, kind: row.kind, node_id: row.nodeId, cluster_id: row.clusterId, severity: row.severity, title: row.title,
    state: row.resolvedAt ? 'resolved' : 'open', opened_at: row.openedAt.toISOString(), resolved_at: row.resolvedAt?.toISOString() ?? null,
    acknowledged_at: row.acknowledgedAt?.toISOString() ?? null, acknowledged_by: row.acknowledgedBy,
    duration_seconds: Math.max(0, Math.round((end - row.openedAt.getTime()) / 1000)),
    event_count: row.eventCount, last_event_at: row.lastEventAt.toISOString(), silenced_by: silencedBy,
  }
}

/** The event an incident's change of state is logged as; webhooks match it with the incident's severity. */
function incidentEvent(type: IncidentEventType, incident: IncidentRow, message: string, data: Record<string, unknown> = {}): NewEvent {
  return {
    type, severity: type === 'incident_resolved' ? 'success' : 'info', nodeId: incident.nodeId, clusterId: incident.clusterId,
    resourceType: 'incident', message, incidentId: incident.id,
    data: { incident_id: incident.id, incident_kind: incident.kind, incident_severity: incident.severity, title: incident.title, ...data },
  }
}

/**
 * Links a just-inserted event to its problem's incident, in the event's transaction (under the
 * journal's lock, so instances on one Postgres open one incident per problem): opens one when none
 * is open (not for an event logged in maintenance), collects the event into the open one, resolves
 * it on recovery. Returns the event as linked and the incident events to log beside it.
 */
export async function correlateEvent(tx: Transaction, row: EventRow): Promise<{ row: EventRow, follow: NewEvent[] }> {
  const rule = incidentRule(row)
  if (!rule || row.incidentId !== null) return { row, follow: [] }
  const [open] = await tx.select().from(incidents).where(and(eq(incidents.key, rule.key), isNull(incidents.resolvedAt)))
  const link = async (incidentId: number) => {
    const [linked] = await tx.update(events).set({ incidentId }).where(eq(events.id, row.id)).returning()
    return linked!
  }
  if (rule.action === 'open') {
    if (open) {
      await tx.update(incidents).set({ severity: higher(open.severity, row.severity), eventCount: sql`${incidents.eventCount} + 1`, lastEventAt: row.createdAt })
        .where(eq(incidents.id, open.id))
      return { row: await link(open.id), follow: [] }
    }
    if (row.data.maintenance === true) return { row, follow: [] }
    const [created] = await tx.insert(incidents).values({
      key: rule.key, kind: rule.kind, nodeId: row.nodeId, clusterId: row.clusterId, severity: row.severity === 'success' ? 'warning' : row.severity,
      title: rule.title, openedAt: row.createdAt, lastEventAt: row.createdAt,
    }).returning()
    return { row: await link(created!.id), follow: [incidentEvent('incident_opened', created!, `Incident #${created!.id} opened: ${row.message}`)] }
  }
  if (open) {
    const [resolved] = await tx.update(incidents).set({ resolvedAt: row.createdAt, eventCount: sql`${incidents.eventCount} + 1`, lastEventAt: row.createdAt })
      .where(eq(incidents.id, open.id)).returning()
    const seconds = toIncidentView(resolved!).duration_seconds
    return {
      row: await link(open.id),
      follow: [incidentEvent('incident_resolved', resolved!, `Incident #${open.id} resolved after ${describeDuration(seconds)}: ${row.message}`, {
        duration_seconds: seconds, ...(row.data.maintenance === true ? { maintenance: true } : {}),
      })],
    }
  }
  const [recent] = await tx.select().from(incidents)
    .where(and(eq(incidents.key, rule.key), gte(incidents.resolvedAt, new Date(row.createdAt.getTime() - LATE_RECOVERY_MS))))
    .orderBy(desc(incidents.id)).limit(1)
  if (!recent) return { row, follow: [] }
  await tx.update(incidents).set({ eventCount: sql`${incidents.eventCount} + 1` }).where(eq(incidents.id, recent.id))
  return { row: await link(recent.id), follow: [] }
}

/** The SQL conditions of an incident filter. */
function filterConditions(f: IncidentFilter): SQL[] {
  const where: SQL[] = []
  if (f.state) where.push(f.state === 'open' ? isNull(incidents.resolvedAt) : isNotNull(incidents.resolvedAt))
  if (f.acknowledged !== undefined) where.push(f.acknowledged ? isNotNull(incidents.acknowledgedAt) : isNull(incidents.acknowledgedAt))
  if (f.node_id.length) where.push(inArray(incidents.nodeId, f.node_id))
  if (f.severity.length) where.push(inArray(incidents.severity, f.severity))
  if (f.min_severity) where.push(inArray(incidents.severity, SEVERITIES.filter(s => SEVERITY_RANK[s] >= SEVERITY_RANK[f.min_severity!])))
  if (f.kind.length) where.push(inArray(incidents.kind, f.kind))
  return where
}

/**
 * Incidents as the API and the pages see them: lists, one with its events, acknowledgement.
 * `silenced` (the silences' check) marks an open incident an active silence covers.
 */
export function createIncidents(db: Database, log: EventLog, silenced: SilenceCheck = () => null) {
  const notFound = (id: number) => new NotFoundError(`Incident ${id} not found`)
  const view = (row: IncidentRow, now = Date.now()) => toIncidentView(row, now, row.resolvedAt ? null : silenced(incidentFacts(row)))

  /** Marks one row acknowledged (once) and logs incident_acknowledged; null when it already was. */
  async function acknowledgeRow(id: number, by: string): Promise<IncidentRow | null> {
    const [row] = await db.update(incidents).set({ acknowledgedAt: new Date(), acknowledgedBy: by })
      .where(and(eq(incidents.id, id), isNull(incidents.acknowledgedAt))).returning()
    if (!row) return null
    await log.record(incidentEvent('incident_acknowledged', row, `${by} acknowledged incident #${row.id}: ${row.title}`, { acknowledged_by: by }))
    return row
  }

  return {
    /** Newest first: `limit` incidents older than `cursor` (an id), and the next cursor. */
    async list(filter: IncidentFilter, page: { cursor?: number, limit?: number } = {}): Promise<IncidentPage> {
      const limit = page.limit ?? 100
      const where = filterConditions(filter)
      if (page.cursor !== undefined) where.push(lt(incidents.id, page.cursor))
      const rows = await db.select().from(incidents).where(and(...where)).orderBy(desc(incidents.id)).limit(limit + 1)
      const shown = rows.slice(0, limit)
      const now = Date.now()
      return { incidents: shown.map(r => view(r, now)), next_cursor: rows.length > limit ? shown.at(-1)!.id : null }
    },

    /** One incident with its events, oldest first; 404 when there is none. */
    async get(id: number): Promise<IncidentDetail> {
      const [row] = await db.select().from(incidents).where(eq(incidents.id, id))
      if (!row) throw notFound(id)
      const rows = await db.select().from(events).where(eq(events.incidentId, id)).orderBy(asc(events.id)).limit(MAX_EVENTS)
      return { ...view(row), events: rows.map(toEventView) }
    },

    /** Acknowledges an incident as `by` (once: a second acknowledgement changes nothing); 404 when there is none. */
    async acknowledge(id: number, by: string): Promise<IncidentView> {
      const row = await acknowledgeRow(id, by)
      if (row) return view(row)
      const [existing] = await db.select().from(incidents).where(eq(incidents.id, id))
      if (!existing) throw notFound(id)
      return view(existing)
    },

    /** Acknowledges every unacknowledged incident the filter matches, each logged (and notified) once. */
    async acknowledgeAll(filter: IncidentFilter, by: string): Promise<AcknowledgeAllAnswer> {
      const candidates = await db.select({ id: incidents.id }).from(incidents)
        .where(and(...filterConditions(filter), isNull(incidents.acknowledgedAt))).orderBy(asc(incidents.id))
      const ids: number[] = []
      for (const { id } of candidates) if (await acknowledgeRow(id, by)) ids.push(id)
      return { acknowledged: ids.length, ids }
    },
  }
}

export type Incidents = ReturnType<typeof createIncidents>

const running = startedInstance<Incidents>()
/** The running incidents service (503 until start-up has finished). */
export const useIncidents = running.use
/** Publishes the running incidents service (start-up) or withdraws it (stop). */
export const setIncidents = running.set
