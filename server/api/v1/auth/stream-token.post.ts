import type { StreamTokenView } from '../../../../shared/contracts/rest'
import { useStreamTokens } from '../../../services/auth/streamTokens'

/** A short-lived token for `?token=` on stream URLs, so long-lived secrets stay out of URLs and logs. */
export default defineEventHandler(async (event): Promise<StreamTokenView> => {
  const principal = requirePrincipal(event)
  const token = await (await useStreamTokens()).issue(principal)
  setResponseStatus(event, 201)
  return token
})
