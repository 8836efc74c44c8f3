import { idParam } from '../../../../../shared/contracts/common'
import { useAlerts } from '../../../../services/history/alerts'

/** Deletes a rule (admins); its firing state goes with it, without events. */
export default defineEventHandler(async (event) => {
  requireAdmin(event)
  const { id } = readParams(event, idParam)
  await (await useAlerts()).remove(id)
  setResponseStatus(event, 204)
  return null
})
