import { idParam } from '../../../../../shared/contracts/common'
import type { WebhookWithSecret } from '../../../../../shared/contracts/rest'
import { useWebhooks } from '../../../../services/webhooks'

/** Replaces the signing secret; the answer is the only place the new one is shown. */
export default defineEventHandler(async (event): Promise<WebhookWithSecret> => {
  requireAdmin(event)
  const { id } = readParams(event, idParam)
  return (await useWebhooks()).rotateSecret(id)
})
