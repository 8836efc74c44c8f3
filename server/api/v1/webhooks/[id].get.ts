import { idParam } from '../../../../shared/contracts/common'
import type { WebhookView } from '../../../../shared/contracts/rest'
import { useWebhooks } from '../../../services/webhooks'

/** One webhook with its newest delivery (viewers see only its URL's origin). */
export default defineEventHandler(async (event): Promise<WebhookView> => {
  const { id } = readParams(event, idParam)
  return (await useWebhooks()).get(id, requirePrincipal(event).role)
})
