import { randomUUID } from 'node:crypto'
import { and, asc, count, eq, gt, isNotNull, lte, sql } from 'drizzle-orm'
import type {
  MemberNode, MemberNodesBody, MemberStatsBody, NodeRef, NodeStatsEntry, Observation, ObservationsBody, PageQuery, ReadingsBody, StatsTotals,
} from '../../../shared/contracts/seed003'
import type { Database } from '../../db'
import { events, nodes, nodeSamples, settings } from '../../db/schema'
import type { NodeState, Registry } from '../registry'
import { startedInstance } from '../started'
import { computeStatus } from '../status'

/** Labels a member node carries on the aggregator: which member it came through, and its stable source. */
export const MEMBER_LABEL = { member: 'member', source: 'source' } as const

/** This server's id, created once and kept in `settings`: the `<instance>` of its nodes' sources. */
export async function loadInstanceId(db: Database): Promise<string> {
  await db.insert(settings).values({ key: 'instance_id', value: randomUUID() }).onConflictDoNothing({ target: settings.key })
  const [row] = await db.select().from(settings).where(eq(settings.key, 'instance_id'))
  return row!.value
}

/** A node's stable source id (seed 003's `source_type:source_id`), the same on every server that sees it. */
export function sourceOf(node: Pick<NodeState, 'id' | 'kind' | 'labels'>, instanceId: string): string {
  const kept = node.labels[MEMBER_LABEL.source]
  if (kept) return kept
  if (node.kind === 'valkey' && node.labels.valkey_node_id) return `valkey:${node.labels.valkey_node_id}`
  return `nodepulse:${instanceId}/${node.id}`
}

type NodeRow = Pick<NodeState, 'id' | 'kind' | 'labels' | 'hostname'>

/**
 * What this server answers as a member (seed 003's read-only member API): its nodes, its samples and
 * events after a cursor (the row id, which grows with commit order: see `journal.ts`), and its stats.
 */
/**
 * `announcedUpTo`: the journal's position. Readings are paged by sample id, and with several
 * instances writing in parallel a lower id can commit after a higher one; rows up to the journal's
 * position are final, so a cursor handed out never skips a row that commits later.
 */
