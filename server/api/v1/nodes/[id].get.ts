import { idParam } from '../../../../shared/contracts/common'
import { toNodeView } from '../../../services/registry'

export default defineEventHandler(async (event) => {
  const { id } = readParams(event, idParam)
  const { config } = await services()
  return toNodeView(await findNode(id), Date.now(), config.staleAfterSeconds)
})
