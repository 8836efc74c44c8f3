import { desc, eq, sql } from 'drizzle-orm'
import type { NodeView } from '../../shared/contracts/rest'
import { NODE_STATUSES, type NodeKind, type NodeStats, type NodeStatus } from '../../shared/contracts/seed000'
import type { Database } from '../db'
import { nodes, nodeSamples, type NodeRow, type SampleValues } from '../db/schema'
import type { Journal } from './journal'
import { startedInstance } from './started'
import { computeState, computeStatus, type StatusThresholds } from './status'

/** The newest sample of a node, as the streams show it. */
export type LatestSample = SampleValues

/** A node as the registry holds it in memory. */
export interface NodeState {
  id: number
  hostname: string
  kind: NodeKind
  labels: Record<string, string>
  createdAt: Date
  lastSeen: Date | null
  agentTokenHash: string | null
  latest: LatestSample | null
  /** Status changes of a node in maintenance are logged but do not alert. */
  maintenance: boolean
  /** This instance's own master: sampled here, so online while this process runs. */
  live: boolean
  /** The status and reachability the watcher last recorded (null before its first look). */
  watchedStatus: NodeStatus | null
  watchedReachable: boolean | null
}

const parseStatus = (s: string | null): NodeStatus | null => (NODE_STATUSES.find(status => status === s) ?? null)

type Listener = (change: { type: 'created' | 'updated' | 'deleted' | 'sampled', node: NodeState }) => void

/**
 * The node registry: the database is the truth, memory holds every node's latest state so
 * streams and ingest never query per client or per report.
 */
