import { requestLogQuery, type FailingAgent } from '../../../../shared/contracts/rest'
import { useRequestLog } from '../../../services/requestLog'

const Query = requestLogQuery.pick({ node_id: true })

/** The agents the request log holds refusals for, by node and status, with the newest message. */
export default defineEventHandler(async (event): Promise<FailingAgent[]> => {
  const query = readQueryAs(event, Query)
  return (await useRequestLog()).failing(query)
})
