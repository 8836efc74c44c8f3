import type { MeView } from '../../../../shared/contracts/rest'

export default defineEventHandler((event): Promise<MeView> => toMeView(requirePrincipal(event)))
