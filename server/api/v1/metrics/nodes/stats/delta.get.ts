import { deltaStreamQuery } from '../../../../../../shared/contracts/seed000'
import { useNodeStreams } from '../../../../../services/streams/seed000'

/** The dashboard's stream: a snapshot of every node's summary, then each `interval` seconds only the nodes that changed. */
export default defineEventHandler(async (event) => {
  const { interval, lastEventId } = readQueryAs(event, deltaStreamQuery)
  await assertStreamCapacity(event)
  const streams = await useNodeStreams()
  streams.delta(event.node.req, event.node.res, interval, lastEventId ?? getHeader(event, 'last-event-id'))
})
