import type { NodeStats, NodeStatsSnapshot } from '~~/shared/contracts/seed000'
import { newestSummaries } from './useNodeStream'

/** Seconds between the dashboard's snapshots (the seed's default); the header and the page share it. */
export const DASHBOARD_INTERVAL = 5

/** The dashboard has no Retry button: its streams keep trying, however long the server is away. */
export const DASHBOARD_STREAM = { maxAttempts: Infinity } as const

/**
 * Every node's live summary from seed 000's unified stream. All callers with the same interval
 * share one EventSource; it reconnects by itself and closes when the last caller unmounts.
 * `nodes` is the snapshot's own array (not deeply reactive), replaced whole on every message,
 * with the summary of a node whose per-node stream is open where that stream's message is newer.
 */
export function useNodeStats(interval = DASHBOARD_INTERVAL) {
  const stream = useSharedStream<NodeStatsSnapshot>(`/api/v1/metrics/nodes/stats/stream?interval=${interval}`, DASHBOARD_STREAM)
  return {
    // A node whose detail is open has a newer message of its own every 2 s: the card shows that one.
    nodes: computed<NodeStats[]>(() => (stream.data.value ? newestSummaries(stream.data.value.nodes, stream.data.value.timestamp) : [])),
    timestamp: computed(() => stream.data.value?.timestamp ?? null),
    /** True once the first snapshot has arrived. */
    loaded: computed(() => stream.data.value !== null),
    connected: computed(() => stream.status.value.state === 'connected'),
    error: stream.error,
  }
}
