/**
 * Seed 004 (004_e905774782255a8c.txt): a Valkey/Redis cluster's nodes and their metrics.
 * - `GET /api/cluster/nodes`: {@link ClusterNodesData} — the nodes `CLUSTER NODES` lists; the same path
 *   is seed 003's node list, so NodePulse's other nodes appear too, each with `kind` ({@link OtherClusterNode}).
 *   `?kind=valkey` gives exactly the seed's list.
 * - `GET /api/cluster/nodes/metrics`: {@link ClusterMetricsData} — every Valkey node's metrics and `clusterInfo`.
 * - `GET /api/nodes/{nodeId}/metrics`: one {@link ValkeyNodeMetrics}, by cluster node id or NodePulse id.
 * Every answer is the seed's envelope {@link SeedEnvelope}.
 */
import { z } from 'zod'
import { NODE_KINDS, NODE_STATUSES } from './seed000'

/** The seed's envelope: `{status: "success", data, timestamp}`. */
export interface SeedEnvelope<T> { status: 'success', data: T, timestamp: string }

/** Every slot of a cluster: 0–16383. */
export const CLUSTER_SLOTS = 16_384

export const VALKEY_ROLES = ['master', 'slave'] as const
export type ValkeyRole = (typeof VALKEY_ROLES)[number]

/**
 * Labels of a Valkey node in NodePulse's registry: its cluster's name, its cluster node id, its role
 * (`master` or `replica`), and `valkey_state: left` once it left the cluster.
 */
export const VALKEY_LABEL = { cluster: 'valkey_cluster', id: 'valkey_node_id', role: 'valkey_role', state: 'valkey_state' } as const

/** The role a Valkey node's labels give (the label says `replica`, the wire `slave`); null for other nodes. */
export function valkeyRoleOf(labels: Record<string, string>): ValkeyRole | null {
  const role = labels[VALKEY_LABEL.role]
  return role === 'master' ? 'master' : role === 'replica' ? 'slave' : null
}

/** The link state `CLUSTER NODES` reports for the cluster bus. */
export const LINK_STATES = ['connected', 'disconnected'] as const

/** One node as `GET /api/cluster/nodes` lists it (the seed's fields; masters carry slots and replicas, replicas their master). */
export const clusterNode = z.object({
  nodeId: z.string(),
  nodeAddress: z.string(),
  role: z.enum(VALKEY_ROLES),
  status: z.enum(LINK_STATES),
  slots: z.string().optional(),
  flags: z.array(z.string()),
  replicas: z.array(z.string()).optional(),
  masterNodeId: z.string().optional(),
  /** NodePulse's addition, only when several clusters are watched: the name of the node's cluster (one cluster's list stays exactly the seed's). */
  cluster: z.string().optional(),
})
export type ClusterNode = z.output<typeof clusterNode>

/**
 * A NodePulse node of another kind in the same list (seed 003's member nodes, agents, the master),
 * with seed 003's fields: name, url (a member node's member), member, last_seen, status, reachable.
 */
export const otherClusterNode = z.object({
  kind: z.enum(NODE_KINDS).exclude(['valkey']),
  /** The NodePulse id, as a string like the Valkey ids. */
  nodeId: z.string(),
  nodeAddress: z.string(),
  role: z.string(),
  status: z.enum(NODE_STATUSES),
  flags: z.array(z.string()),
  name: z.string(),
  /** The member's URL for a member node; null for this server's own nodes. */
  url: z.string().nullable(),
  member: z.string().nullable(),
  last_seen: z.string().nullable(),
  /** A member node: whether its member answered the last poll; other nodes: whether they report in time (null before they did). */
  reachable: z.boolean().nullable(),
  /** A member node whose member's last poll failed: why (seed 003's `last_error`); null otherwise. */
  last_error: z.string().nullable(),
})
export type OtherClusterNode = z.output<typeof otherClusterNode>

export const clusterNodesData = z.object({
  nodes: z.array(z.union([clusterNode, otherClusterNode])),
  /** Why the Valkey part is empty (not configured, not in cluster mode). */
  message: z.string().optional(),
  timestamp: z.string(),
})
export type ClusterNodesData = z.output<typeof clusterNodesData>

