import { idParam } from '../../../../../shared/contracts/common'
import { useAggregator } from '../../../../services/aggregator'

/** One node's aggregate over the kept windows. */
export default defineEventHandler(async (event) => {
  const { id } = readParams(event, idParam)
  const data = (await useAggregator()).node(id)
  if (!data) throw createError({ statusCode: 404, message: `Node ${id} not found` })
  return { success: true, data }
})
