import { and, asc, count, desc, eq, gt, lte, sql, type SQL } from 'drizzle-orm'
import type {
  ClusterNodeRef, ClusterObservationsData, ClusterPageQuery, ClusterReadingsData, ClusterStatsData, MemberStatsEntry,
} from '../../../shared/contracts/seed003'
import type { Database } from '../../db'
import { events, nodes, nodeSamples } from '../../db/schema'
import type { NodeState, Registry } from '../registry'
import { startedInstance } from '../started'
import { MEMBER_LABEL, sumNodes, type MemberApi } from './memberApi'
import type { Members } from './members'

/** The most distinct answers kept at once (one per query string). */
const CACHE_ENTRIES = 200

/** A tiny time-bound cache: answers are reused for `ttlMs` (the seed's "cache for the aggregation interval"). */
function createCache(ttlMs: number) {
  const entries = new Map<string, { at: number, value: Promise<unknown> }>()
  return <T>(key: string, compute: () => Promise<T>): Promise<T> => {
    const now = Date.now()
    const hit = entries.get(key)
    if (hit && now - hit.at < ttlMs) return hit.value as Promise<T>
    if (entries.size >= CACHE_ENTRIES) entries.clear()
    const value = compute()
    entries.set(key, { at: now, value })
    // A failure is not kept: the next call tries again.
    value.catch(() => entries.delete(key))
    return value
  }
}

/**
 * Seed 003's cluster API on the aggregator: readings and observations of every node (this server's
 * and its members'), filtered by node or member, and the stats with per-node and per-member
 * breakdowns. Answers are cached for the aggregation interval.
 */
/** `announcedUpTo`: the journal's position, the newest final sample id (see createMemberApi). */
export function createClusterApi(db: Database, registry: Registry, memberApi: MemberApi, members: Members, opts: { cacheMs: number, announcedUpTo: () => number }) {
  const cached = createCache(opts.cacheMs)
  const memberOf = (n: Pick<NodeState, 'kind' | 'labels'>) => (n.kind === 'member' ? n.labels[MEMBER_LABEL.member] ?? null : null)
  const refOf = (id: number): ClusterNodeRef | null => {
    const n = registry.get(id)
    return n ? { id: n.id, hostname: n.hostname, kind: n.kind, member: memberOf(n) } : null
  }
  const memberNodes = (name: string) => sql`${nodes.kind} = 'member' and ${nodes.labels}->>${MEMBER_LABEL.member} = ${name}`

  async function readings(q: ClusterPageQuery): Promise<Omit<ClusterReadingsData, 'timestamp'>> {
    const where: SQL[] = []
    if (q.node !== undefined) where.push(eq(nodeSamples.nodeId, q.node))
    if (q.member !== undefined) where.push(memberNodes(q.member))
    if (q.since !== undefined) where.push(gt(nodeSamples.id, q.since))
    where.push(lte(nodeSamples.id, opts.announcedUpTo()))
    // After a cursor: the next rows, oldest first; without one: the newest `limit`, oldest first.
    const rows = await db.select({ s: nodeSamples, hostname: nodes.hostname, kind: nodes.kind, labels: nodes.labels })
      .from(nodeSamples).innerJoin(nodes, eq(nodes.id, nodeSamples.nodeId)).where(and(...where))
      .orderBy(q.since === undefined ? desc(nodeSamples.id) : asc(nodeSamples.id)).limit(q.limit)
    if (q.since === undefined) rows.reverse()
    return {
      readings: rows.map(({ s, hostname, kind, labels }) => ({
        id: s.id, node: { id: s.nodeId, hostname, kind, member: memberOf({ kind, labels }) }, timestamp: s.ts.toISOString(),
        cpu_percent: s.cpuPercent, memory_percent: s.memoryPercent, disk_percent: s.diskPercent, uptime_seconds: s.uptimeSeconds, active_backups: s.activeBackups,
      })),
      next_cursor: String(rows.at(-1)?.s.id ?? q.since ?? 0),
    }
  }

  async function observations(q: ClusterPageQuery): Promise<Omit<ClusterObservationsData, 'timestamp'>> {
    const where: SQL[] = []
    if (q.node !== undefined) where.push(eq(events.nodeId, q.node))
    // Pulled events and the member's reachability changes carry the member's name.
    if (q.member !== undefined) where.push(sql`${events.data}->>'member' = ${q.member}`)
    if (q.since !== undefined) where.push(gt(events.id, q.since))
    const rows = await db.select().from(events).where(and(...where))
      .orderBy(q.since === undefined ? desc(events.id) : asc(events.id)).limit(q.limit)
    if (q.since === undefined) rows.reverse()
    return {
      observations: rows.map(e => ({
        id: e.id, event_type: e.type, severity: e.severity, node: e.nodeId === null ? null : refOf(e.nodeId), cluster_id: e.clusterId,
        resource_type: e.resourceType, message: e.message, data: e.data, created_at: e.createdAt.toISOString(),
      })),
      next_cursor: String(rows.at(-1)?.id ?? q.since ?? 0),
    }
  }

  async function stats(): Promise<Omit<ClusterStatsData, 'timestamp'>> {
    const own = await memberApi.stats()
    const list = await members.list()
    const eventsByMember = new Map((await db.select({ member: sql<string>`${events.data}->>'member'`, n: count() }).from(events)
      .where(sql`${events.data} ? 'member'`).groupBy(sql`${events.data}->>'member'`)).map(r => [r.member, Number(r.n)]))
    const perMember: MemberStatsEntry[] = list.map((m) => {
      const mine = own.nodes.filter(n => n.member === m.name)
      return {
        name: m.name, url: m.url, reachable: m.reachable, last_error: m.last_error, last_ok_at: m.last_ok_at,
        ...sumNodes(mine), events: eventsByMember.get(m.name) ?? 0,
      }
    })
    return {
      totals: { ...own.totals, members: list.length, reachable_members: list.filter(m => m.reachable).length },
      nodes: own.nodes,
      members: perMember,
    }
  }

  const key = (q: ClusterPageQuery) => JSON.stringify([q.node, q.member, q.since, q.limit])
  return {
    /** Samples of every node (or one node's, or one member's), each with its node and member. */
    readings: (q: ClusterPageQuery) => cached(`r${key(q)}`, () => readings(q)),
    /** Events of every node (or one node's, or one member's). */
    observations: (q: ClusterPageQuery) => cached(`o${key(q)}`, () => observations(q)),
    /** Totals, per node and per member. */
    stats: () => cached('s', stats),
  }
}

export type ClusterApi = ReturnType<typeof createClusterApi>

const running = startedInstance<ClusterApi>()
/** The running cluster API (503 until start-up has finished). */
export const useClusterApi = running.use
/** Publishes the running cluster API (start-up) or withdraws it (stop). */
export const setClusterApi = running.set
