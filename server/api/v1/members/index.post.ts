import { createMemberBody, type MemberView } from '../../../../shared/contracts/seed003'
import { useMembers } from '../../../services/federation/members'

/** Adds a member to aggregate: its name, URL and a viewer API token of it. */
export default defineEventHandler(async (event): Promise<MemberView> => {
  requireAdmin(event)
  const body = await readJson(event, createMemberBody)
  const created = await (await useMembers()).create(body)
  setResponseStatus(event, 201)
  return created
})
