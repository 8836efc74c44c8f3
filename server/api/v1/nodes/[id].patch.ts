import { idParam } from '../../../../shared/contracts/common'
import { updateNodeBody } from '../../../../shared/contracts/rest'
import { toNodeView } from '../../../services/registry'

export default defineEventHandler(async (event) => {
  requireAdmin(event)
  const { id } = readParams(event, idParam)
  const body = await readJson(event, updateNodeBody)
  const { nodes, config } = await services()
  await findNode(id)
  const node = await withNodeConflicts(() => nodes.update(id, body))
  if (!node) throw createError({ statusCode: 404, message: `Node ${id} not found` })
  return toNodeView(node, Date.now(), config.staleAfterSeconds)
})
