import { idParam } from '../../../../shared/contracts/common'
import type { NodeView } from '../../../../shared/contracts/rest'
import { useNodes } from '../../../services/nodes'

export default defineEventHandler(async (event): Promise<NodeView> => {
  const { id } = readParams(event, idParam)
  return (await useNodes()).get(id)
})
