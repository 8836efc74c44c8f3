import type { EventStats } from '../../../../shared/contracts/seed002'

/** Event rates of the last hour, per minute, and the unacknowledged warnings and errors. */
export default defineEventHandler(async (): Promise<EventStats> => {
  const { events } = await services()
  return events.stats()
})
