import type { NodeView } from '~~/shared/contracts/rest'

/**
 * Which nodes are in maintenance (their status changes are logged but do not alert), and the
 * admin switch; the list is {@link useNodeViews}'.
 */
export function useMaintenance() {
  const { $api } = useNuxtApp()
  const { inMaintenance, refresh } = useNodeViews()

  /** Switches maintenance on or off (admins only); resolves to the node as it now is. */
  async function setMaintenance(id: number, maintenance: boolean): Promise<NodeView> {
    const node = await $api<NodeView>(`/api/v1/nodes/${id}`, { method: 'PATCH', body: { maintenance } })
    await refresh()
    return node
  }

  return { inMaintenance, setMaintenance }
}