export function createMemberApi(db: Database, registry: Registry, opts: { instanceId: string, staleAfterSeconds: number, announcedUpTo: () => number }) {
  const ref = (n: NodeRow): NodeRef => ({ id: n.id, source: sourceOf(n, opts.instanceId), hostname: n.hostname })
  const memberOf = (n: NodeState) => (n.kind === 'member' ? n.labels[MEMBER_LABEL.member] ?? null : null)
  const lastSeen = (n: NodeState) => (n.live ? new Date().toISOString() : n.lastSeen?.toISOString() ?? null)

  return {
    instanceId: opts.instanceId,

    /** Every node of this server, each with its stable source. */
    nodes(): MemberNodesBody {
      const now = Date.now()
      const list: MemberNode[] = registry.list().map(n => ({
        ...ref(n), kind: n.kind, labels: n.labels, status: computeStatus(n, now, opts.staleAfterSeconds), last_seen: lastSeen(n), member: memberOf(n),
      }))
      return { instance: opts.instanceId, nodes: list }
    },

    /** Samples after `since`, oldest first. */
    async readings(q: PageQuery): Promise<ReadingsBody> {
      const rows = await db.select({
        id: nodeSamples.id, ts: nodeSamples.ts, cpu: nodeSamples.cpuPercent, memory: nodeSamples.memoryPercent, disk: nodeSamples.diskPercent,
        uptime: nodeSamples.uptimeSeconds, backups: nodeSamples.activeBackups, nodeId: nodes.id, kind: nodes.kind, labels: nodes.labels, hostname: nodes.hostname,
      }).from(nodeSamples).innerJoin(nodes, eq(nodes.id, nodeSamples.nodeId))
        .where(and(gt(nodeSamples.id, q.since ?? 0), lte(nodeSamples.id, opts.announcedUpTo()))).orderBy(asc(nodeSamples.id)).limit(q.limit + 1)
      const page = rows.slice(0, q.limit)
      return {
        readings: page.map(r => ({
          id: r.id, node: ref({ id: r.nodeId, kind: r.kind, labels: r.labels, hostname: r.hostname }), timestamp: r.ts.toISOString(),
          cpu_percent: r.cpu, memory_percent: r.memory, disk_percent: r.disk, uptime_seconds: r.uptime, active_backups: r.backups,
        })),
        next_cursor: String(page.at(-1)?.id ?? q.since ?? 0),
        more: rows.length > q.limit,
      }
    },

    /** Events after `since`, oldest first. */
    async observations(q: PageQuery): Promise<ObservationsBody> {
      const rows = await db.select().from(events).where(gt(events.id, q.since ?? 0)).orderBy(asc(events.id)).limit(q.limit + 1)
      const page = rows.slice(0, q.limit)
      const known = new Map<number, NodeRef | null>()
      // A node deleted since keeps only its id: read from the registry, not joined.
      const nodeOf = (id: number | null): NodeRef | null => {
        if (id === null) return null
        if (!known.has(id)) {
          const n = registry.get(id)
          known.set(id, n ? ref(n) : null)
        }
        return known.get(id)!
      }
      const observations: Observation[] = page.map(e => ({
        id: e.id, event_type: e.type, severity: e.severity, node: nodeOf(e.nodeId), cluster_id: e.clusterId, resource_type: e.resourceType,
        message: e.message, data: e.data, created_at: e.createdAt.toISOString(),
      }))
      return { observations, next_cursor: String(page.at(-1)?.id ?? q.since ?? 0), more: rows.length > q.limit }
    },

    /** Totals and each node's share: status, sample and event counts, newest figures. */
    async stats(): Promise<MemberStatsBody> {
      const samples = await db.select({ nodeId: nodeSamples.nodeId, n: count() }).from(nodeSamples).groupBy(nodeSamples.nodeId)
      const perNodeEvents = await db.select({ nodeId: events.nodeId, n: count() }).from(events).where(isNotNull(events.nodeId)).groupBy(events.nodeId)
      const [allEvents] = await db.select({ n: sql<number>`count(*)::int` }).from(events)
      const sampleCount = new Map(samples.map(r => [r.nodeId, Number(r.n)]))
      const eventCount = new Map(perNodeEvents.map(r => [r.nodeId!, Number(r.n)]))
      const now = Date.now()
      const entries: NodeStatsEntry[] = registry.list().map(n => ({
        ...ref(n), kind: n.kind, member: memberOf(n), status: computeStatus(n, now, opts.staleAfterSeconds), last_seen: lastSeen(n),
        samples: sampleCount.get(n.id) ?? 0, events: eventCount.get(n.id) ?? 0,
        cpu_percent: n.latest?.cpuPercent ?? null, memory_percent: n.latest?.memoryPercent ?? null, disk_percent: n.latest?.diskPercent ?? null,
      }))
      const totals: StatsTotals = { ...sumNodes(entries), events: Number(allEvents?.n ?? 0) }
      return { totals, nodes: entries }
    },
  }
}

/** Node, status and sample totals over a set of nodes (events are counted by the caller). */
export function sumNodes(entries: Pick<NodeStatsEntry, 'status' | 'samples'>[]): Omit<StatsTotals, 'events'> {
  return {
    nodes: entries.length,
    online: entries.filter(e => e.status === 'online').length,
    stale: entries.filter(e => e.status === 'stale').length,
    offline: entries.filter(e => e.status === 'offline').length,
    samples: entries.reduce((a, e) => a + e.samples, 0),
  }
}

export type MemberApi = ReturnType<typeof createMemberApi>

const running = startedInstance<MemberApi>()
/** The running member API (503 until start-up has finished). */
export const useMemberApi = running.use
/** Publishes the running member API (start-up) or withdraws it (stop). */
export const setMemberApi = running.set
