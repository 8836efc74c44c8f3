import type { MeView } from '../../../../shared/contracts/rest'

export default defineEventHandler((event): MeView => {
  const { userId, username, role, via } = requirePrincipal(event)
  return { id: userId, username, role, via }
})
