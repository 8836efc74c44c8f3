import type { TokenView } from '../../../../shared/contracts/rest'
import { useApiTokens } from '../../../services/auth/apiTokens'

export default defineEventHandler(async (event): Promise<TokenView[]> => {
  requireAdmin(event)
  return (await useApiTokens()).list()
})
