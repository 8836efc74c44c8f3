import { idParam } from '../../../../shared/contracts/common'
import type { NodeWithDetail } from '../../../../shared/contracts/rest'
import { useNodes } from '../../../services/nodes'

export default defineEventHandler(async (event): Promise<NodeWithDetail> => {
  const { id } = readParams(event, idParam)
  return (await useNodes()).getWithDetail(id)
})
