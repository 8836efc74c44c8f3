import { idParam } from '../../../../../shared/contracts/common'
import { agentEventBody } from '../../../../../shared/contracts/seed002'
import { agentEvent, toEventView } from '../../../../services/events'

/** An agent reports an event of its own node (a backup's outcome, an error); node token auth. */
export default defineEventHandler(async (event) => {
  const { id } = readParams(event, idParam)
  const node = await requireAgent(event, id)
  const body = await readJson(event, agentEventBody)
  const row = await (await services()).events.record(agentEvent(node, body))
  setResponseStatus(event, 201)
  return toEventView(row)
})
