import { idParam } from '../../../../shared/contracts/common'
import { updateWebhookBody } from '../../../../shared/contracts/rest'

export default defineEventHandler(async (event) => {
  requireAdmin(event)
  const { id } = readParams(event, idParam)
  const body = await readJson(event, updateWebhookBody)
  const { webhooks } = await services()
  return webhookOr404(await webhooks.update(id, body), id)
})
