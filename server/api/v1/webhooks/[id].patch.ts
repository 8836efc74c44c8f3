import { idParam } from '../../../../shared/contracts/common'
import { updateWebhookBody, type WebhookView } from '../../../../shared/contracts/rest'
import { useWebhooks } from '../../../services/webhooks'

export default defineEventHandler(async (event): Promise<WebhookView> => {
  requireAdmin(event)
  const { id } = readParams(event, idParam)
  const body = await readJson(event, updateWebhookBody)
  return (await useWebhooks()).update(id, body)
})
