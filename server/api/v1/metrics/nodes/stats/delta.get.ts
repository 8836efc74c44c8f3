import { deltaStreamQuery } from '../../../../../../shared/contracts/seed000'
import { useNodeStreams } from '../../../../../services/streams/seed000'

/** The dashboard's stream: a snapshot of every node's summary, then each `interval` seconds only the nodes that changed. */
export default defineEventHandler(async (event) => {
  const { interval, lastEventId } = readQueryAs(event, deltaStreamQuery)
  await assertStreamCapacity(event)
  const streams = await useNodeStreams()
  // The header first: a browser's own reconnect sends the newest id there, while a URL keeps the one it was opened with.
  streams.delta(event.node.req, event.node.res, interval, getHeader(event, 'last-event-id') ?? lastEventId)
})
