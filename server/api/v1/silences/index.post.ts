import { createSilenceBody, type SilenceView } from '../../../../shared/contracts/silences'
import { useSilences } from '../../../services/silences'

/** Adds a silence (admins): active now, or a maintenance window when `starts_at` is later. */
export default defineEventHandler(async (event): Promise<SilenceView> => {
  const principal = requireAdmin(event)
  const body = await readJson(event, createSilenceBody)
  const created = await (await useSilences()).create(body, principal.username)
  setResponseStatus(event, 201)
  return created
})
