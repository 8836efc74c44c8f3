import { idParam } from '../../../../../shared/contracts/common'
import { toEventView } from '../../../../services/events'

/** Acknowledges an event (viewers may too); a second acknowledgement changes nothing. */
export default defineEventHandler(async (event) => {
  const principal = requirePrincipal(event)
  const { id } = readParams(event, idParam)
  const result = await (await services()).events.acknowledge(id, principal.username)
  if (!result) throw createError({ statusCode: 404, message: `Event ${id} not found (it may have been deleted by retention)` })
  return toEventView(result.row)
})
