import type { SessionState } from '../../../../shared/contracts/rest'
import { useUsers } from '../../../services/auth/users'

/** The page's start: the session's user (or null, not 401) and whether first-run setup is open. */
export default defineEventHandler(async (event): Promise<SessionState> => {
  const principal = await principalFromSession(event)
  const { setup_required } = await (await useUsers()).setupState()
  return { user: principal ? await toMeView(principal) : null, setup_required }
})
