import { idParam } from '../../../../../shared/contracts/common'
import type { EventView } from '../../../../../shared/contracts/seed002'
import { useEventLog } from '../../../../services/events'

/** Acknowledges an event (viewers may too); a second acknowledgement changes nothing. */
export default defineEventHandler(async (event): Promise<EventView> => {
  const principal = requirePrincipal(event)
  const { id } = readParams(event, idParam)
  return (await useEventLog()).acknowledge(id, principal.username)
})
