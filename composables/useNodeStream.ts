import type { NodeStats } from '~~/shared/contracts'

/** A node's summary plus what it has beyond it (load, cores, disks, network, labels…). */
export interface NodeDetailStats extends NodeStats { detail: Record<string, unknown> }

interface Snapshot { timestamp: string, node: NodeDetailStats | null }

/** One node's live stats from the per-node stream (the detail modal); shared per id and interval. */
export function useNodeStream(id: MaybeRefOrGetter<number>, interval = 2) {
  const node = shallowRef<NodeDetailStats | null>(null)
  const connected = ref(false)
  const error = ref<string | null>(null)
  const ended = ref(false)
  let release = () => {}
  let unwatch = () => {}

  watch(() => toValue(id), (value) => {
    unwatch()
    release()
    node.value = null
    const joined = acquireStream<Snapshot>(`/api/v1/metrics/nodes/${value}/stats/stream?interval=${interval}`)
    release = joined.release
    const { stream } = joined
    unwatch = watchEffect(() => {
      node.value = stream.data.value?.node ?? null
      connected.value = stream.connected.value
      error.value = stream.error.value
      ended.value = stream.ended.value
    })
  }, { immediate: true })
  onScopeDispose(() => {
    unwatch()
    release()
  })
  return { node, connected, error, ended }
}