export function createRegistry(db: Database) {
  const byId = new Map<number, NodeState>()
  const byTokenHash = new Map<string, number>()
  const listeners = new Set<Listener>()

  const emit: Listener = change => listeners.forEach(l => l(change))
  let localMasterId: number | null = null

  function put(row: NodeRow, latest: LatestSample | null): NodeState {
    const prev = byId.get(row.id)
    if (prev?.agentTokenHash) byTokenHash.delete(prev.agentTokenHash)
    const state: NodeState = {
      id: row.id, hostname: row.hostname, kind: row.kind, labels: row.labels,
      createdAt: row.createdAt, lastSeen: row.lastSeen, agentTokenHash: row.agentTokenHash, latest,
      maintenance: row.maintenance, watchedStatus: parseStatus(row.watchedStatus), watchedReachable: row.watchedReachable,
      live: row.id === localMasterId,
    }
    byId.set(row.id, state)
    if (row.agentTokenHash) byTokenHash.set(row.agentTokenHash, row.id)
    return state
  }

  return {
    /** Loads every node and its newest sample from the database (at start-up). */
    async load(): Promise<void> {
      const rows = await db.select().from(nodes)
      const latest = await db.selectDistinctOn([nodeSamples.nodeId]).from(nodeSamples)
        .orderBy(nodeSamples.nodeId, desc(nodeSamples.ts))
      const latestByNode = new Map(latest.map(s => [s.nodeId, s]))
      byId.clear()
      byTokenHash.clear()
      for (const row of rows) {
        const s = latestByNode.get(row.id)
        put(row, s ? { ts: s.ts, cpuPercent: s.cpuPercent, memoryPercent: s.memoryPercent, diskPercent: s.diskPercent, uptimeSeconds: s.uptimeSeconds, activeBackups: s.activeBackups, detail: s.detail } : null)
      }
    },

    /** Every node, ordered by id. */
    list(): NodeState[] {
      return [...byId.values()].sort((a, b) => a.id - b.id)
    },

    /** One node, or undefined. */
    get(id: number): NodeState | undefined {
      return byId.get(id)
    },

    /** The node whose agent token has this hash, if any. */
    findByTokenHash(hash: string): NodeState | undefined {
      const id = byTokenHash.get(hash)
      return id === undefined ? undefined : byId.get(id)
    },

    /** Creates a node row and adds it to memory. */
    async create(input: { hostname: string, kind: NodeKind, labels?: Record<string, string>, agentTokenHash?: string | null }): Promise<NodeState> {
      // A new node starts out offline as far as the watcher is concerned, so its first report is an event.
      const [row] = await db.insert(nodes).values({
        hostname: input.hostname, kind: input.kind, labels: input.labels ?? {}, agentTokenHash: input.agentTokenHash ?? null, watchedStatus: 'offline',
      }).returning()
      const state = put(row!, null)
      emit({ type: 'created', node: state })
      return state
    },

    /** Registers this host as a master node once; a restart finds and reuses its row. */
    async ensureMaster(hostname: string): Promise<NodeState> {
      await db.insert(nodes).values({ hostname, kind: 'master', watchedStatus: 'online', watchedReachable: true })
        .onConflictDoNothing({ target: nodes.hostname, where: sql`${nodes.kind} = 'master'` })
      const [row] = await db.select().from(nodes).where(sql`${nodes.kind} = 'master' and ${nodes.hostname} = ${hostname}`)
      localMasterId = row!.id
      const existing = byId.get(row!.id)
      const state = put(row!, existing?.latest ?? null)
      if (!existing) emit({ type: 'created', node: state })
      return state
    },

    /** Changes hostname and/or labels; undefined when the node does not exist. */
    async update(id: number, patch: { hostname?: string, labels?: Record<string, string>, agentTokenHash?: string, maintenance?: boolean }): Promise<NodeState | undefined> {
      const [row] = await db.update(nodes).set({ ...patch, updatedAt: new Date() }).where(eq(nodes.id, id)).returning()
      if (!row) return undefined
      const state = put(row, byId.get(id)?.latest ?? null)
      emit({ type: 'updated', node: state })
      return state
    },

    /** Deletes a node and its samples; false when it did not exist. */
    async remove(id: number): Promise<boolean> {
      const [row] = await db.delete(nodes).where(eq(nodes.id, id)).returning({ id: nodes.id })
      const state = byId.get(id)
      if (state) {
        byId.delete(id)
        if (state.agentTokenHash) byTokenHash.delete(state.agentTokenHash)
        emit({ type: 'deleted', node: state })
      }
      return Boolean(row)
    },

    /** Re-reads one node's row (another instance created, changed or deleted it). */
    async refresh(id: number): Promise<void> {
      const [row] = await db.select().from(nodes).where(eq(nodes.id, id))
      const existing = byId.get(id)
      if (!row) {
        if (!existing) return
        byId.delete(id)
        if (existing.agentTokenHash) byTokenHash.delete(existing.agentTokenHash)
        emit({ type: 'deleted', node: existing })
        return
      }
      const state = put(row, existing?.latest ?? null)
      if (existing?.lastSeen && (!state.lastSeen || existing.lastSeen > state.lastSeen)) state.lastSeen = existing.lastSeen
      emit({ type: existing ? 'updated' : 'created', node: state })
    },

    /** Records committed samples in memory: last_seen moves on, the newest sample wins. */
    applySamples(id: number, seenAt: Date, newest: LatestSample): void {
      const state = byId.get(id)
      if (!state) return
      if (!state.lastSeen || seenAt > state.lastSeen) state.lastSeen = seenAt
      if (!state.latest || newest.ts >= state.latest.ts) state.latest = newest
      emit({ type: 'sampled', node: state })
    },

    /** Records in memory what the watcher last reported of a node (its row is written with the event). */
    setWatched(id: number, watched: { status: NodeStatus, reachable: boolean | null }): void {
      const state = byId.get(id)
      if (!state) return
      state.watchedStatus = watched.status
      state.watchedReachable = watched.reachable
    },

    /** Subscribes to registry changes; returns the unsubscribe function. */
    subscribe(listener: Listener): () => void {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}

export type Registry = ReturnType<typeof createRegistry>

const running = startedInstance<Registry>()
/** The running node registry (503 until start-up has finished). */
export const useRegistry = running.use
/** Publishes the running node registry (start-up) or withdraws it (stop). */
export const setRegistry = running.set

/**
 * When instances share the database, other instances' writes reach this registry through the
 * journal: their reports move a node's newest sample on, their node events re-read the node.
 */
export function followJournal(registry: Registry, journal: Journal): () => void {
  return journal.onCommit((entries) => {
    for (const e of entries) {
      if (e.kind === 'report') {
        const latest = registry.get(e.row.nodeId)?.latest
        if (!latest || e.row.ts > latest.ts) registry.applySamples(e.row.nodeId, e.row.receivedAt, { ...e.row, detail: e.row.detail ?? null })
      }
      // The poller's valkey_* events follow a change of the node's address or role labels.
      else if (e.row.nodeId !== null && (e.row.type.startsWith('node_') || e.row.type.startsWith('valkey_'))) void registry.refresh(e.row.nodeId)
    }
  })
}

/** Seed 000's summary of a node at `now`. */
export function toNodeStats(node: NodeState, now: number, thresholds: StatusThresholds): NodeStats {
  const isMaster = node.kind === 'master'
  const s = node.latest
  return {
    id: node.id,
    hostname: node.hostname,
    status: computeStatus(node, now, thresholds.staleAfterSeconds),
    state: computeState(node, now, thresholds),
    is_master: isMaster,
    cpu_percent: s?.cpuPercent ?? null,
    memory_percent: s?.memoryPercent ?? null,
    disk_percent: s?.diskPercent ?? null,
    uptime_seconds: s?.uptimeSeconds ?? null,
    // A node that has reported runs 0 backups unless it said otherwise; null means never reported.
    active_backups: s || isMaster ? (s?.activeBackups ?? 0) : null,
    last_seen: node.live ? null : node.lastSeen?.toISOString() ?? null,
  }
}

/** A node as the REST API returns it. */
export function toNodeView(node: NodeState, now: number, thresholds: StatusThresholds): NodeView {
  return {
    ...toNodeStats(node, now, thresholds),
    kind: node.kind,
    labels: node.labels,
    maintenance: node.maintenance,
    created_at: node.createdAt.toISOString(),
    last_sample_at: node.latest?.ts.toISOString() ?? null,
  }
}
