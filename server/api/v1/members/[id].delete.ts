import { idParam } from '../../../../shared/contracts/common'
import { useMembers } from '../../../services/federation/members'

/** Stops aggregating a member; the nodes it brought stay with their history. */
export default defineEventHandler(async (event) => {
  requireAdmin(event)
  const { id } = readParams(event, idParam)
  await (await useMembers()).remove(id)
  setResponseStatus(event, 204)
  return null
})
