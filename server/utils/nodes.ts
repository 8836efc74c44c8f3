import { isError, type EventHandler, type H3Event } from 'h3'
import type { NodeView } from '../../shared/contracts/rest'
import { hashToken, safeEqualHex } from '../services/crypto'
import { DomainError } from '../services/errors'
import { useNodes } from '../services/nodes'
import { useMetrics } from '../services/prometheus'
import { useRegistry, type NodeState } from '../services/registry'

/** The node with this id, or 404 (the per-node stream checks it before the stream starts). */
export async function findNode(id: number): Promise<NodeView> {
  return (await useNodes()).get(id)
}

/**
 * Checks an agent's `Authorization: Bearer <node token>` for node `id`:
 * 401 without a valid agent token, 404 for an unknown node, 403 for another node's token.
 * The token's SHA-256 is compared with node `id`'s stored hash in constant time; only a token
 * that does not match is looked up by its hash, to tell an unknown token from another node's.
 */
export async function requireAgent(event: H3Event, id: number): Promise<NodeState> {
  const header = getRequestHeader(event, 'authorization')
  const token = header && /^Bearer\s+(\S+)$/i.exec(header)?.[1]
  if (!token) throw createError({ statusCode: 401, message: 'Send the node\'s agent token as Authorization: Bearer <token>' })
  const invalid = () => createError({ statusCode: 401, message: 'Invalid agent token' })
  if (token.length > 200) throw invalid()
  const registry = await useRegistry()
  const hash = hashToken(token)
  const node = registry.get(id)
  if (node?.agentTokenHash && safeEqualHex(node.agentTokenHash, hash)) return node
  const owner = registry.findByTokenHash(hash)
  if (!owner) throw invalid()
  if (!node) throw createError({ statusCode: 404, message: `Node ${id} not found` })
  throw createError({ statusCode: 403, message: `This token belongs to another node and cannot report for node ${id}` })
}

/** The handler of agents' stats reports, with every refusal (any error answer) counted by status for /metrics. */
export function defineReportHandler<T>(handler: (event: H3Event) => Promise<T>): EventHandler {
  return defineEventHandler(async (event) => {
    const metrics = await useMetrics()
    try {
      return await handler(event)
    }
    catch (error) {
      metrics.rejectReport(isError(error) || error instanceof DomainError ? error.statusCode : 500)
      throw error
    }
  })
}
