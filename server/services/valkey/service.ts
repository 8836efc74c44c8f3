import { eq } from 'drizzle-orm'
import type { ClusterInfo, ClusterNode, ClusterMetricsData, ValkeyNodeMetrics, WatchedCluster } from '../../../shared/contracts/seed004'
import type { Database } from '../../db'
import { settings } from '../../db/schema'
import type { ValkeyClusterConfig } from './config'
import { BackendError, NotFoundError, UnavailableError } from '../errors'
import { startedInstance } from '../started'
import { createClusterPoller, type ClusterPoller, type ClusterSnapshot, type PollerDeps } from './poller'

export interface ValkeyOptions {
  clusters: ValkeyClusterConfig[]
  intervalMs: number
  timeoutMs: number
  /** Only the leader polls; the others read the leader's snapshots from the database. */
  isLeader: () => boolean
}

const settingKey = (name: string) => `valkey:${name}`

/** What the list endpoints answer when Valkey gives no nodes, and why. */
const NOT_CONFIGURED = 'Valkey is not configured: set VALKEY_URL, or list clusters under valkey: in the NODEPULSE_CONFIG file, to watch a cluster'
const NOT_CLUSTER = 'Not in cluster mode: set VALKEY_USE_CLUSTER=true (use_cluster: true in the config file) to discover the cluster\'s nodes'

/**
 * The watched Valkey/Redis clusters as seed 004's endpoints show them: the leader polls (see
 * `poller.ts`) and keeps each snapshot in memory and in `settings`; other instances answer from there.
 */
