import { idParam } from '../../../../shared/contracts/common'

export default defineEventHandler(async (event) => {
  const admin = requireAdmin(event)
  const { id } = readParams(event, idParam)
  if (id === admin.userId) throw createError({ statusCode: 409, message: 'You cannot delete your own account; another admin can' })
  const { auth } = await services()
  const result = await auth.deleteUser(id)
  if (result === 'missing') throw createError({ statusCode: 404, message: `User ${id} not found` })
  if (result === 'last-admin') throw createError({ statusCode: 409, message: 'This is the last admin; create another admin before deleting it' })
  setResponseStatus(event, 204)
  return null
})
