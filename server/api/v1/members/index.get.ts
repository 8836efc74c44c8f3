import type { MemberView } from '../../../../shared/contracts/seed003'
import { useMembers } from '../../../services/federation/members'

/** The members this server aggregates, with their reachability (admin: they hold tokens). */
export default defineEventHandler(async (event): Promise<MemberView[]> => {
  requireAdmin(event)
  return (await useMembers()).list()
})
