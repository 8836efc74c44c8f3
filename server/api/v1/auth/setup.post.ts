import { setupBody, type MeView } from '../../../../shared/contracts/rest'
import { useUsers } from '../../../services/auth/users'

/** Creates the first admin and logs them in; closed for good once any user exists. */
export default defineEventHandler(async (event): Promise<MeView> => {
  const body = await readJson(event, setupBody)
  const user = await (await useUsers()).createFirstAdmin(body.username, body.password)
  if (!user) throw createError({ statusCode: 403, message: 'Setup is already complete: log in with an existing account' })
  const me = await startUserSession(event, user)
  setResponseStatus(event, 201)
  return me
})
