import { incidentListQuery, type IncidentPage } from '../../../../shared/contracts/incidents'
import { useIncidents } from '../../../services/incidents'

/** Incidents, newest first, filtered (state, acknowledged, node, severity, kind); `next_cursor` pages to older ones. */
export default defineEventHandler(async (event): Promise<IncidentPage> => {
  const { cursor, limit, ...filter } = readQueryAs(event, incidentListQuery)
  return (await useIncidents()).list(filter, { cursor, limit })
})
