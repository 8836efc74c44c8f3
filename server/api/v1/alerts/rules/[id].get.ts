import type { AlertRuleView } from '../../../../../shared/contracts/alerts'
import { idParam } from '../../../../../shared/contracts/common'
import { useAlerts } from '../../../../services/history/alerts'

export default defineEventHandler(async (event): Promise<AlertRuleView> => {
  const { id } = readParams(event, idParam)
  return (await useAlerts()).get(id)
})
