import { VALKEY_LABEL as LABEL, type ClusterInfo, type ClusterNode, type ValkeyNodeMetrics, type ValkeyRole } from '../../../shared/contracts/seed004'
import type { Severity } from '../../../shared/contracts/seed002'
import type { ValkeyClusterConfig } from './config'
import type { EventLog, NewEvent } from '../events'
import type { Ingest } from '../ingest'
import type { NodeState, Registry } from '../registry'
import { describeFailure, splitAddress, withNode, type Failure } from './client'
import { cpuPercent, nodeMetrics, sampleFromInfo, type CpuReading } from './metrics'
import { formatSlots, parseClusterNodes, parseInfo, toClusterNode, uncoveredSlots, type ParsedClusterNode } from './parse'

/** How a node looks to NodePulse: fine, suspected down (pfail), failed by the cluster's vote, or not answering us. */
export type Health = 'ok' | 'pfail' | 'fail' | 'unreachable'

/** Everything one poll of a cluster found; kept in memory and in `settings` (followers and a new leader read it). */
export interface ClusterSnapshot {
  name: string
  polledAt: string | null
  /** Why discovery failed on the last poll (nodes and metrics are then the previous poll's). */
  error: Failure | null
  nodes: ClusterNode[]
  metrics: ValkeyNodeMetrics[]
  /** Cluster node id → NodePulse node id. */
  registryIds: Record<string, number>
  health: Record<string, Health>
  clusterInfo: ClusterInfo
  uncoveredSlots: string[]
}

export interface PollerDeps { registry: Registry, ingest: Ingest, log: EventLog }

const HEALTH_SEVERITY: Record<Health, Severity> = { ok: 'success', pfail: 'warning', fail: 'error', unreachable: 'warning' }
const HEALTH_TEXT: Record<Exclude<Health, 'ok'>, string> = {
  pfail: 'is suspected down by the cluster (pfail)', fail: 'is marked failed by the cluster (fail)', unreachable: 'does not answer NodePulse',
}
const roleWord = (role: ValkeyRole) => (role === 'master' ? 'master' : 'replica')

/** An empty snapshot, before the first poll. */
export function emptySnapshot(name: string): ClusterSnapshot {
  return {
    name, polledAt: null, error: null, nodes: [], metrics: [], registryIds: {}, health: {},
    clusterInfo: { totalNodes: 0, mastersCount: 0, slavesCount: 0, clusterState: 'degraded' }, uncoveredSlots: [],
  }
}

/** Asks the seeds (then the nodes known from the last poll) for `CLUSTER NODES` until one answers. */
async function discover(cfg: ValkeyClusterConfig, prev: ClusterSnapshot, timeoutMs: number): Promise<ParsedClusterNode[] | Failure> {
  const candidates = [...cfg.seeds, ...prev.nodes.map(n => splitAddress(n.nodeAddress)).filter(a => a.host && a.port)]
  const tried = new Set<string>()
  let failure: Failure | null = null
  for (const { host, port } of candidates) {
    if (tried.has(`${host}:${port}`)) continue
    tried.add(`${host}:${port}`)
    try {
      return parseClusterNodes(String(await withNode(cfg, host, port, timeoutMs, c => c.call('CLUSTER', 'NODES'))))
    }
    catch (error) {
      const f = describeFailure(error)
      if (f.message.startsWith('unexpected')) console.error(`[nodepulse] Valkey discovery of cluster ${cfg.name} at ${host}:${port} failed:`, error)
      // A refusal (auth, permissions) says more than a seed that is down.
      if (!failure || (failure.kind === 'unreachable' && f.kind === 'failed')) failure = f
    }
  }
  return failure ?? { kind: 'unreachable', message: 'no seed address configured' }
}

/**
 * Polls one cluster every time `poll()` is called (the leader's job): discovery with `CLUSTER NODES`,
 * then INFO (and DBSIZE for masters) on a short-lived connection to each node in parallel. Nodes
 * join the registry as `kind: valkey`; their samples go through the ingest like any node's; a node
 * that left is labelled `valkey_state: left`, never deleted; fail/pfail, failovers and the cluster
 * turning degraded/ok are recorded in the event log.
 */
