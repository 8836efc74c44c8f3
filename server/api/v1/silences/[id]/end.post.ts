import { idParam } from '../../../../../shared/contracts/common'
import type { SilenceView } from '../../../../../shared/contracts/silences'
import { useSilences } from '../../../../services/silences'

/** Ends a silence now (admins); a scheduled one then never starts. */
export default defineEventHandler(async (event): Promise<SilenceView> => {
  const principal = requireAdmin(event)
  const { id } = readParams(event, idParam)
  return (await useSilences()).end(id, principal.username)
})
