import { idParam } from '../../../../shared/contracts/common'
import { updateNodeBody, type NodeView } from '../../../../shared/contracts/rest'
import { useNodes } from '../../../services/nodes'

export default defineEventHandler(async (event): Promise<NodeView> => {
  requireAdmin(event)
  const { id } = readParams(event, idParam)
  const body = await readJson(event, updateNodeBody)
  return (await useNodes()).update(id, body)
})
