import { eventHistoryQuery, type EventPage } from '../../../../shared/contracts/seed002'
import { toEventView } from '../../../services/events'

/** The event history, newest first, filtered; `next_cursor` pages to older events. */
export default defineEventHandler(async (event): Promise<EventPage> => {
  const { cursor, limit, acknowledged, since, ...filter } = readQueryAs(event, eventHistoryQuery)
  const { events } = await services()
  const { rows, nextCursor } = await events.list(filter, { cursor, limit, acknowledged, since })
  return { events: rows.map(toEventView), next_cursor: nextCursor }
})
