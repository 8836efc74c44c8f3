import { createUserBody, type UserView } from '../../../../shared/contracts/rest'
import { useUsers } from '../../../services/auth/users'

export default defineEventHandler(async (event): Promise<UserView> => {
  requireAdmin(event)
  const body = await readJson(event, createUserBody)
  const user = await (await useUsers()).create(body.username, body.password, body.role)
  setResponseStatus(event, 201)
  return user
})
