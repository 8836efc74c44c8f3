import { setupBody, type MeView } from '../../../../shared/contracts/rest'
import { useUsers } from '../../../services/auth/users'
import { useLoginLimiter } from '../../../services/ratelimit'

/** Creates the first admin and logs them in; closed for good once any user exists. */
export default defineEventHandler(async (event): Promise<MeView> => {
  const body = await readJson(event, setupBody)
  const users = await useUsers()
  const closed = () => createError({ statusCode: 403, message: 'Setup is already complete: log in with an existing account' })
  // Refused before any password is hashed: a closed setup costs a caller nothing to ask.
  if (!(await users.setupState()).setup_required) throw closed()
  const limiter = await useLoginLimiter()
  const client = await clientAddress(event)
  assertAttemptAllowed(event, limiter.attempt(client, '#setup'), 'Too many setup attempts')
  const user = await users.createFirstAdmin(body.username, body.password)
  if (!user) throw closed()
  // Like a login: the setup that worked takes back its attempt, so it never counts against the client.
  limiter.succeed(client, '#setup')
  const me = await startUserSession(event, user)
  setResponseStatus(event, 201)
  return me
})
