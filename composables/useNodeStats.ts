import type { NodeStats } from '~~/shared/contracts'

interface Snapshot { timestamp: string, nodes: NodeStats[] }

/**
 * Every node's live summary from seed 000's unified stream. All callers with the same interval
 * share one EventSource; it reconnects by itself and closes when the last caller unmounts.
 */
export function useNodeStats(interval = 5) {
  const { stream, release } = acquireStream<Snapshot>(`/api/v1/metrics/nodes/stats/stream?interval=${interval}`)
  onScopeDispose(release)
  return {
    nodes: computed(() => stream.data.value?.nodes ?? []),
    timestamp: computed(() => stream.data.value?.timestamp ?? null),
    /** True once the first snapshot has arrived. */
    loaded: computed(() => stream.data.value !== null),
    connected: stream.connected,
    error: stream.error,
  }
}
