import { idParam } from '../../../../../shared/contracts/common'

/** Replaces the signing secret; the answer is the only place the new one is shown. */
export default defineEventHandler(async (event) => {
  requireAdmin(event)
  const { id } = readParams(event, idParam)
  const { webhooks } = await services()
  return webhookOr404(await webhooks.rotateSecret(id), id)
})