export function createClusterPoller(cfg: ValkeyClusterConfig, deps: PollerDeps, opts: { timeoutMs: number, load: () => Promise<ClusterSnapshot | null>, save: (s: ClusterSnapshot) => Promise<void> }) {
  const { registry, ingest, log } = deps
  const cpu = new Map<string, CpuReading>()
  let current: ClusterSnapshot | null = null

  const registered = () => registry.list().filter(n => n.kind === 'valkey' && n.labels[LABEL.cluster] === cfg.name)
  const about = (node: NodeState | undefined, extra: Record<string, unknown>): Pick<NewEvent, 'nodeId' | 'clusterId' | 'resourceType' | 'data'> => ({
    nodeId: node?.id ?? null, clusterId: cfg.name, resourceType: 'valkey_node',
    data: { hostname: node?.hostname, ...extra, ...(node?.maintenance ? { maintenance: true } : {}) },
  })

  async function collect(n: ParsedClusterNode, now: number): Promise<{ metrics: ValkeyNodeMetrics, info?: Record<string, string> }> {
    const identity = { nodeId: n.id, nodeAddress: n.address!, role: n.role, slots: n.role === 'master' ? formatSlots(n.slots) : '' }
    try {
      const { host, port } = splitAddress(n.address!)
      const [infoText, dbsize] = await withNode(cfg, host, port, opts.timeoutMs, c => Promise.all([c.info(), n.role === 'master' ? c.dbsize() : Promise.resolve(null)]))
      const info = parseInfo(infoText)
      const { percent, reading } = cpuPercent(info, now, cpu.get(n.id))
      cpu.set(n.id, reading)
      return { metrics: nodeMetrics(identity, info, percent, dbsize), info }
    }
    catch (error) {
      const f = describeFailure(error)
      if (f.message.startsWith('unexpected')) console.error(`[nodepulse] Valkey metrics of ${n.address} (cluster ${cfg.name}) failed:`, error)
      return { metrics: { ...identity, status: f.kind === 'unreachable' ? 'offline' : 'error', error: f.message } }
    }
  }

  /** Finds or creates each node's registry entry and keeps its address and role labels current. */
  async function syncRegistry(members: ParsedClusterNode[]): Promise<Map<string, NodeState>> {
    const known = new Map(registered().map(n => [n.labels[LABEL.id]!, n]))
    const out = new Map<string, NodeState>()
    for (const n of members) {
      const kept = Object.entries(known.get(n.id)?.labels ?? {}).filter(([k]) => k !== LABEL.state)
      const labels = { ...Object.fromEntries(kept), [LABEL.cluster]: cfg.name, [LABEL.id]: n.id, [LABEL.role]: roleWord(n.role) }
      let node = known.get(n.id)
      if (!node) {
        node = await registry.create({ hostname: n.address!, kind: 'valkey', labels })
        await log.record({
          type: 'node_registered', severity: 'info', ...about(node, { valkey_node_id: n.id, role: n.role }),
          message: `Valkey ${roleWord(n.role)} ${n.address} of cluster ${cfg.name} discovered`,
        })
      }
      else if (node.hostname !== n.address || JSON.stringify(node.labels) !== JSON.stringify(labels)) {
        const back = node.labels[LABEL.state] === 'left'
        node = (await registry.update(node.id, { hostname: n.address!, labels })) ?? node
        if (back) await log.record({ type: 'valkey_node_joined', severity: 'info', ...about(node, { valkey_node_id: n.id }), message: `Valkey node ${n.address} is back in cluster ${cfg.name}` })
      }
      out.set(n.id, node)
    }
    const present = new Set(members.map(m => m.id))
    for (const node of known.values()) {
      if (present.has(node.labels[LABEL.id]!) || node.labels[LABEL.state] === 'left') continue
      const left = await registry.update(node.id, { labels: { ...node.labels, [LABEL.state]: 'left' } })
      await log.record({
        type: 'valkey_node_left', severity: 'warning', ...about(left ?? node, { valkey_node_id: node.labels[LABEL.id] }),
        message: `Valkey node ${node.hostname} is no longer in cluster ${cfg.name} (kept, marked left)`,
      })
    }
    return out
  }

  async function recordChanges(prev: ClusterSnapshot, next: ClusterSnapshot, parsed: Map<string, ParsedClusterNode>, nodes: Map<string, NodeState>): Promise<void> {
    const prevRole = new Map(prev.nodes.map(n => [n.nodeId, n]))
    for (const [id, health] of Object.entries(next.health)) {
      const before = prev.health[id] ?? 'ok'
      const n = parsed.get(id)!
      const node = nodes.get(id)
      if (before !== health) {
        const why = next.metrics.find(m => m.nodeId === id)
        await log.record({
          type: health === 'ok' ? 'valkey_node_up' : 'valkey_node_down', severity: HEALTH_SEVERITY[health],
          ...about(node, { valkey_node_id: id, role: n.role, health, previous_health: before, ...(why?.status !== 'online' && why ? { error: why.error } : {}) }),
          message: health === 'ok' ? `Valkey ${roleWord(n.role)} ${n.address} is back (was ${before})` : `Valkey ${roleWord(n.role)} ${n.address} ${HEALTH_TEXT[health]}`,
        })
      }
      const was = prevRole.get(id)
      if (was?.role === 'slave' && n.role === 'master' && n.slots.length) {
        const old = was.masterNodeId ? prevRole.get(was.masterNodeId) : undefined
        await log.record({
          type: 'valkey_failover', severity: 'warning',
          ...about(node, { valkey_node_id: id, previous_master_id: was.masterNodeId ?? null, previous_master: old?.nodeAddress ?? null, slots: formatSlots(n.slots) }),
          message: `Failover in cluster ${cfg.name}: replica ${n.address} was promoted to master of slots ${formatSlots(n.slots)}${old ? `, replacing ${old.nodeAddress}` : ''}`,
        })
      }
    }
    await recordState(prev, next)
  }

  async function recordState(prev: ClusterSnapshot, next: ClusterSnapshot): Promise<void> {
    const was = prev.polledAt ? prev.clusterInfo.clusterState : null
    const now = next.clusterInfo.clusterState
    if (was === null || was === now) return
    const down = next.metrics.filter(m => m.status !== 'online' || next.health[m.nodeId] !== 'ok').map(m => m.nodeAddress)
    const reasons = [
      ...(next.error ? [`discovery failed: ${next.error.message}`] : []),
      ...(down.length ? [`${down.length} node${down.length > 1 ? 's' : ''} not ok (${down.slice(0, 5).join(', ')})`] : []),
      ...(next.uncoveredSlots.length ? [`slots not served: ${next.uncoveredSlots.slice(0, 5).join(', ')}`] : []),
    ]
    await log.record({
      type: 'cluster_status_update', severity: now === 'ok' ? 'success' : 'warning', clusterId: cfg.name, resourceType: 'valkey_cluster',
      message: now === 'ok' ? `Valkey cluster ${cfg.name} is ok: every node is online and all 16384 slots are served` : `Valkey cluster ${cfg.name} is degraded: ${reasons.join('; ')}`,
      data: { status: now, previous_status: was, not_ok: down.slice(0, 50), uncovered_slots: next.uncoveredSlots, ...(next.error ? { error: next.error.message } : {}) },
    })
  }

  async function poll(): Promise<ClusterSnapshot> {
    const prev = current ?? (await opts.load()) ?? emptySnapshot(cfg.name)
    const now = Date.now()
    const found = await discover(cfg, prev, opts.timeoutMs)
    if (!Array.isArray(found)) {
      // Nodes and metrics stay the last known; every node shows why it is not measured now.
      const next: ClusterSnapshot = {
        ...prev, polledAt: new Date(now).toISOString(), error: found,
        metrics: prev.metrics.map(m => ({ nodeId: m.nodeId, nodeAddress: m.nodeAddress, role: m.role, slots: m.slots, status: 'offline', error: `cluster unreachable: ${found.message}` })),
        clusterInfo: { ...prev.clusterInfo, clusterState: 'degraded' },
      }
      await recordState(prev, next)
      current = next
      await opts.save(next)
      return next
    }
    // Nodes still in handshake carry temporary ids, and noaddr nodes cannot be reached: neither is a member yet.
    const members = found.filter(n => !n.handshake && n.address)
    const collected = await Promise.all(members.map(n => collect(n, now)))
    const metrics = collected.map(c => c.metrics)
    const health: Record<string, Health> = {}
    members.forEach((n, i) => {
      health[n.id] = n.fail ? 'fail' : n.pfail ? 'pfail' : metrics[i]!.status !== 'online' ? 'unreachable' : 'ok'
    })
    const gaps = uncoveredSlots(members.filter(n => n.role === 'master' && !n.fail).flatMap(n => n.slots))
    const masters = members.filter(n => n.role === 'master').length
    const allOk = metrics.every(m => m.status === 'online') && Object.values(health).every(h => h === 'ok') && !gaps.length
    const nodes = await syncRegistry(members)
    const next: ClusterSnapshot = {
      name: cfg.name, polledAt: new Date(now).toISOString(), error: null,
      nodes: members.map(toClusterNode), metrics,
      registryIds: Object.fromEntries([...nodes].map(([id, n]) => [id, n.id])), health,
      clusterInfo: { totalNodes: members.length, mastersCount: masters, slavesCount: members.length - masters, clusterState: allOk && members.length ? 'ok' : 'degraded' },
      uncoveredSlots: gaps,
    }
    const ts = new Date(now)
    await Promise.all(collected.map(async (c, i) => {
      const node = nodes.get(members[i]!.id)
      if (!node || !c.info || c.metrics.status !== 'online') return
      // A node an admin deleted meanwhile is registered again by the next poll.
      await ingest.submit(node.id, [sampleFromInfo(c.info, c.metrics, ts)]).catch(() => {})
    }))
    await recordChanges(prev, next, new Map(members.map(n => [n.id, n])), nodes)
    current = next
    await opts.save(next)
    return next
  }

  return {
    name: cfg.name,
    poll,
    /** The last poll's snapshot in memory (null before this instance polled). */
    current: () => current,
  }
}

export type ClusterPoller = ReturnType<typeof createClusterPoller>
