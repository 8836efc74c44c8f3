import type { ClusterNodesData, SeedEnvelope } from '~~/shared/contracts/seed004'

const REACHABILITY = new Set(['node_reachable', 'node_unreachable'])

/**
 * The members (seed 003) whose last poll failed, by name, each with the reason (its `last_error`):
 * read from the cluster node list, and again whenever a member's reachability changes (its event
 * arrives on the global stream).
 */
export function useUnreachableMembers() {
  const { $api } = useNuxtApp()
  const store = useEventsStore()
  const unreachable = shallowRef<ReadonlyMap<string, string>>(new Map())

  async function refresh() {
    try {
      const body = await $api<SeedEnvelope<ClusterNodesData>>('/api/cluster/nodes', { query: { kind: 'member' } })
      unreachable.value = new Map(body.data.nodes.flatMap(n => ('member' in n && n.member && n.reachable === false ? [[n.member, n.last_error ?? '']] : [])))
    }
    catch {
      // The tags keep the last known state; the events still say what changed.
    }
  }
  onMounted(refresh)
  const newest = computed(() => store.events.find(e => e.resource_type === 'member' && REACHABILITY.has(e.event_type))?.id ?? null)
  watch(newest, () => void refresh())
  return unreachable
}
