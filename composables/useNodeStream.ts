import type { NodeStreamSnapshot } from '~~/shared/contracts/seed000'

/**
 * One node's live stats from the per-node stream (the detail modal), shared per id and interval.
 * `id` may change (the stream follows it) or be null (no stream).
 */
export function useNodeStream(id: MaybeRefOrGetter<number | null>, interval = 2) {
  const stream = useSharedStream<NodeStreamSnapshot>(() => {
    const value = toValue(id)
    return value === null ? null : `/api/v1/metrics/nodes/${value}/stats/stream?interval=${interval}`
  }, DASHBOARD_STREAM)
  return {
    node: computed(() => stream.data.value?.node ?? null),
    connected: computed(() => stream.status.value.state === 'connected'),
    error: stream.error,
    /** True once the node was deleted while shown. */
    ended: computed(() => stream.status.value.ended),
    /** True when the server knows no node with this id. */
    notFound: computed(() => stream.status.value.refusedWith === 404),
  }
}
