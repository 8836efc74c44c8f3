import { useMetrics } from '../services/prometheus'

/** Prometheus exposition (`NODEPULSE_METRICS_PUBLIC=true` opens it; otherwise a token or session is needed). */
export default defineEventHandler(async (event) => {
  const metrics = await useMetrics()
  setResponseHeader(event, 'content-type', metrics.contentType)
  return metrics.render()
})
