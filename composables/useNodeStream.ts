import type { NodeStats } from '~~/shared/contracts'

/** The master's host detail (absent until its first sample). */
export interface HostDetail {
  load?: { '1m': number, '5m': number, '15m': number }
  cpu_cores?: number[]
  memory?: { total_bytes: number, used_bytes: number, available_bytes: number, swap_total_bytes: number, swap_used_bytes: number }
  disk?: { mount: string, fs: string, size_bytes: number, used_bytes: number, percent: number } | null
  disks?: { mount: string, fs: string, type: string, size_bytes: number, used_bytes: number, percent: number }[]
  network?: { iface: string, rx_bytes_per_sec: number | null, tx_bytes_per_sec: number | null, rx_bytes: number, tx_bytes: number }[]
}

/** An agent's latest report as stored. */
export interface ReportedSample {
  cpu_percent: number
  memory_percent: number | null
  disk_percent: number
  uptime_seconds: number | null
  active_backups: number | null
  timestamp: string
}

/** What the per-node stream adds to a node's summary. */
export interface NodeDetail extends HostDetail {
  kind: 'master' | 'agent'
  labels: Record<string, string>
  created_at: string
  last_sample_at: string | null
  /** Agents only: null until the first report. */
  reported?: ReportedSample | null
}

/** A node's summary plus its detail, as the per-node stream sends it. */
export interface NodeDetailStats extends NodeStats { detail: NodeDetail }

interface Snapshot { timestamp: string, node: NodeDetailStats | null }

/**
 * One node's live stats from the per-node stream (the detail modal), shared per id and interval.
 * `id` may change (the stream follows it) or be null (no stream).
 */
export function useNodeStream(id: MaybeRefOrGetter<number | null>, interval = 2) {
  const stream = useSharedStream<Snapshot>(() => {
    const value = toValue(id)
    return value === null ? null : `/api/v1/metrics/nodes/${value}/stats/stream?interval=${interval}`
  })
  return {
    node: computed(() => stream.data.value?.node ?? null),
    connected: stream.connected,
    error: stream.error,
    /** True once the node was deleted while shown. */
    ended: stream.ended,
    /** True when the server knows no node with this id. */
    notFound: computed(() => stream.refusedWith.value === 404),
  }
}
