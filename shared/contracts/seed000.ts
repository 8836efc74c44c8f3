/**
 * Seed 000 (000_079b26b54e3c189a.txt): the node stats streams the dashboard reads.
 * - `/api/v1/metrics/nodes/stats/stream`: `connected`, then a {@link NodeStatsSnapshot} each interval.
 * - `/api/v1/metrics/nodes/{id}/stats/stream`: `connected`, then a {@link NodeStreamSnapshot}; a
 *   {@link NodeDeletedMessage} ends it when the node is deleted.
 * - `/api/v1/metrics/node/stream`: the master's {@link MasterMetrics} (the seed's old stream).
 * All are unnamed `data:` messages (clients use `onmessage`).
 */
import { z } from 'zod'
import type { HostDetail } from './ingest'

/** online = reported within the stale threshold, stale = reported but not within it, offline = never reported. */
export const NODE_STATUSES = ['online', 'stale', 'offline'] as const
export type NodeStatus = (typeof NODE_STATUSES)[number]

/**
 * What the events say of a node, in order of concern: `status`, with an online node that has not
 * reported within NODEPULSE_UNREACHABLE_AFTER called unreachable (the watcher's `node_unreachable`).
 * A node added but not reported yet is pending for NODEPULSE_PENDING_GRACE (then offline).
 * A field NodePulse adds to seed 000's summary; `status` keeps the seed's three values.
 */
export const NODE_STATES = ['online', 'unreachable', 'stale', 'offline', 'pending'] as const
export type NodeLiveState = (typeof NODE_STATES)[number]

/** What a node is: the host NodePulse runs on, a host that pushes stats, a node of a member NodePulse polls (seed 003), or a node of a watched Valkey/Redis cluster. */
export const NODE_KINDS = ['master', 'agent', 'member', 'valkey'] as const
export type NodeKind = (typeof NODE_KINDS)[number]

/** `?interval=` of seed 000's streams: whole seconds 1–60, default 5. */
const intervalParam = z.string({ error: 'must be given once, as whole seconds' }).regex(/^\d+$/, 'must be whole seconds from 1 to 60')
  .transform(Number).pipe(z.number().min(1, 'must be at least 1 second').max(60, 'must be at most 60 seconds')).optional()
export const streamQuery = z.object({ interval: intervalParam }).transform(q => ({ interval: q.interval ?? 5 }))

/** A node's summary exactly as seed 000 streams it. */
export interface NodeStats {
  id: number
  hostname: string
  status: NodeStatus
  /** NodePulse's addition: `status`, with unreachable between online and stale. */
  state: NodeLiveState
  is_master: boolean
  cpu_percent: number | null
  memory_percent: number | null
  disk_percent: number | null
  uptime_seconds: number | null
  active_backups: number | null
  last_seen: string | null
}

/** The first message of every seed 000 stream. */
export interface StreamConnected { event: 'connected', interval: number, timestamp: string }

/** The unified stream's message: every node's summary, ordered by id. */
export interface NodeStatsSnapshot { timestamp: string, nodes: NodeStats[] }

/**
 * The dashboard's stream (NodePulse's, not seed 000's): a `snapshot` event (a NodeStatsSnapshot),
 * then each tick a `delta`: the nodes whose summary changed, whole, and the ids removed. Each
 * message's SSE id is its position; resuming from it gives one delta of what was missed.
 */
export interface NodeStatsDelta { timestamp: string, removed: number[], changed: NodeStats[] }

/** `?interval=` as seed 000's streams take it, and `?lastEventId=` (or the Last-Event-ID header) to resume. */
export const deltaStreamQuery = z.object({
  interval: intervalParam,
  lastEventId: z.string({ error: 'must be given once' }).max(64, 'must be at most 64 characters').optional(),
}).transform(q => ({ interval: q.interval ?? 5, lastEventId: q.lastEventId }))

/** A host's detail beyond the summary (the ingest contract defines it); absent until its first sample. */
export type { HostDetail }

/** An agent's latest report as stored. */
export interface ReportedSample {
  cpu_percent: number
  memory_percent: number | null
  /** Null for a node without a disk of its own (a Valkey node). */
  disk_percent: number | null
  uptime_seconds: number | null
  active_backups: number | null
  timestamp: string
}

/** What the per-node stream adds to a node's summary. */
export interface NodeDetail extends HostDetail {
  kind: NodeKind
  labels: Record<string, string>
  created_at: string
  last_sample_at: string | null
  /** Agents only: null until the first report. */
  reported?: ReportedSample | null
}

/** A node's summary plus its detail, as the per-node stream sends it. */
export interface NodeDetailStats extends NodeStats { detail: NodeDetail }

/** The per-node stream's message; `node` is null once the node is gone. */
export interface NodeStreamSnapshot { timestamp: string, node: NodeDetailStats | null }

/** The per-node stream's last message when its node is deleted. */
export interface NodeDeletedMessage { event: 'deleted', id: number, timestamp: string }

/** The old master-only stream's message: the host's full metrics. */
export interface MasterMetrics {
  timestamp: string
  hostname: string | undefined
  /** When the figures were sampled (they change at NODEPULSE_SAMPLE_INTERVAL). */
  sampled_at: string | null
  cpu: { percent: number | null, cores: number[], core_count: number, load: HostDetail['load'] | null }
  memory: Partial<NonNullable<HostDetail['memory']>> & { percent: number | null, swap_percent: number }
  disk_percent: number | null
  disks: NonNullable<HostDetail['disks']>
  network: NonNullable<HostDetail['network']>
  os: Record<string, string>
  uptime_seconds: number | null
}
