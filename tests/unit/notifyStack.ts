/**
 * The services a notification passes through, on an in-memory database: journal, registry, event
 * log and webhooks, for unit tests of the webhook dispatcher and of incidents. `stopStarted` stops
 * what a test started (dispatchers, receivers) and deletes its webhooks.
 */
import type { DatabaseHandle } from '../../server/db'
import { webhooks as webhooksTable } from '../../server/db/schema'
import { createEventLog, type EventLog } from '../../server/services/events'
import { createJournal, type Journal } from '../../server/services/journal'
import { createRegistry, type Registry } from '../../server/services/registry'
import type { WebhookDispatcher } from '../../server/services/webhookDispatcher'
import { createWebhooks, type Webhooks } from '../../server/services/webhooks'
import type { Receiver } from '../integration/support/receiver'
import { memoryDatabase } from './db'

export interface NotifyStack { handle: DatabaseHandle, journal: Journal, registry: Registry, log: EventLog, hooks: Webhooks }

export async function openNotifyStack(logOptions: Parameters<typeof createEventLog>[2] = {}): Promise<NotifyStack> {
  const handle = await memoryDatabase()
  const journal = createJournal(handle.db)
  await journal.load()
  const registry = createRegistry(handle.db)
  await registry.load()
  return { handle, journal, registry, log: createEventLog(handle.db, journal, logOptions), hooks: createWebhooks(handle.db) }
}

export async function stopStarted(handle: DatabaseHandle, dispatchers: WebhookDispatcher[], receivers: Receiver[]): Promise<void> {
  await Promise.all(dispatchers.splice(0).map(s => s.stop()))
  await Promise.all(receivers.splice(0).map(r => r.close()))
  await handle.db.delete(webhooksTable)
}
