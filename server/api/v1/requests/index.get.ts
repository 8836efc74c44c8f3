import { requestLogQuery, type RequestLogPage } from '../../../../shared/contracts/rest'
import { useRequestLog } from '../../../services/requestLog'

/** The request log (every agent request answered, accepted or refused), newest first, by node and status. */
export default defineEventHandler(async (event): Promise<RequestLogPage> => {
  const query = readQueryAs(event, requestLogQuery)
  return (await useRequestLog()).list(query)
})
