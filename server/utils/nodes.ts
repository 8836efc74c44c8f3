import { isError, type EventHandler, type H3Event } from 'h3'
import type { NodeView } from '../../shared/contracts/rest'
import { hashToken, safeEqualHex } from '../services/crypto'
import { DomainError } from '../services/errors'
import { useNodes } from '../services/nodes'
import { useMetrics } from '../services/prometheus'
import { useRegistry, type NodeState } from '../services/registry'
import { useRequestLog } from '../services/requestLog'

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

/** The status and message an error is answered with (server/error.ts's rule: a 5xx shows no internals). */
function answerOf(error: unknown): { status: number, message: string } {
  const status = error instanceof DomainError || isError(error) ? error.statusCode : 500
  const message = status >= 500 && !(error instanceof DomainError) ? 'Internal server error' : error instanceof Error ? error.message : String(error)
  return { status, message }
}

/** The node id a URL names (`/api/v1/nodes/{id}/…`), null when it names none. */
function urlNode(event: H3Event): number | null {
  const raw = getRouterParam(event, 'id') ?? ''
  return /^\d{1,9}$/.test(raw) ? Number(raw) : null
}

/**
 * The handler of an agent's request: each one answered, accepted or refused, goes to seed 001's
 * request log (never its token or body); with `countRefusals` (stats reports) every refusal is
 * also counted by status for /metrics and the stats channel.
 */
export function defineAgentHandler<T>(handler: (event: H3Event) => Promise<T>, opts: { countRefusals?: boolean } = {}): EventHandler {
  return defineEventHandler(async (event) => {
    const started = performance.now()
    const at = new Date()
    const log = (status: number, message: string) => void useRequestLog().then(l => l.record({
      nodeId: urlNode(event), method: event.method, endpoint: event.path.split('?')[0]!, statusCode: status,
      latencyMs: performance.now() - started, errorMessage: message, at,
    }), () => {})
    try {
      const result = await handler(event)
      log(getResponseStatus(event), '')
      return result
    }
    catch (error) {
      const { status, message } = answerOf(error)
      if (opts.countRefusals) (await useMetrics().catch(() => undefined))?.rejectReport(status)
      log(status, message)
      throw error
    }
  })
}

/** The handler of agents' stats reports: logged, and every refusal counted by status for /metrics. */
export function defineReportHandler<T>(handler: (event: H3Event) => Promise<T>): EventHandler {
  return defineAgentHandler(handler, { countRefusals: true })
}
