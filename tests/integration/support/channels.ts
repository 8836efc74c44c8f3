/** Seed 001's channel payloads as the tests read them, and helpers over received messages. */
import { expect } from 'vitest'
import type { EventsMessage, ReportMessage } from '../../../shared/contracts/seed001'
import type { SseMessage } from '../sse'

export const CHANNEL_NAMES = ['stats', 'logs', 'events', 'nodes', 'reports', 'heartbeat'] as const

export const NODE_AGGREGATE_KEYS = ['active_backups', 'avg_cpu_percent', 'avg_disk_percent', 'avg_memory_percent', 'cpu_percent', 'disk_percent', 'hostname', 'is_master', 'last_seen', 'memory_percent', 'node_id', 'reports', 'status']

export const STATS_KEYS = [
  'active_backups', 'avg_cpu_percent', 'avg_disk_percent', 'avg_memory_percent', 'last_updated', 'nodes', 'offline', 'online', 'providers',
  'providers_total', 'rejected_reports', 'reports_per_minute', 'stale', 'timestamp', 'total_cost', 'total_nodes', 'total_reports', 'total_requests', 'total_tokens', 'window_start',
]

/** Seed 001's request-log fields, plus node_id and hostname. */
export const REQUEST_LOG_KEYS = ['endpoint', 'error_message', 'hostname', 'id', 'latency_ms', 'method', 'node_id', 'provider_id', 'status_code', 'success', 'timestamp']

export const LOG_KEYS = ['acknowledged_at', 'acknowledged_by', 'cluster_id', 'created_at', 'data', 'event_type', 'id', 'incident_id', 'message', 'node_id', 'resource_type', 'severity', 'timestamp']

export const NODE_ENTRY_KEYS = ['active_backups', 'cpu_percent', 'disk_percent', 'hostname', 'id', 'is_master', 'kind', 'labels', 'last_seen', 'memory_percent', 'status', 'uptime_seconds']

export const REPORT_KEYS = ['active_backups', 'cpu_percent', 'disk_percent', 'hostname', 'id', 'memory_percent', 'node_id', 'received_at', 'sampled_at', 'timestamp', 'uptime_seconds']

export const ID = /^(\d+)-(\d+)$/
export const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

/** The stream position in a message id `<unix-seconds>-<position>` (fails the test for another shape). */
export function positionOf(m: SseMessage): number {
  const match = ID.exec(m.id ?? '')
  expect(match, `message id "${m.id}" is not <unix-seconds>-<position>`).not.toBeNull()
  return Number(match![2])
}

/** The unix seconds in a message id. */
export function secondsOf(m: SseMessage): number {
  return Number(ID.exec(m.id ?? '')![1])
}

export const dataOf = <T>(m: SseMessage): T => JSON.parse(m.data!) as T

/** The replayable positions a list of messages carries: each report's id, each event row's id, in arrival order. */
export function positions(messages: SseMessage[]): number[] {
  return messages.flatMap((m) => {
    if (m.event === 'reports') return [dataOf<ReportMessage>(m).id]
    if (m.event === 'events') return dataOf<EventsMessage>(m).logs.map(l => l.id)
    return []
  })
}

/** Elements that occur more than once. */
export function repeated(values: number[]): number[] {
  const seen = new Set<number>()
  const twice = new Set<number>()
  for (const v of values) (seen.has(v) ? twice : seen).add(v)
  return [...twice].sort((a, b) => a - b)
}

/** A sample stamped `msAgo` before `base` with these figures. */
export function stamp(base: number, msAgo: number, figures: Record<string, number>) {
  return { ...figures, timestamp: new Date(base - msAgo).toISOString() }
}
