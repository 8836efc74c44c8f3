import { idParam } from '../../../../shared/contracts/common'
import { useSilences } from '../../../services/silences'

/** Deletes a scheduled or expired silence (admins); an active one must be ended first (409). */
export default defineEventHandler(async (event) => {
  const principal = requireAdmin(event)
  const { id } = readParams(event, idParam)
  await (await useSilences()).remove(id, principal.username)
  setResponseStatus(event, 204)
  return null
})
