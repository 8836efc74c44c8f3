import { createWebhookBody } from '../../../../shared/contracts/rest'

/** Adds a webhook; its signing secret is in this response (and in a rotation's) only. */
export default defineEventHandler(async (event) => {
  requireAdmin(event)
  const body = await readJson(event, createWebhookBody)
  const { webhooks } = await services()
  setResponseStatus(event, 201)
  return webhooks.create(body)
})
