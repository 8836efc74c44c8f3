import { idParam } from '../../../../shared/contracts/common'
import { useWebhooks } from '../../../services/webhooks'

/** Deletes a webhook with its delivery history; pending deliveries are dropped. */
export default defineEventHandler(async (event) => {
  requireAdmin(event)
  const { id } = readParams(event, idParam)
  await (await useWebhooks()).remove(id)
  setResponseStatus(event, 204)
  return null
})
