import { idParam } from '../../../../shared/contracts/common'
import type { IncidentDetail } from '../../../../shared/contracts/incidents'
import { useIncidents } from '../../../services/incidents'

/** One incident with the events it collected, oldest first. */
export default defineEventHandler(async (event): Promise<IncidentDetail> => {
  const { id } = readParams(event, idParam)
  return (await useIncidents()).get(id)
})
