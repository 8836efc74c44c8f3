import type { AlertRuleView } from '../../../../../shared/contracts/alerts'
import { useAlerts } from '../../../../services/history/alerts'

/** Every threshold alert rule with the nodes it is firing for. */
export default defineEventHandler(async (): Promise<AlertRuleView[]> => (await useAlerts()).list())
