import { updateAlertRuleBody, type AlertRuleView } from '../../../../../shared/contracts/alerts'
import { idParam } from '../../../../../shared/contracts/common'
import { useAlerts } from '../../../../services/history/alerts'

/** Changes a rule (admins); a changed condition starts it afresh. */
export default defineEventHandler(async (event): Promise<AlertRuleView> => {
  requireAdmin(event)
  const { id } = readParams(event, idParam)
  const body = await readJson(event, updateAlertRuleBody)
  return (await useAlerts()).update(id, body)
})
