import { fleetHistoryQuery } from '../../../shared/contracts/history'
import { useHistory } from '../../services/history'

/**
 * One metric across nodes (ids, a label, or all) over a range, on shared buckets, for comparison:
 * a FleetHistory, handed over as the JSON text the service builds (no objects per bucket).
 */
export default defineEventHandler(async (event): Promise<string> => {
  const query = readQueryAs(event, fleetHistoryQuery)
  const text = await (await useHistory()).fleetHistoryJson(query)
  setResponseHeader(event, 'content-type', 'application/json')
  return text
})
