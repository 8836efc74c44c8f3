/**
 * Seed 001 (001_783fa6bd90265376.txt): the real-time hub's named-event streams `/stream/*`, its
 * REST answers under `/api/realtime/*` and its hub stats. Seed 001's "providers" are our nodes and
 * its "requests" our stats reports. Every message has `id: <unix-seconds>-<stream position>`.
 */
import type { EventView } from './seed002'
import type { NodeKind, NodeStats } from './seed000'

/**
 * The channels; `/stream/all` carries every one of them. `logs` is seed 001's request log (every
 * agent report the server answered), `events` the event log.
 */
export const CHANNELS = ['stats', 'logs', 'events', 'nodes', 'reports', 'heartbeat'] as const
export type Channel = (typeof CHANNELS)[number]

/** Every `/stream/{name}` path: the channels, seed 001's own words for two of them, and `all`. */
export const STREAM_PATHS: Record<string, Channel | 'all'> = {
  ...Object.fromEntries(CHANNELS.map(c => [c, c])), providers: 'nodes', requests: 'reports', all: 'all',
}

/** One node's figures over the hub's rolling windows: its seed 000 summary (keyed `node_id`) and averages. */
export interface NodeAggregate extends Omit<NodeStats, 'id' | 'uptime_seconds' | 'state'> {
  node_id: number
  reports: number
  avg_cpu_percent: number | null
  avg_memory_percent: number | null
  avg_disk_percent: number | null
}

/**
 * Every data line of every `/stream/*` message stays below this many bytes (`data: ` and the JSON,
 * without the newline): line readers such as Go's `bufio.Scanner` stop at 64 KiB. Messages are
 * packed to `LINE_BUDGET_BYTES`; one entry that alone is bigger still goes alone (the contracts'
 * field limits keep any single node, event or request-log entry far below the limit).
 */
export const MAX_LINE_BYTES = 65_535
export const LINE_BUDGET_BYTES = 60_000
/** The most nodes `event: stats` lists in `nodes` and `providers` (fewer when their lines would pass the budget). */
export const STATS_NODES_MAX = 100

/** The cluster aggregate (`GET /api/realtime/metrics` and, with `timestamp`, the `stats` channel). */
export interface ClusterAggregate {
  total_nodes: number
  online: number
  stale: number
  offline: number
  /** Since this instance started. */
  total_reports: number
  rejected_reports: number
  reports_per_minute: number
  avg_cpu_percent: number | null
  avg_memory_percent: number | null
  avg_disk_percent: number | null
  active_backups: number
  window_start: number
  last_updated: number
  nodes: NodeAggregate[]
  /** Seed 001's words for the same figures: a node is a provider, a report a request. */
  total_requests: number
  total_tokens: number
  total_cost: number
  providers: { provider_id: number, total_requests: number }[]
}

/**
 * `event: stats`: the totals, and `nodes`/`providers` for the most active nodes only (most reports
 * in the window first, at most STATS_NODES_MAX); `providers_total` (= `total_nodes`) is the full
 * count. Every node's figures: `/stream/nodes`, `GET /api/realtime/metrics`.
 */
export interface StatsMessage extends ClusterAggregate { timestamp: number, providers_total: number }

/**
 * One answered agent request (seed 001's request log): `provider_id` and `node_id` are the node
 * the URL names (null when the URL names none), `hostname` its name when it exists. Never the
 * token or the body.
 */
export interface RequestLogEntry {
  id: number
  provider_id: number | null
  node_id: number | null
  hostname: string | null
  method: string
  endpoint: string
  status_code: number
  latency_ms: number
  success: boolean
  /** Empty when it succeeded, else the message the agent was answered with. */
  error_message: string
  /** Unix seconds. */
  timestamp: number
}

/** `event: logs`: request-log entries answered since the last one (several messages when they pass a line). */
export interface LogsMessage { timestamp: number, logs: RequestLogEntry[], count: number }

/** `event: events`: event-log rows committed since the last one, in seed 001's batch shape (several messages when they pass a line). */
export interface EventsMessage { timestamp: number, logs: EventView[], count: number }

/** A node in `event: nodes`: the seed 000 summary with its kind and labels. */
export interface NodeEntry extends Omit<NodeStats, 'state'> { kind: NodeKind, labels: Record<string, string> }

/**
 * `event: nodes`: one part of a snapshot of every node. A snapshot too big for one line goes out
 * as `parts` consecutive messages with the same `snapshot` number; `part` counts from 1, `offset`
 * is the index of this part's first node and `total` the snapshot's node count, so a client
 * appends parts until `part === parts` (then `offset + nodes.length === total`).
 */
export interface NodesMessage { timestamp: number, nodes: NodeEntry[], total: number, snapshot: number, part: number, parts: number, offset: number }

/** `event: reports`: one stored stats report (the seed's "request"). */
export interface ReportMessage {
  /** The report's stream position. */
  id: number
  node_id: number
  hostname: string | null
  /** Unix seconds, like every seed 001 timestamp; `sampled_at`/`received_at` are exact. */
  timestamp: number
  sampled_at: string
  received_at: string
  cpu_percent: number
  memory_percent: number | null
  /** Null for a node without a disk of its own (a Valkey node). */
  disk_percent: number | null
  uptime_seconds: number | null
  active_backups: number | null
}

/** `event: heartbeat`, on every channel's stream. */
export interface HeartbeatMessage { timestamp: number }

/** The data each channel's `event: <channel>` carries. */
export interface ChannelMessages { stats: StatsMessage, logs: LogsMessage, events: EventsMessage, nodes: NodesMessage, reports: ReportMessage, heartbeat: HeartbeatMessage }

/** `event: connected`, the first message (it also carries `retry:`). */
export interface ChannelConnected { timestamp: number, channels: Channel[] }

/** Why a resume could not replay: the id is not known here, retention deleted it, or too much was missed. */
export const RESET_REASONS = ['unknown_position', 'position_expired', 'too_far_behind'] as const
export type ResetReason = (typeof RESET_REASONS)[number]

/** `event: reset`: the client must reload the current state instead of replaying. */
export interface ResetMessage { reason: ResetReason, message: string, timestamp: number }

/** Why the hub ended a connection: the client left, it was too slow, its subject ended, its credential was revoked, or the server stopped. */
export type DisconnectReason = 'client' | 'slow' | 'ended' | 'revoked' | 'shutdown'

/** Hub figures (`GET /api/realtime/hub/stats`). */
export interface HubStats {
  total_clients: number
  /** Per channel; a /stream/all client counts for each of the six. */
  subscriptions: Record<string, number>
  /** Connections per stream. */
  streams: Record<string, number>
  events_sent: number
  events_sent_by_channel: Record<string, number>
  /** Connections ended, by reason. */
  disconnects: Record<DisconnectReason, number>
}

/** Seed 001's REST envelope. */
export interface RealtimeAnswer<T> { success: true, data: T }
