import { loginBody, type MeView } from '../../../../shared/contracts/rest'
import { useUsers } from '../../../services/auth/users'
import { useLoginLimiter } from '../../../services/ratelimit'

export default defineEventHandler(async (event): Promise<MeView> => {
  const body = await readJson(event, loginBody)
  const limiter = await useLoginLimiter()
  const ip = getRequestIP(event) ?? 'unknown'
  const wait = limiter.retryAfter(ip, body.username)
  if (wait) {
    setResponseHeader(event, 'retry-after', wait)
    throw createError({ statusCode: 429, message: `Too many failed logins; try again in ${wait} seconds` })
  }
  const user = await (await useUsers()).checkPassword(body.username, body.password)
  if (!user) {
    limiter.fail(ip, body.username)
    // Intentionally vague: do not reveal whether the username exists.
    throw createError({ statusCode: 401, message: 'Invalid username or password' })
  }
  limiter.succeed(ip, body.username)
  return startUserSession(event, user)
})
