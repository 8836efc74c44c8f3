import { idParam } from '../../../../../shared/contracts/common'

/** Sends a `webhook_test` event now (one attempt) and answers with the recorded delivery. */
export default defineEventHandler(async (event) => {
  requireAdmin(event)
  const { id } = readParams(event, idParam)
  const { webhooks } = await services()
  return webhookOr404(await webhooks.sendTest(id), id)
})
