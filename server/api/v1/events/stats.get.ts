import type { EventStats } from '../../../../shared/contracts/seed002'
import { useEventLog } from '../../../services/events'

/** Event rates of the last hour, per minute, and the unacknowledged warnings and errors. */
export default defineEventHandler(async (): Promise<EventStats> => (await useEventLog()).stats())
