import { loginBody, type MeView } from '../../../../shared/contracts/rest'
import { useUsers } from '../../../services/auth/users'
import { useLoginLimiter } from '../../../services/ratelimit'

export default defineEventHandler(async (event): Promise<MeView> => {
  const body = await readJson(event, loginBody)
  const limiter = await useLoginLimiter()
  const ip = await clientAddress(event)
  // Counted before the (slow) password check, so a burst of guesses stops at the limit too.
  assertAttemptAllowed(event, limiter.attempt(ip, body.username), 'Too many failed logins')
  const user = await (await useUsers()).checkPassword(body.username, body.password)
  // Intentionally vague: do not reveal whether the username exists.
  if (!user) throw createError({ statusCode: 401, message: 'Invalid username or password' })
  limiter.succeed(ip, body.username)
  return startUserSession(event, user)
})
