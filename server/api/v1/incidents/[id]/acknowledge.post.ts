import { idParam } from '../../../../../shared/contracts/common'
import type { IncidentView } from '../../../../../shared/contracts/incidents'
import { useIncidents } from '../../../../services/incidents'

/** Acknowledges an incident (admins); a second acknowledgement changes nothing. */
export default defineEventHandler(async (event): Promise<IncidentView> => {
  const principal = requireAdmin(event)
  const { id } = readParams(event, idParam)
  return (await useIncidents()).acknowledge(id, principal.username)
})
