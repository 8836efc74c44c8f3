import type { AlertRuleView, CreateAlertRuleBody, UpdateAlertRuleBody } from '~~/shared/contracts/alerts'
import type { NodeView } from '~~/shared/contracts/rest'

/** What an admin's buttons on a rule ask the page to do. */
export type AlertRuleAction = 'edit' | 'toggle' | 'remove'

/** The leader evaluates the rules after each rollup (every 15 s); the list is read as often. */
const REFRESH_MS = 15_000

/**
 * The threshold alert rules with the nodes each is firing for, kept fresh by polling and at once
 * when the event stream brings a `threshold_exceeded` or `threshold_recovered`; the node list
 * names the nodes (hostnames for ids). Everyone reads; the actions are for admins.
 */
export function useAlertRules() {
  const { $api } = useNuxtApp()
  const { items: rules, loaded, loadError, refresh: refreshRules } = useApiList<AlertRuleView>('/api/v1/alerts/rules')
  const { items: nodes, refresh: refreshNodes } = useApiList<NodeView>('/api/v1/nodes')
  const hostnames = computed(() => new Map(nodes.value.map(n => [n.id, n.hostname])))

  /** Reads the rules, and the nodes too when a rule names one not known yet (a node added since). */
  async function refresh() {
    await refreshRules()
    const known = hostnames.value
    const unknown = rules.value.some(r => r.firing.some(f => !known.has(f.node_id)) || (r.nodes !== 'all' && 'ids' in r.nodes && r.nodes.ids.some(id => !known.has(id))))
    if (unknown) await refreshNodes()
  }

  onMounted(() => void refreshNodes())
  usePolling(refresh, REFRESH_MS)
  const store = useEventsStore()
  const newestThresholdEvent = computed(() => store.events.find(e => e.event_type === 'threshold_exceeded' || e.event_type === 'threshold_recovered')?.id)
  watch(newestThresholdEvent, () => void refresh())

  async function create(body: CreateAlertRuleBody): Promise<AlertRuleView> {
    const created = await $api<AlertRuleView>('/api/v1/alerts/rules', { method: 'POST', body })
    await refresh()
    return created
  }

  async function update(id: number, patch: UpdateAlertRuleBody): Promise<AlertRuleView> {
    const updated = await $api<AlertRuleView>(`/api/v1/alerts/rules/${id}`, { method: 'PATCH', body: patch })
    await refresh()
    return updated
  }

  async function remove(id: number): Promise<void> {
    await $api(`/api/v1/alerts/rules/${id}`, { method: 'DELETE' })
    await refresh()
  }

  return { rules, loaded, loadError, refresh, nodes, hostnames, refreshNodes, create, update, remove }
}
