import type { CreatedNode, NodeView, NodeWithDetail, RotatedNodeToken, UpdateNodeBody } from '../../shared/contracts/rest'
import { generateToken, hashToken } from './crypto'
import { ConflictError, NotFoundError } from './errors'
import type { EventLog } from './events'
import { toNodeView, type NodeState, type Registry } from './registry'
import { startedInstance } from './started'
import type { StatusThresholds } from './status'

/** Registers this host as the master node; its first registration is an event. */
export async function registerMaster(registry: Registry, log: EventLog, hostname: string): Promise<NodeState> {
  const known = registry.list().some(n => n.kind === 'master' && n.hostname === hostname)
  const master = await registry.ensureMaster(hostname)
  if (!known) await log.record({ type: 'node_registered', severity: 'info', nodeId: master.id, message: `Master node ${master.hostname} added`, data: { hostname: master.hostname } })
  return master
}

/** Node management on top of the registry, as the REST API sees it: views, tokens, events and the master's protections. */
export function createNodeService(registry: Registry, log: EventLog, opts: StatusThresholds & { masterId: number }) {
  const view = (node: NodeState) => toNodeView(node, Date.now(), opts)
  const notFound = (id: number) => new NotFoundError(`Node ${id} not found`)
  const existing = (id: number): NodeState => {
    const node = registry.get(id)
    if (!node) throw notFound(id)
    return node
  }
  // Agents and masters are named by operators; member and Valkey nodes by where they were found.
  const assertNameFree = (hostname: string, except?: number) => {
    const taken = registry.list().find(n => n.id !== except && (n.kind === 'agent' || n.kind === 'master') && n.hostname.toLowerCase() === hostname.toLowerCase())
    if (taken) throw new ConflictError(`A node named ${taken.hostname} already exists (id ${taken.id}): choose another hostname, or use that node's token`)
  }

  return {
    /** Every node with its status and latest figures, by id. */
    list(): NodeView[] {
      const now = Date.now()
      return registry.list().map(n => toNodeView(n, now, opts))
    },

    /** One node. */
    get(id: number): NodeView {
      return view(existing(id))
    },

    /** One node with its latest sample's host detail. */
    getWithDetail(id: number): NodeWithDetail {
      const node = existing(id)
      return { ...view(node), detail: node.latest?.detail ?? null }
    },

    /** Creates an agent node (its hostname not taken by another agent or master); its agent token is returned once. */
    async createAgent(hostname: string, labels: Record<string, string> = {}): Promise<CreatedNode> {
      assertNameFree(hostname)
      const token = generateToken('agent')
      const node = await registry.create({ hostname, kind: 'agent', labels, agentTokenHash: hashToken(token) })
      await log.record({ type: 'node_registered', severity: 'info', nodeId: node.id, clusterId: labels.cluster ?? null, message: `Node ${hostname} added`, data: { hostname } })
      return { ...view(node), token }
    },

    /**
     * Changes hostname, labels and/or maintenance mode; the master's name comes from its host, so
     * it cannot be renamed here.
     */
    async update(id: number, patch: UpdateNodeBody): Promise<NodeView> {
      const before = existing(id)
      if (before.kind === 'master' && patch.hostname !== undefined && patch.hostname !== before.hostname) {
        throw new ConflictError('The master node is named after its host: set NODEPULSE_HOSTNAME and restart NodePulse to rename it (its labels can be changed here)')
      }
      if (patch.hostname !== undefined && (before.kind === 'agent' || before.kind === 'master')) assertNameFree(patch.hostname, id)
      const wasInMaintenance = before.maintenance
      const node = await registry.update(id, patch)
      if (!node) throw notFound(id)
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
      return view(node)
    },

    /** Replaces an agent's token; the old one stops working at once. */
    async rotateToken(id: number): Promise<RotatedNodeToken> {
      const kind = existing(id).kind
      if (kind !== 'agent') throw new ConflictError(kind === 'valkey' ? 'A Valkey node is polled by NodePulse and has no agent token' : 'The master node is sampled by NodePulse itself and has no agent token')
      const token = generateToken('agent')
      const node = await registry.update(id, { agentTokenHash: hashToken(token) })
      if (!node) throw notFound(id)
      await log.record({ type: 'node_token_rotated', severity: 'info', nodeId: id, clusterId: node.labels.cluster ?? null, message: `Agent token of ${node.hostname} rotated`, data: { hostname: node.hostname } })
      return { id, hostname: node.hostname, token }
    },

    /** Deletes a node with its samples; the master of a running instance cannot be deleted. */
    async remove(id: number): Promise<void> {
      const node = existing(id)
      if (id === opts.masterId) throw new ConflictError('This is the master node (the host NodePulse runs on); it cannot be deleted while NodePulse runs')
      const removed = await registry.remove(id)
      if (removed) await log.record({ type: 'node_removed', severity: 'warning', nodeId: id, clusterId: node.labels.cluster ?? null, message: `Node ${node.hostname} removed`,
        // The node's labels go with it: channels and silences that select by label still find its last event.
        data: { hostname: node.hostname, labels: node.labels } })
    },
  }
}

export type NodeService = ReturnType<typeof createNodeService>

const running = startedInstance<NodeService>()
/** The running node service (503 until start-up has finished). */
export const useNodes = running.use
/** Publishes the running node service (start-up) or withdraws it (stop). */
export const setNodes = running.set
