import { idParam } from '../../../../../shared/contracts/common'
import { uptimeQuery, type NodeUptime } from '../../../../../shared/contracts/history'
import { useHistory } from '../../../../services/history'

/** A node's online share per UTC day over the last `days` days, from its status history. */
export default defineEventHandler(async (event): Promise<NodeUptime> => {
  const { id } = readParams(event, idParam)
  const { days } = readQueryAs(event, uptimeQuery)
  return (await useHistory()).uptime(id, days)
})
