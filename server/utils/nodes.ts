import type { H3Event } from 'h3'
import { hashToken, safeEqualHex } from '../services/crypto'
import { NodeConflictError } from '../services/nodes'
import type { NodeState } from '../services/registry'

/** The node with this id, or 404. */
export async function findNode(id: number): Promise<NodeState> {
  const node = (await services()).registry.get(id)
  if (!node) throw createError({ statusCode: 404, message: `Node ${id} not found` })
  return node
}

/** Runs a node action, turning a refusal due to the node's kind into 409. */
export async function withNodeConflicts<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action()
  }
  catch (error) {
    if (error instanceof NodeConflictError) throw createError({ statusCode: 409, message: error.message })
    throw error
  }
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
  const { registry } = await services()
  const hash = hashToken(token)
  const node = registry.get(id)
  if (node?.agentTokenHash && safeEqualHex(node.agentTokenHash, hash)) return node
  const owner = registry.findByTokenHash(hash)
  if (!owner) throw invalid()
  if (!node) throw createError({ statusCode: 404, message: `Node ${id} not found` })
  throw createError({ statusCode: 403, message: `This token belongs to another node and cannot report for node ${id}` })
}
