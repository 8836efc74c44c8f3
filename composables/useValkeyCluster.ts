import type { ClusterMetricsData, ClusterNodesData, ClusterNode, SeedEnvelope } from '~~/shared/contracts/seed004'
import type { ApiError } from '~/utils/apiError'

const REFRESH_MS = 5000

/**
 * The watched Valkey clusters for the cluster view, each with its own nodes: seed 004's node
 * list (roles, slots, replica links) and metrics, read every 5 s while the page is open.
 * `message` says why there are no nodes (Valkey not configured, not in cluster mode);
 * `loadError` holds the last failed read's message while the last good figures stay shown.
 */
export function useValkeyCluster() {
  const { $api } = useNuxtApp()
  const nodes = shallowRef<ClusterNode[]>([])
  const metrics = shallowRef<ClusterMetricsData | null>(null)
  const message = ref<string | null>(null)
  const loaded = ref(false)
  const loadError = ref<ApiError | null>(null)

  async function refresh() {
    try {
      const [list, all] = await Promise.all([
        $api<SeedEnvelope<ClusterNodesData>>('/api/cluster/nodes?kind=valkey'),
        $api<SeedEnvelope<ClusterMetricsData>>('/api/cluster/nodes/metrics'),
      ])
      // ?kind=valkey lists only Valkey entries, which carry no `kind`.
      nodes.value = list.data.nodes.filter((n): n is ClusterNode => !('kind' in n))
      metrics.value = all.data
      message.value = list.data.message ?? all.data.message ?? null
      loadError.value = null
    }
    catch (error) {
      loadError.value = toApiError(error)
    }
    finally {
      loaded.value = true
    }
  }
  usePolling(refresh, REFRESH_MS)

  const clusters = computed(() => byCluster(metrics.value?.clusters ?? [], nodes.value, metrics.value?.nodes ?? []))
  return { nodes, metrics, clusters, message, loaded, loadError, refresh }
}
