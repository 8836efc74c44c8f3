/** Seed 001's aggregate snapshot: reports, rates, averages and every node's aggregate. */
export default defineEventHandler(async () => {
  const { aggregator } = await services()
  const s = aggregator.snapshot()
  return { success: true, data: { ...s, active_nodes: s.online } }
})
