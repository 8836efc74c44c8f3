import { idParam } from '../../../../../shared/contracts/common'
import type { DeliveryView } from '../../../../../shared/contracts/rest'
import { useWebhookDispatcher } from '../../../../services/webhookDispatcher'

/** Sends a `webhook_test` event now (one attempt) and answers with the recorded delivery. */
export default defineEventHandler(async (event): Promise<DeliveryView> => {
  requireAdmin(event)
  const { id } = readParams(event, idParam)
  return (await useWebhookDispatcher()).sendTest(id)
})
