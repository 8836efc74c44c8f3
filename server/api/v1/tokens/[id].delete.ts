import { idParam } from '../../../../shared/contracts/common'
import { useApiTokens } from '../../../services/auth/apiTokens'

export default defineEventHandler(async (event) => {
  requireAdmin(event)
  const { id } = readParams(event, idParam)
  await (await useApiTokens()).remove(id)
  setResponseStatus(event, 204)
  return null
})
