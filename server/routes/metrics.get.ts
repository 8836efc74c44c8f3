/** Prometheus exposition (`NODEPULSE_METRICS_PUBLIC=true` opens it; otherwise a token or session is needed). */
export default defineEventHandler(async (event) => {
  const { metrics } = await services()
  setResponseHeader(event, 'content-type', metrics.contentType)
  return metrics.render()
})
