import { toUserView } from '../../../services/auth'

export default defineEventHandler(async (event) => {
  requireAdmin(event)
  const { auth } = await services()
  return (await auth.listUsers()).map(toUserView)
})
