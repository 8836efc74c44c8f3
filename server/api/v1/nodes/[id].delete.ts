import { idParam } from '../../../../shared/contracts/common'
import { useNodes } from '../../../services/nodes'

export default defineEventHandler(async (event) => {
  requireAdmin(event)
  const { id } = readParams(event, idParam)
  await (await useNodes()).remove(id)
  setResponseStatus(event, 204)
  return null
})
