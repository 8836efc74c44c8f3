import { idParam } from '../../../../shared/contracts/common'
import type { EventView } from '../../../../shared/contracts/seed002'
import { useEventLog } from '../../../services/events'

export default defineEventHandler(async (event): Promise<EventView> => {
  const { id } = readParams(event, idParam)
  return (await useEventLog()).get(id)
})
