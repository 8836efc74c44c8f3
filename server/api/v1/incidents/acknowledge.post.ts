import { incidentFilterQuery, type AcknowledgeAllAnswer } from '../../../../shared/contracts/incidents'
import { useIncidents } from '../../../services/incidents'

/** Acknowledges every unacknowledged incident the query's filter matches (admins); the same filters as the list. */
export default defineEventHandler(async (event): Promise<AcknowledgeAllAnswer> => {
  const principal = requireAdmin(event)
  const filter = readQueryAs(event, incidentFilterQuery)
  return (await useIncidents()).acknowledgeAll(filter, principal.username)
})