/** `?kind=` of `GET /api/cluster/nodes`. */
export const clusterNodesQuery = z.object({
  kind: z.enum(NODE_KINDS, { error: `must be one of ${NODE_KINDS.join(', ')}` }).optional(),
})

/** Memory as the seed shows it: text (GB/MB/KB/B), bytes and percent of the maximum. */
export const memoryMetrics = z.object({
  used: z.string(),
  max: z.string(),
  usedBytes: z.number(),
  maxBytes: z.number(),
  percent: z.number(),
})

/** A node whose INFO answered. */
export const onlineNodeMetrics = z.object({
  nodeId: z.string(),
  nodeAddress: z.string(),
  role: z.enum(VALKEY_ROLES),
  status: z.literal('online'),
  memory: memoryMetrics,
  /** Percent of one core (from used_cpu_sys + used_cpu_user between two polls) and the command threads. */
  cpu: z.object({ percent: z.number(), cores: z.number() }),
  connections: z.number(),
  opsPerSec: z.number(),
  uptime: z.string(),
  keyCount: z.number(),
  slots: z.string(),
  /** As in {@link clusterNode}: the node's cluster, only when several are watched. */
  cluster: z.string().optional(),
})

/** A node that did not answer (`offline`) or answered with an error (`error`); `error` says why, without addresses or secrets. */
export const downNodeMetrics = z.object({
  nodeId: z.string(),
  nodeAddress: z.string(),
  role: z.enum(VALKEY_ROLES),
  status: z.enum(['offline', 'error']),
  error: z.string(),
  slots: z.string(),
  cluster: z.string().optional(),
})

export const valkeyNodeMetrics = z.discriminatedUnion('status', [onlineNodeMetrics, downNodeMetrics])
export type ValkeyNodeMetrics = z.output<typeof valkeyNodeMetrics>
export type OnlineNodeMetrics = z.output<typeof onlineNodeMetrics>

export const CLUSTER_STATES = ['ok', 'degraded'] as const
export type ClusterState = (typeof CLUSTER_STATES)[number]

/** The seed's summary: `ok` when every node is online (and none is flagged failing), else `degraded`. */
export const clusterInfo = z.object({
  totalNodes: z.number(),
  mastersCount: z.number(),
  slavesCount: z.number(),
  clusterState: z.enum(CLUSTER_STATES),
})
export type ClusterInfo = z.output<typeof clusterInfo>

/** One watched cluster (NodePulse's addition: several clusters can be watched, and the dashboard draws each). */
export const watchedCluster = clusterInfo.extend({
  name: z.string(),
  /** Slot ranges no reachable master serves, e.g. ["5461-10922"]; empty when all 16,384 are served. */
  uncoveredSlots: z.array(z.string()),
  polledAt: z.string().nullable(),
  /** Why the last discovery failed, if it did. */
  error: z.string().nullable(),
})
export type WatchedCluster = z.output<typeof watchedCluster>

export const clusterMetricsData = z.object({
  nodes: z.array(valkeyNodeMetrics),
  clusterInfo,
  clusters: z.array(watchedCluster),
  message: z.string().optional(),
  timestamp: z.string(),
})
export type ClusterMetricsData = z.output<typeof clusterMetricsData>

/** `{nodeId}` of `/api/nodes/{nodeId}/metrics`: a 40-character cluster node id or a NodePulse id. */
export const nodeIdParam = z.strictObject({
  nodeId: z.string().regex(/^([0-9a-f]{40}|[1-9]\d{0,9})$/i, 'must be a cluster node id (40 hex characters) or a NodePulse node id'),
})

/** Wraps `data` in the seed's envelope. */
export function toEnvelope<T extends object>(data: T, now = new Date()): SeedEnvelope<T> {
  return { status: 'success', data, timestamp: now.toISOString() }
}

/** Wraps a list answer in the seed's envelope; its `data` repeats the timestamp, as the seed shows for lists. */
export function toListEnvelope<T extends object>(data: T, now = new Date()): SeedEnvelope<T & { timestamp: string }> {
  return toEnvelope({ ...data, timestamp: now.toISOString() }, now)
}

/** The seed's envelope around `data`, for check scripts and tests. */
export const envelope = <T extends z.ZodType>(data: T) => z.object({ status: z.literal('success'), data, timestamp: z.string() })
