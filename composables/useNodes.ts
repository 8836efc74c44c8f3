import type { NodeView } from '~~/shared/contracts/rest'

/** A node's agent token as the server shows it once (after adding the node or rotating). */
export interface RevealedNodeToken { id: number, hostname: string, token: string }

const REFRESH_MS = 5000

/** The node list, refreshed every 5 s while the page is open, and the admin actions on nodes. */
export function useNodes() {
  const { $api } = useNuxtApp()
  const { items: nodes, loaded, loadError, refresh } = useApiList<NodeView>('/api/v1/nodes')
  usePolling(refresh, REFRESH_MS)

  async function create(hostname: string, labels: Record<string, string>): Promise<RevealedNodeToken> {
    const node = await $api<NodeView & { token: string }>('/api/v1/nodes', { method: 'POST', body: { hostname, labels } })
    await refresh()
    return { id: node.id, hostname: node.hostname, token: node.token }
  }

  async function rotateToken(id: number): Promise<RevealedNodeToken> {
    return await $api<RevealedNodeToken>(`/api/v1/nodes/${id}/token`, { method: 'POST' })
  }

  /** Switches a node's maintenance mode: its status changes are then logged but do not alert. */
  async function setMaintenance(id: number, maintenance: boolean): Promise<void> {
    await $api<NodeView>(`/api/v1/nodes/${id}`, { method: 'PATCH', body: { maintenance } })
    await refresh()
  }

  async function remove(id: number): Promise<void> {
    await $api(`/api/v1/nodes/${id}`, { method: 'DELETE' })
    await refresh()
  }

  return { nodes, loaded, loadError, refresh, create, rotateToken, setMaintenance, remove }
}