export function createValkey(db: Database, deps: PollerDeps, opts: ValkeyOptions) {
  const clustered = opts.clusters.filter(c => c.useCluster)
  const load = async (name: string): Promise<ClusterSnapshot | null> => {
    const [row] = await db.select().from(settings).where(eq(settings.key, settingKey(name)))
    return row ? JSON.parse(row.value) as ClusterSnapshot : null
  }
  const save = async (s: ClusterSnapshot) => {
    const value = JSON.stringify(s)
    await db.insert(settings).values({ key: settingKey(s.name), value }).onConflictDoUpdate({ target: settings.key, set: { value } })
  }
  const pollers: ClusterPoller[] = clustered.map(c => createClusterPoller(c, deps, { timeoutMs: opts.timeoutMs, load: () => load(c.name), save }))
  let firstPoll: Promise<unknown> | null = null
  // A snapshot older than this means nobody is polling (the leader is gone or stuck).
  const maxAgeMs = Math.max(3 * opts.intervalMs, opts.intervalMs + 2 * opts.timeoutMs + 30_000)

  async function pollAll(): Promise<void> {
    const run = Promise.all(pollers.map(p => p.poll().catch(error => console.error(`[nodepulse] polling Valkey cluster ${p.name} failed:`, error))))
    firstPoll ??= run
    await run
  }

  /** Every cluster's latest snapshot; 503 while there is none yet or it is too old. */
  async function snapshots(): Promise<ClusterSnapshot[]> {
    if (!opts.clusters.length) throw new UnavailableError(NOT_CONFIGURED, 60)
    if (opts.isLeader() && pollers.some(p => !p.current())) await firstPoll
    const out: ClusterSnapshot[] = []
    for (const p of pollers) {
      const s = (opts.isLeader() ? p.current() : null) ?? await load(p.name)
      if (!s?.polledAt) throw new UnavailableError(`Valkey cluster ${p.name} has not been polled yet; try again in a few seconds`)
      const age = Date.now() - Date.parse(s.polledAt)
      if (age > maxAgeMs) throw new UnavailableError(`Valkey cluster ${p.name} was last polled ${Math.round(age / 1000)} s ago: is the leader instance running?`)
      out.push(s)
    }
    return out
  }

  /** Snapshots whose last discovery worked; when none did, the first failure as 503 (not reachable) or 500. */
  function healthy(all: ClusterSnapshot[]): { ok: ClusterSnapshot[], message?: string } {
    const ok = all.filter(s => !s.error)
    const failed = all.filter(s => s.error)
    if (all.length && !ok.length) {
      const { kind, message } = failed[0]!.error!
      const text = `Valkey cluster ${failed[0]!.name}: ${message}`
      throw kind === 'unreachable' ? new UnavailableError(`${text}; retrying every ${opts.intervalMs / 1000} s`) : new BackendError(text)
    }
    return { ok, message: failed.length ? failed.map(s => `Valkey cluster ${s.name}: ${s.error!.message}`).join('; ') : undefined }
  }

  // With several clusters every node says whose it is; one cluster's lists stay exactly the seed's.
  const several = pollers.length > 1
  const tagged = <T extends object>(s: ClusterSnapshot, list: T[]): T[] => (several ? list.map(n => ({ ...n, cluster: s.name })) : list)

  const notClusterMode = () => opts.clusters.length > 0 && !clustered.length

  return {
    configured: opts.clusters.length > 0,
    pollAll,

    /** Seed 004's node list (`CLUSTER NODES` of every watched cluster); a message says why it is empty. */
    async nodes(): Promise<{ nodes: ClusterNode[], message?: string }> {
      if (!opts.clusters.length) return { nodes: [], message: NOT_CONFIGURED }
      if (notClusterMode()) return { nodes: [], message: NOT_CLUSTER }
      const { ok, message } = healthy(await snapshots())
      return { nodes: ok.flatMap(s => tagged(s, s.nodes)), ...(message ? { message } : {}) }
    },

    /** Seed 004's metrics of every node with the `clusterInfo` summary (over all watched clusters) and each cluster's own. */
    async metrics(): Promise<Omit<ClusterMetricsData, 'timestamp'>> {
      const empty: ClusterInfo = { totalNodes: 0, mastersCount: 0, slavesCount: 0, clusterState: 'ok' }
      if (!opts.clusters.length) return { nodes: [], clusterInfo: empty, clusters: [], message: NOT_CONFIGURED }
      if (notClusterMode()) return { nodes: [], clusterInfo: empty, clusters: [], message: NOT_CLUSTER }
      const all = await snapshots()
      const { ok, message } = healthy(all)
      const clusters: WatchedCluster[] = all.map(s => ({ name: s.name, ...s.clusterInfo, uncoveredSlots: s.uncoveredSlots, polledAt: s.polledAt, error: s.error?.message ?? null }))
      const sum = (k: 'totalNodes' | 'mastersCount' | 'slavesCount') => ok.reduce((n, s) => n + s.clusterInfo[k], 0)
      return {
        nodes: ok.flatMap(s => tagged(s, s.metrics)),
        clusterInfo: {
          totalNodes: sum('totalNodes'), mastersCount: sum('mastersCount'), slavesCount: sum('slavesCount'),
          clusterState: all.every(s => s.clusterInfo.clusterState === 'ok') ? 'ok' : 'degraded',
        },
        clusters,
        ...(message ? { message } : {}),
      }
    },

    /** One node's metrics by cluster node id or NodePulse id: 404 unknown, 503 not configured or not polled, 500 failure. */
    async nodeMetrics(nodeId: string): Promise<ValkeyNodeMetrics> {
      if (!opts.clusters.length) throw new UnavailableError(NOT_CONFIGURED, 60)
      if (notClusterMode()) throw new UnavailableError(NOT_CLUSTER, 60)
      const byNumber = /^\d+$/.test(nodeId) ? Number(nodeId) : null
      const all = await snapshots()
      for (const s of all) {
        const id = byNumber === null ? nodeId.toLowerCase() : Object.entries(s.registryIds).find(([, n]) => n === byNumber)?.[0]
        const found = id === undefined ? undefined : s.metrics.find(m => m.nodeId === id)
        if (found) return tagged(s, [found])[0]!
      }
      healthy(all)
      throw new NotFoundError(`Node ${nodeId} is not a node of a watched Valkey cluster`)
    },
  }
}

export type ValkeyService = ReturnType<typeof createValkey>

const running = startedInstance<ValkeyService>()
/** The running Valkey service (503 until start-up has finished). */
export const useValkey = running.use
/** Publishes the running Valkey service (start-up) or withdraws it (stop). */
export const setValkey = running.set
