import type { NodeStats, NodeStreamSnapshot } from '~~/shared/contracts/seed000'

/**
 * The newest message of each per-node stream opened on the page, by node id: the dashboard's
 * card of a node takes it when it is newer than the 5 s snapshot, so card and modal agree.
 */
const perNodeLatest = shallowRef<ReadonlyMap<number, { timestamp: string, node: NodeStats }>>(new Map())

/** Each node's summary, replaced by its per-node stream's when that message is newer than the snapshot's `timestamp`. */
export function newestSummaries(nodes: NodeStats[], timestamp: string): NodeStats[] {
  const latest = perNodeLatest.value
  if (latest.size === 0) return nodes
  return nodes.map((n) => {
    const own = latest.get(n.id)
    return own && Date.parse(own.timestamp) > Date.parse(timestamp) ? own.node : n
  })
}

/**
 * One node's live stats from the per-node stream (the detail modal), shared per id and interval.
 * `id` may change (the stream follows it) or be null (no stream).
 */
export function useNodeStream(id: MaybeRefOrGetter<number | null>, interval = 2) {
  const stream = useSharedStream<NodeStreamSnapshot>(() => {
    const value = toValue(id)
    return value === null ? null : `/api/v1/metrics/nodes/${value}/stats/stream?interval=${interval}`
  }, DASHBOARD_STREAM)
  watch(() => stream.data.value, (message) => {
    if (!message?.node) return
    const { detail: _detail, ...summary } = message.node
    perNodeLatest.value = new Map(perNodeLatest.value).set(summary.id, { timestamp: message.timestamp, node: summary })
  })
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
