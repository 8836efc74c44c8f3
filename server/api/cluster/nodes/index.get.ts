import { clusterNodesQuery, toListEnvelope } from '../../../../shared/contracts/seed004'
import { useClusterNodes } from '../../../services/clusterNodes'

/** Seeds 004 and 003: every node, or one kind's (`?kind=valkey` is exactly seed 004's list). */
export default defineEventHandler(async (event) => {
  const { kind } = readQueryAs(event, clusterNodesQuery)
  return toListEnvelope(await (await useClusterNodes()).list(kind))
})
