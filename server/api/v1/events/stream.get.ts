import { eventStreamQuery } from '../../../../shared/contracts/seed002'
import { resumePoint } from '../../../services/streams/replay'
import { useEventStream } from '../../../services/streams/seed002'

/**
 * Seed 002's event stream: `event: <event_type>`, filtered by the query; Last-Event-ID (header or
 * `?lastEventId=`) or `?since=` replays what was missed.
 */
export default defineEventHandler(async (event) => {
  const { lastEventId, since, ...filter } = readQueryAs(event, eventStreamQuery)
  await assertStreamCapacity(event)
  const eventStream = await useEventStream()
  const from = resumePoint(getRequestHeader(event, 'last-event-id'), { lastEventId, since }, { barePositions: true })
  await eventStream.open(event.node.req, event.node.res, filter, from)
})
