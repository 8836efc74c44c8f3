import { idParam } from '../../../../../shared/contracts/common'
import { agentEventBody, type EventView } from '../../../../../shared/contracts/seed002'
import { useEventLog } from '../../../../services/events'

/** An agent reports an event of its own node (a backup's outcome, an error); node token auth. */
export default defineAgentHandler(async (event): Promise<EventView> => {
  const { id } = readParams(event, idParam)
  const node = await requireAgent(event, id)
  const body = await readJson(event, agentEventBody)
  const recorded = await (await useEventLog()).fromAgent(node, body)
  setResponseStatus(event, 201)
  return recorded
})
