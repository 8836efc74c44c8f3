import { and, lt, ne } from 'drizzle-orm'
import type { Database } from '../db'
import { apiTokens, events, sessions, webhookDeliveries } from '../db/schema'
import type { History } from './history'
import type { Journal } from './journal'
import type { RequestLog } from './requestLog'

const DAY = 86_400_000

/**
 * All retention, run hourly by the leader: raw samples and each history tier by its own
 * retention (NODEPULSE_HISTORY_TIERS, in bounded batches), events older than
 * NODEPULSE_RETENTION_DAYS (and the journal told so), finished webhook deliveries and request-log
 * entries as old (the request log is also capped by rows on every write), expired stream tokens
 * and sessions.
 */
export async function runHousekeeping(db: Database, journal: Journal, retentionDays: number, history: Pick<History, 'purge'>, requestLog?: Pick<RequestLog, 'purge'>): Promise<void> {
  const now = new Date()
  const cutoff = new Date(now.getTime() - retentionDays * DAY)
  const { maxSampleId } = await history.purge(now)
  const logs = await db.delete(events).where(lt(events.createdAt, cutoff)).returning({ id: events.id })
  // A client resuming from a deleted position is told to reset instead of missing data silently.
  await journal.purged(logs.reduce((max, r) => Math.max(max, r.id), maxSampleId))
  await db.delete(webhookDeliveries).where(and(lt(webhookDeliveries.createdAt, cutoff), ne(webhookDeliveries.state, 'pending')))
  await requestLog?.purge(cutoff)
  await db.delete(apiTokens).where(lt(apiTokens.expiresAt, now))
  await db.delete(sessions).where(lt(sessions.expiresAt, now))
}
