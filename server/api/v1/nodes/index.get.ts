import type { NodeView } from '../../../../shared/contracts/rest'
import { useNodes } from '../../../services/nodes'

/** Every node with its status and latest figures (also serves seed 000's old `/api/v1/nodes/`). */
export default defineEventHandler(async (): Promise<NodeView[]> => (await useNodes()).list())
