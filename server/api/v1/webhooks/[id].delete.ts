import { idParam } from '../../../../shared/contracts/common'

/** Deletes a webhook with its delivery history; pending deliveries are dropped. */
export default defineEventHandler(async (event) => {
  requireAdmin(event)
  const { id } = readParams(event, idParam)
  const { webhooks } = await services()
  if (!(await webhooks.remove(id))) throw createError({ statusCode: 404, message: `Webhook ${id} not found` })
  setResponseStatus(event, 204)
  return null
})
