import type { Database } from '../db'
import type { EventView, Severity } from '../../shared/contracts'
import { events, type EventRow } from '../db/schema'
import { lockJournal, type Journal } from './journal'

export interface NewEvent {
  type: string
  severity: Severity
  nodeId?: number | null
  clusterId?: string | null
  resourceType?: string
  message: string
  data?: Record<string, unknown>
}

/** The persisted event log: each event is stored first, then announced to the streams. */
export function createEventLog(db: Database, journal: Journal) {
  return {
    /** Appends one event and publishes it once committed. */
    record(e: NewEvent): Promise<EventRow> {
      return journal.run(async () => {
        const row = await db.transaction(async (tx) => {
          await lockJournal(tx, journal)
          const [inserted] = await tx.insert(events).values({
            type: e.type, severity: e.severity, nodeId: e.nodeId ?? null, clusterId: e.clusterId ?? null,
            resourceType: e.resourceType ?? 'node', message: e.message, data: e.data ?? {},
          }).returning()
          return inserted!
        })
        await journal.committed([{ kind: 'log', row }])
        return row
      })
    },
  }
}

export type EventLog = ReturnType<typeof createEventLog>

/** An event as the logs channel, the event stream, the history and webhooks show it. */
export function toEventView(row: EventRow): EventView {
  return {
    id: row.id, event_type: row.type, severity: row.severity, node_id: row.nodeId, cluster_id: row.clusterId,
    resource_type: row.resourceType, message: row.message, data: row.data,
    timestamp: Math.floor(row.createdAt.getTime() / 1000), created_at: row.createdAt.toISOString(),
    acknowledged_at: row.acknowledgedAt?.toISOString() ?? null, acknowledged_by: row.acknowledgedBy,
  }
}
