import { idParam } from '../../../../shared/contracts/common'
import type { SilenceView } from '../../../../shared/contracts/silences'
import { useSilences } from '../../../services/silences'

/** One silence. */
export default defineEventHandler(async (event): Promise<SilenceView> => {
  const { id } = readParams(event, idParam)
  return (await useSilences()).get(id)
})
