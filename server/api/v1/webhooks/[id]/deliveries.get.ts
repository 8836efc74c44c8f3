import { idParam } from '../../../../../shared/contracts/common'
import { deliveriesQuery, type DeliveryPage } from '../../../../../shared/contracts/rest'
import { useWebhooks } from '../../../../services/webhooks'

/** A webhook's deliveries, newest first; `next_cursor` pages to older ones. */
export default defineEventHandler(async (event): Promise<DeliveryPage> => {
  const { id } = readParams(event, idParam)
  const query = readQueryAs(event, deliveriesQuery)
  return (await useWebhooks()).deliveries(id, query)
})
