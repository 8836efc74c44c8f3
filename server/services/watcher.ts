import { eq, like } from 'drizzle-orm'
import type { NodeStatus } from '../../shared/contracts/seed000'
import type { Severity } from '../../shared/contracts/seed002'
import type { Database } from '../db'
import { nodes, settings } from '../db/schema'
import type { EventLog, NewEvent } from './events'
import type { Journal } from './journal'
import type { NodeState, Registry } from './registry'
import { computeReachable, computeStatus, isOverdue, isPending } from './status'
import { describeError } from './logSafe'

export interface WatcherOptions {
  staleAfterSeconds: number
  /** A node that has reported but not within this many seconds is unreachable. */
  unreachableAfterSeconds: number
  /** A node added but not reported yet is pending this long (NODEPULSE_PENDING_GRACE): it degrades no cluster; past it, it is unreachable. */
  pendingGraceSeconds?: number
  tickMs: number
  /** Only the leader records events (every instance sees the same nodes). */
  isLeader: () => boolean
}

type ClusterStatus = 'ok' | 'degraded'
/** The fleet's key in the cluster map; every other key is a `cluster` label value. */
const FLEET = ''
const CLUSTER_KEY = 'cluster_status'
const settingKey = (cluster: string) => (cluster === FLEET ? CLUSTER_KEY : `${CLUSTER_KEY}:${cluster}`)

const STATUS_SEVERITY: Record<NodeStatus, Severity> = { online: 'success', stale: 'warning', offline: 'error' }

