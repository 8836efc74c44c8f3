import { z } from 'zod'
import { idParam } from '../../../../../shared/contracts/common'

const QuerySchema = z.object({
  cursor: z.string().regex(/^[1-9]\d{0,9}$/, 'must be a next_cursor value from a previous page').transform(Number).optional(),
  limit: z.string().regex(/^\d+$/, 'must be a whole number').transform(Number)
    .pipe(z.number().min(1, 'must be at least 1').max(200, 'must be at most 200')).optional(),
})

/** A webhook's deliveries, newest first; `next_cursor` pages to older ones. */
export default defineEventHandler(async (event) => {
  const { id } = readParams(event, idParam)
  const query = readQueryAs(event, QuerySchema)
  const { webhooks } = await services()
  return webhookOr404(await webhooks.deliveries(id, query), id)
})
