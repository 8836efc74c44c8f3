import { generateToken, hashToken } from './crypto'
import type { EventLog } from './events'
import type { NodeState, Registry } from './registry'

/** Refusal of an action that conflicts with a node's kind (maps to 409). */
export class NodeConflictError extends Error {}

/** Node management on top of the registry: tokens, events and the master's protections. */
export function createNodeService(registry: Registry, log: EventLog) {
  return {
    /** Creates an agent node; its agent token is returned once. */
    async createAgent(hostname: string, labels: Record<string, string> = {}): Promise<{ node: NodeState, token: string }> {
      const token = generateToken('agent')
      const node = await registry.create({ hostname, kind: 'agent', labels, agentTokenHash: hashToken(token) })
      await log.record({ type: 'node_registered', severity: 'info', nodeId: node.id, clusterId: labels.cluster ?? null, message: `Node ${hostname} registered`, data: { hostname } })
      return { node, token }
    },

    /**
     * Changes hostname, labels and/or maintenance mode; the master's name comes from its host, so
     * it cannot be renamed here.
     */
    async update(id: number, patch: { hostname?: string, labels?: Record<string, string>, maintenance?: boolean }): Promise<NodeState | undefined> {
      const existing = registry.get(id)
      if (!existing) return undefined
      if (existing.kind === 'master' && patch.hostname !== undefined && patch.hostname !== existing.hostname) {
        throw new NodeConflictError('The master node is named after its host: set NODEPULSE_HOSTNAME and restart NodePulse to rename it (its labels can be changed here)')
      }
      const wasInMaintenance = existing.maintenance
      const node = await registry.update(id, patch)
      if (!node) return undefined
      const clusterId = node.labels.cluster ?? null
      if (patch.hostname !== undefined || patch.labels !== undefined) {
        await log.record({ type: 'node_updated', severity: 'info', nodeId: id, clusterId, message: `Node ${node.hostname} updated`, data: { hostname: node.hostname, labels: node.labels } })
      }
      if (patch.maintenance !== undefined && patch.maintenance !== wasInMaintenance) {
        await log.record({
          type: 'node_maintenance', severity: 'info', nodeId: id, clusterId,
          message: node.maintenance ? `Node ${node.hostname} entered maintenance: its alerts are muted` : `Node ${node.hostname} left maintenance: its alerts are on again`,
          data: { hostname: node.hostname, maintenance: node.maintenance },
        })
      }
      return node
    },

    /** Replaces an agent's token; the old one stops working at once. */
    async rotateToken(id: number): Promise<{ node: NodeState, token: string } | undefined> {
      const existing = registry.get(id)
      if (!existing) return undefined
      if (existing.kind !== 'agent') throw new NodeConflictError('The master node is sampled by NodePulse itself and has no agent token')
      const token = generateToken('agent')
      const node = await registry.update(id, { agentTokenHash: hashToken(token) })
      if (!node) return undefined
      await log.record({ type: 'node_token_rotated', severity: 'info', nodeId: id, clusterId: node.labels.cluster ?? null, message: `Agent token of ${node.hostname} rotated`, data: { hostname: node.hostname } })
      return { node, token }
    },

    /** Deletes a node with its samples; the master of a running instance cannot be deleted. */
    async remove(id: number, masterId: number): Promise<boolean> {
      const node = registry.get(id)
      if (id === masterId) throw new NodeConflictError('This is the master node (the host NodePulse runs on); it cannot be deleted while NodePulse runs')
      const removed = await registry.remove(id)
      if (removed) await log.record({ type: 'node_removed', severity: 'warning', nodeId: id, clusterId: node?.labels.cluster ?? null, message: `Node ${node?.hostname ?? id} removed`, data: { hostname: node?.hostname ?? null } })
      return removed
    },
  }
}

export type NodeService = ReturnType<typeof createNodeService>
