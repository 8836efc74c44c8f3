import { eventHistoryQuery, type EventPage } from '../../../../shared/contracts/seed002'
import { useEventLog } from '../../../services/events'

/** The event history, newest first, filtered; `next_cursor` pages to older events. */
export default defineEventHandler(async (event): Promise<EventPage> => {
  const { cursor, limit, acknowledged, since, ...filter } = readQueryAs(event, eventHistoryQuery)
  return (await useEventLog()).list(filter, { cursor, limit, acknowledged, since })
})
