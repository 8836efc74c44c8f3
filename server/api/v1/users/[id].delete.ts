import { idParam } from '../../../../shared/contracts/common'
import { useUsers } from '../../../services/auth/users'

/** Deletes a user and their tokens; not one's own account, nor the last admin. */
export default defineEventHandler(async (event) => {
  const admin = requireAdmin(event)
  const { id } = readParams(event, idParam)
  await (await useUsers()).remove(id, admin.userId)
  setResponseStatus(event, 204)
  return null
})
