import { fleetHistoryQuery, type FleetHistory } from '../../../shared/contracts/history'
import { useHistory } from '../../services/history'

/** One metric across nodes (ids, a label, or all) over a range, on shared buckets, for comparison. */
export default defineEventHandler(async (event): Promise<FleetHistory> => {
  const query = readQueryAs(event, fleetHistoryQuery)
  return (await useHistory()).fleetHistory(query)
})
