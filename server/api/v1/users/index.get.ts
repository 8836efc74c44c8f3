import type { UserView } from '../../../../shared/contracts/rest'
import { useUsers } from '../../../services/auth/users'

export default defineEventHandler(async (event): Promise<UserView[]> => {
  requireAdmin(event)
  return (await useUsers()).list()
})
