import { idParam } from '../../../../../shared/contracts/common'
import type { RotatedNodeToken } from '../../../../../shared/contracts/rest'
import { useNodes } from '../../../../services/nodes'

/** Rotates a node's agent token: the old one stops working now; the new one is in this response only. */
export default defineEventHandler(async (event): Promise<RotatedNodeToken> => {
  requireAdmin(event)
  const { id } = readParams(event, idParam)
  return (await useNodes()).rotateToken(id)
})
