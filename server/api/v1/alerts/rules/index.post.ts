import { createAlertRuleBody, type AlertRuleView } from '../../../../../shared/contracts/alerts'
import { useAlerts } from '../../../../services/history/alerts'

/** Adds a threshold alert rule (admins); 409 when the name is taken. */
export default defineEventHandler(async (event): Promise<AlertRuleView> => {
  requireAdmin(event)
  const body = await readJson(event, createAlertRuleBody)
  const created = await (await useAlerts()).create(body)
  setResponseStatus(event, 201)
  return created
})
