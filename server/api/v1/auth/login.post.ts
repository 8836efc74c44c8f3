import { loginBody } from '../../../../shared/contracts/rest'

export default defineEventHandler(async (event) => {
  const body = await readJson(event, loginBody)
  const { auth, loginLimiter } = await services()
  const ip = getRequestIP(event) ?? 'unknown'
  const wait = loginLimiter.retryAfter(ip, body.username)
  if (wait) {
    setResponseHeader(event, 'retry-after', wait)
    throw createError({ statusCode: 429, message: `Too many failed logins; try again in ${wait} seconds` })
  }
  const user = await auth.checkPassword(body.username, body.password)
  if (!user) {
    loginLimiter.fail(ip, body.username)
    // Intentionally vague: do not reveal whether the username exists.
    throw createError({ statusCode: 401, message: 'Invalid username or password' })
  }
  loginLimiter.succeed(ip, body.username)
  await startUserSession(event, user.id)
  return { id: user.id, username: user.username, role: user.role, via: 'session' }
})
