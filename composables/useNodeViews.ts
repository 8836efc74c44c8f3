import type { NodeView } from '~~/shared/contracts/rest'
import { valkeyRoleOf, type ValkeyRole } from '~~/shared/contracts/seed004'
import { labelKeys, shownLabels, type Labels } from '~/utils/labels'

// Events after which the REST list differs: maintenance switched, a node added or relabelled, a Valkey role changed.
const CHANGES = new Set(['node_maintenance', 'node_registered', 'node_updated', 'valkey_failover', 'valkey_node_up', 'valkey_node_joined'])

/**
 * The REST node list, for what the live stream's summaries lack (maintenance, labels, member): read once
 * and again whenever an event that changes it arrives, so every view agrees with the Nodes page
 * without polling.
 */
export function useNodeViews() {
  const store = useEventsStore()
  const { items, loaded, loadError, refresh } = useApiList<NodeView>('/api/v1/nodes')
  onMounted(refresh)

  const newest = computed(() => store.events.find(e => CHANGES.has(e.event_type))?.id ?? null)
  watch(newest, () => void refresh())

  return {
    refresh,
    /** The list itself, whether it has been read, and why the latest read failed. */
    nodes: items,
    loaded,
    loadError,
    /** Ids of the nodes in maintenance. */
    inMaintenance: computed(() => new Set(items.value.filter(n => n.maintenance).map(n => n.id))),
    /** The member each member node came through (seed 003), by node id; this server's own nodes are absent. */
    members: computed<ReadonlyMap<number, string>>(() => new Map(items.value.flatMap((n): [number, string][] => {
      const member = n.kind === 'member' ? n.labels.member : undefined
      return member ? [[n.id, member]] : []
    }))),
    /** Each node's labels, by id (for the search and the groups). */
    labels: computed<ReadonlyMap<number, Labels>>(() => new Map(items.value.map(n => [n.id, n.labels]))),
    /** The label chips each card shows, by id (nodes without any are absent). */
    chips: computed<ReadonlyMap<number, [string, string][]>>(() => new Map(items.value.flatMap((n): [number, [string, string][]][] => {
      const shown = shownLabels(n)
      return shown.length ? [[n.id, shown]] : []
    }))),
    /** Every label key in use, for "Group by". */
    labelKeys: computed(() => labelKeys(items.value)),
    /** Each Valkey node's role, by node id. */
    valkeyRoles: computed(() => new Map(items.value.flatMap((n): [number, ValkeyRole][] => {
      const role = valkeyRoleOf(n.labels)
      return role ? [[n.id, role]] : []
    }))),
  }
}
