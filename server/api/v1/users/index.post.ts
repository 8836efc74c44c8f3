import { createUserBody } from '../../../../shared/contracts/rest'
import { ConflictError, toUserView } from '../../../services/auth'

export default defineEventHandler(async (event) => {
  requireAdmin(event)
  const body = await readJson(event, createUserBody)
  const { auth } = await services()
  try {
    const user = await auth.createUser(body.username, body.password, body.role)
    setResponseStatus(event, 201)
    return toUserView(user)
  }
  catch (error) {
    if (error instanceof ConflictError) throw createError({ statusCode: 409, message: `A user named "${body.username}" already exists` })
    throw error
  }
})
