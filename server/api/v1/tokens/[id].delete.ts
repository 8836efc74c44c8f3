import { idParam } from '../../../../shared/contracts/common'

export default defineEventHandler(async (event) => {
  requireAdmin(event)
  const { id } = readParams(event, idParam)
  const { auth } = await services()
  if (!(await auth.deleteApiToken(id))) throw createError({ statusCode: 404, message: `Token ${id} not found` })
  setResponseStatus(event, 204)
  return null
})
