import { toNodeView } from '../../../services/registry'

/** Every node with its status and latest figures (also serves seed 000's old `/api/v1/nodes/`). */
export default defineEventHandler(async () => {
  const { registry, config } = await services()
  const now = Date.now()
  return registry.list().map(n => toNodeView(n, now, config.staleAfterSeconds))
})
