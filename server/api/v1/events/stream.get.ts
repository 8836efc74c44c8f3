import { eventStreamQuery } from '../../../../shared/contracts/seed002'
import { parseEventId } from '../../../services/channels'

/**
 * Seed 002's event stream: `event: <event_type>`, filtered by the query; Last-Event-ID (header or
 * `?lastEventId=`) or `?since=` replays what was missed.
 */
export default defineEventHandler(async (event) => {
  const { lastEventId, since, ...filter } = readQueryAs(event, eventStreamQuery)
  await assertStreamCapacity(event)
  const { eventStream } = await services()
  const resume = getRequestHeader(event, 'last-event-id') ?? lastEventId
  // An id that is not ours cannot be resumed from: treat it as unknown, which answers with `reset`.
  const position = resume === undefined || resume === '' ? undefined : parseEventId(resume) ?? (/^\d{1,15}$/.test(resume) ? Number(resume) : Number.MAX_SAFE_INTEGER)
  await eventStream.open(event.node.req, event.node.res, filter, position !== undefined ? { position } : { since })
})
