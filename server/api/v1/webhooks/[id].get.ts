import { idParam } from '../../../../shared/contracts/common'

export default defineEventHandler(async (event) => {
  const { id } = readParams(event, idParam)
  const { webhooks } = await services()
  return webhookFor(event, webhookOr404(await webhooks.get(id), id))
})
