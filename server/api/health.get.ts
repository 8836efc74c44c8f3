import type { HealthView } from '../../shared/contracts/rest'
import { useInstance } from '../services/instance'

/** Liveness and readiness for load balancers and operators; 503 when the database does not answer. */
export default defineEventHandler(async (event): Promise<HealthView> => {
  const health = await (await useInstance()).health()
  setResponseStatus(event, health.database.ok ? 200 : 503)
  return health
})
