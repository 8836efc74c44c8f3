import { idParam } from '../../../../shared/contracts/common'

export default defineEventHandler(async (event) => {
  requireAdmin(event)
  const { id } = readParams(event, idParam)
  const { nodes, masterId } = await services()
  await findNode(id)
  await withNodeConflicts(() => nodes.remove(id, masterId))
  setResponseStatus(event, 204)
  return null
})
