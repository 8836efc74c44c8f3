import { idParam } from '../../../../../shared/contracts/common'

/** Rotates a node's agent token: the old one stops working now; the new one is in this response only. */
export default defineEventHandler(async (event) => {
  requireAdmin(event)
  const { id } = readParams(event, idParam)
  const { nodes } = await services()
  await findNode(id)
  const rotated = await withNodeConflicts(() => nodes.rotateToken(id))
  if (!rotated) throw createError({ statusCode: 404, message: `Node ${id} not found` })
  return { id, hostname: rotated.node.hostname, token: rotated.token }
})