const ago = (ms: number) => (ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`)

/** What a node's event says of it: its cluster, and whether it is muted by maintenance. */
function about(node: NodeState): Pick<NewEvent, 'nodeId' | 'clusterId'> & { data: Record<string, unknown> } {
  return {
    nodeId: node.id, clusterId: node.labels.cluster ?? null,
    data: { hostname: node.hostname, ...(node.maintenance ? { maintenance: true } : {}) },
  }
}

/**
 * Finds what changed and records it as events: node status transitions (online ↔ stale ↔ offline),
 * reachability (no report within NODEPULSE_UNREACHABLE_AFTER), the fleet's and each cluster's
 * ok ↔ degraded, and backups starting or finishing as `active_backups` moves. The state each event
 * reports is written in the event's own transaction, so a restart or a new leader resumes without
 * repeating or losing a transition.
 */
export function createWatcher(deps: { db: Database, registry: Registry, log: EventLog, journal: Journal }, opts: WatcherOptions) {
  const { db, registry, log, journal } = deps
  let clusters: Map<string, ClusterStatus> | null = null
  let ticking: Promise<void> | null = null
  let recording: Promise<unknown> = Promise.resolve()

  // The newest sample's backups per node: every instance follows them, only the leader records.
  const backups = new Map<number, { ts: number, count: number }>()
  for (const n of registry.list()) backups.set(n.id, { ts: n.latest?.ts.getTime() ?? 0, count: n.latest?.activeBackups ?? 0 })

  const unsubscribe = journal.onCommit((entries) => {
    for (const e of entries) {
      if (e.kind !== 'report') continue
      const prev = backups.get(e.row.nodeId) ?? { ts: 0, count: 0 }
      const ts = e.row.ts.getTime()
      // A catch-up sample older than what is known says nothing about now.
      if (ts < prev.ts) continue
      // A sample without the figure counts as none running, as the dashboard shows it.
      const count = e.row.activeBackups ?? 0
      backups.set(e.row.nodeId, { ts, count })
      const node = registry.get(e.row.nodeId)
      if (!node || prev.count === count || !opts.isLeader()) continue
      const started = count > prev.count
      const n = Math.abs(count - prev.count)
      const { data, ...ids } = about(node)
      const event: NewEvent = {
        ...ids, type: started ? 'backup_started' : 'backup_completed', severity: started ? 'info' : 'success', resourceType: 'backup',
        message: started ? `${n} backup${n > 1 ? 's' : ''} started on ${node.hostname}` : `${n} backup${n > 1 ? 's' : ''} finished on ${node.hostname}`,
        data: { ...data, active_backups: count, previous_active_backups: prev.count, source: 'active_backups' },
      }
      // Not awaited: the journal is announcing, and this write queues behind it.
      recording = recording.then(() => log.record(event)).catch(error => console.error(`[nodepulse] recording a backup event failed: ${describeError(error)}`))
    }
  })

  async function watchNode(node: NodeState, now: number): Promise<void> {
    const status = computeStatus(node, now, opts.staleAfterSeconds)
    const silentFor = node.lastSeen ? now - node.lastSeen.getTime() : null
    // A node added that never reported past its grace is unreachable too (and opens an incident).
    const overdue = isOverdue(node, now, opts.pendingGraceSeconds)
    const reachable = overdue ? false : computeReachable(node, now, opts.unreachableAfterSeconds)
    const prev = { status: node.watchedStatus, reachable: node.watchedReachable }
    if (prev.status === status && prev.reachable === reachable) return
    const { data, ...ids } = about(node)
    const remember = (watched: { watchedStatus?: NodeStatus, watchedReachable?: boolean | null }) =>
      (tx: Pick<Database, 'update'>) => tx.update(nodes).set(watched).where(eq(nodes.id, node.id))

    if ((prev.reachable !== null || overdue) && reachable !== null && prev.reachable !== reachable) {
      const message = reachable ? `Node ${node.hostname} is reporting again`
        : overdue ? `Node ${node.hostname} has not reported since it was added ${ago(now - node.createdAt.getTime())} ago`
          : `Node ${node.hostname} is unreachable: no report for ${ago(silentFor!)}`
      await log.record({
        ...ids, type: reachable ? 'node_reachable' : 'node_unreachable', severity: reachable ? 'success' : 'warning', message,
        data: { ...data, last_seen: node.lastSeen?.toISOString() ?? null, ...(overdue ? { never_reported: true } : {}) },
      }, remember({ watchedReachable: reachable }))
    }
    else if (prev.reachable !== reachable) await remember({ watchedReachable: reachable })(db)

    if (prev.status !== null && prev.status !== status) {
      const message = status === 'online' ? `Node ${node.hostname} is online${prev.status === 'offline' ? '' : ' again'}`
        : status === 'stale' ? `Node ${node.hostname} is stale: no report for ${ago(silentFor!)}`
          : `Node ${node.hostname} is offline`
      await log.record({
        ...ids, type: 'node_status_update', severity: STATUS_SEVERITY[status], message,
        data: { ...data, previous_status: prev.status, status, last_seen: node.lastSeen?.toISOString() ?? null },
      }, remember({ watchedStatus: status }))
    }
    else if (prev.status !== status) await remember({ watchedStatus: status })(db)
    registry.setWatched(node.id, { status, reachable })
  }

  async function loadClusters(): Promise<Map<string, ClusterStatus>> {
    const rows = await db.select().from(settings).where(like(settings.key, `${CLUSTER_KEY}%`))
    return new Map(rows.map(r => [r.key === CLUSTER_KEY ? FLEET : r.key.slice(CLUSTER_KEY.length + 1), r.value === 'degraded' ? 'degraded' : 'ok']))
  }

  /** Each cluster's nodes that are not online and reachable; nodes in maintenance, and pending ones (added, not reported yet), do not count. */
  function clusterHealth(now: number): Map<string, string[]> {
    const groups = new Map<string, string[]>()
    for (const n of registry.list()) {
      if (n.maintenance || isPending(n, now, opts.pendingGraceSeconds)) continue
      const down = n.watchedStatus !== 'online' || n.watchedReachable === false
      for (const key of n.labels.cluster ? [FLEET, n.labels.cluster] : [FLEET]) {
        const list = groups.get(key) ?? []
        if (down) list.push(n.hostname)
        groups.set(key, list)
      }
    }
    return groups
  }

  async function watchClusters(known: Map<string, ClusterStatus>, now: number): Promise<void> {
    for (const [key, notOnline] of clusterHealth(now)) {
      const status: ClusterStatus = notOnline.length ? 'degraded' : 'ok'
      const prev = known.get(key)
      if (prev === status) continue
      const save = (tx: Pick<Database, 'insert'>) => tx.insert(settings).values({ key: settingKey(key), value: status })
        .onConflictDoUpdate({ target: settings.key, set: { value: status } })
      known.set(key, status)
      if (prev === undefined) {
        await save(db)
        continue
      }
      const name = key === FLEET ? 'The cluster' : `Cluster ${key}`
      await log.record({
        type: 'cluster_status_update', severity: status === 'ok' ? 'success' : 'warning', clusterId: key === FLEET ? null : key, resourceType: 'cluster',
        message: status === 'ok' ? `${name} is ok: every node is online` : `${name} is degraded: ${notOnline.length} node${notOnline.length > 1 ? 's are' : ' is'} not online (${notOnline.slice(0, 5).join(', ')}${notOnline.length > 5 ? ', …' : ''})`,
        data: { status, previous_status: prev, not_online: notOnline.slice(0, 50) },
      }, save)
    }
  }

  async function tick(): Promise<void> {
    if (!opts.isLeader()) {
      // Another instance records; whoever leads next reads the cluster states afresh.
      clusters = null
      return
    }
    clusters ??= await loadClusters()
    const now = Date.now()
    for (const node of registry.list()) await watchNode(node, now)
    await watchClusters(clusters, now)
  }

  /** One pass, unless one is already running (then that one). */
  const pass = (): Promise<void> => (ticking ??= tick().catch(error => console.error(`[nodepulse] watcher tick failed: ${describeError(error)}`)).finally(() => {
    ticking = null
  }))
  const timer = setInterval(pass, opts.tickMs)
  timer.unref()

  return {
    /** One pass now (start-up and tests). */
    tick: pass,
    async stop(): Promise<void> {
      clearInterval(timer)
      unsubscribe()
      await ticking
      await recording
    },
  }
}

export type Watcher = ReturnType<typeof createWatcher>
