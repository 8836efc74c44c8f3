import { createTokenBody, type CreatedToken } from '../../../../shared/contracts/rest'
import { useApiTokens } from '../../../services/auth/apiTokens'

/** Issues an API token; the secret is in this response only. */
export default defineEventHandler(async (event): Promise<CreatedToken> => {
  const principal = requireAdmin(event)
  const body = await readJson(event, createTokenBody)
  const created = await (await useApiTokens()).create(body.name, body.role, principal.userId)
  setResponseStatus(event, 201)
  return created
})
