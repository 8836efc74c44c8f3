import { createTokenBody } from '../../../../shared/contracts/rest'
import { toTokenView } from '../../../services/auth'

/** Issues an API token; the secret is in this response only. */
export default defineEventHandler(async (event) => {
  const principal = requireAdmin(event)
  const body = await readJson(event, createTokenBody)
  const { auth } = await services()
  const { token, row } = await auth.createApiToken(body.name, body.role, principal.userId)
  setResponseStatus(event, 201)
  return { ...toTokenView(row), token }
})
