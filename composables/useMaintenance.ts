import type { NodeView } from '~~/shared/contracts/rest'

/**
 * Which nodes are in maintenance (their status changes are logged but do not alert), and the
 * admin switch. The list is read once and again whenever a node_maintenance event arrives, so
 * every view agrees with the Nodes page without polling.
 */
export function useMaintenance() {
  const { $api } = useNuxtApp()
  const store = useEventsStore()
  const { items, refresh } = useApiList<NodeView>('/api/v1/nodes')
  onMounted(refresh)

  const newest = computed(() => store.events.find(e => e.event_type === 'node_maintenance')?.id ?? null)
  watch(newest, () => void refresh())

  /** Switches maintenance on or off (admins only); resolves to the node as it now is. */
  async function setMaintenance(id: number, maintenance: boolean): Promise<NodeView> {
    const node = await $api<NodeView>(`/api/v1/nodes/${id}`, { method: 'PATCH', body: { maintenance } })
    await refresh()
    return node
  }

  return {
    /** Ids of the nodes in maintenance. */
    inMaintenance: computed(() => new Set(items.value.filter(n => n.maintenance).map(n => n.id))),
    setMaintenance,
  }
}
