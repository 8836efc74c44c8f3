import { idParam } from '../../../../../shared/contracts/common'
import { nodeHistoryQuery, type NodeHistory } from '../../../../../shared/contracts/history'
import { useHistory } from '../../../../services/history'

/** A node's metrics over a range, from the finest tier that serves it, in at most `points` buckets. */
export default defineEventHandler(async (event): Promise<NodeHistory> => {
  const { id } = readParams(event, idParam)
  const query = readQueryAs(event, nodeHistoryQuery)
  return (await useHistory()).nodeHistory(id, query)
})
