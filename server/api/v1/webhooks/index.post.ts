import { createWebhookBody, type WebhookWithSecret } from '../../../../shared/contracts/rest'
import { useWebhooks } from '../../../services/webhooks'

/** Adds a webhook; its signing secret is in this response (and in a rotation's) only. */
export default defineEventHandler(async (event): Promise<WebhookWithSecret> => {
  requireAdmin(event)
  const body = await readJson(event, createWebhookBody)
  const created = await (await useWebhooks()).create(body)
  setResponseStatus(event, 201)
  return created
})
