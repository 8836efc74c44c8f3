import { useAggregator } from '../../services/aggregator'

/** Seed 001's aggregate snapshot: reports, rates, averages and every node's aggregate. */
export default defineEventHandler(async () => {
  const s = (await useAggregator()).snapshot()
  return { success: true, data: { ...s, active_nodes: s.online } }
})
