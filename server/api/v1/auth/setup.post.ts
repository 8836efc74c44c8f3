import { setupBody } from '../../../../shared/contracts/rest'

/** Creates the first admin and logs them in; closed for good once any user exists. */
export default defineEventHandler(async (event) => {
  const body = await readJson(event, setupBody)
  const { auth } = await services()
  const user = await auth.createFirstAdmin(body.username, body.password)
  if (!user) throw createError({ statusCode: 403, message: 'Setup is already complete: log in with an existing account' })
  await startUserSession(event, user.id)
  setResponseStatus(event, 201)
  return { id: user.id, username: user.username, role: user.role, via: 'session' }
})
