import { nodeIdParam, toEnvelope } from '../../../../shared/contracts/seed004'
import { useValkey } from '../../../services/valkey/service'

/** Seed 004: one Valkey node's metrics, by cluster node id or NodePulse id. */
export default defineEventHandler(async (event) => {
  const { nodeId } = readParams(event, nodeIdParam)
  return toEnvelope(await (await useValkey()).nodeMetrics(nodeId))
})
