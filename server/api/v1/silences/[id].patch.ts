import { idParam } from '../../../../shared/contracts/common'
import { updateSilenceBody, type SilenceView } from '../../../../shared/contracts/silences'
import { useSilences } from '../../../services/silences'

/** Changes a silence's end and/or reason (admins). */
export default defineEventHandler(async (event): Promise<SilenceView> => {
  const principal = requireAdmin(event)
  const { id } = readParams(event, idParam)
  const body = await readJson(event, updateSilenceBody)
  return (await useSilences()).update(id, body, principal.username)
})
