import { idParam } from '../../../../shared/contracts/common'
import { toEventView } from '../../../services/events'

export default defineEventHandler(async (event) => {
  const { id } = readParams(event, idParam)
  const row = await (await services()).events.get(id)
  if (!row) throw createError({ statusCode: 404, message: `Event ${id} not found (it may have been deleted by retention)` })
  return toEventView(row)
})
