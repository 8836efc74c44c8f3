import type { Database } from '../db'
import { events, type EventRow, type Severity } from '../db/schema'

export interface NewEvent {
  type: string
  severity: Severity
  nodeId?: number | null
  clusterId?: string | null
  resourceType?: string
  message: string
  data?: Record<string, unknown>
}

/** Appends one event to the persisted event log. */
export async function recordEvent(db: Database, e: NewEvent): Promise<EventRow> {
  const [row] = await db.insert(events).values({
    type: e.type, severity: e.severity, nodeId: e.nodeId ?? null, clusterId: e.clusterId ?? null,
    resourceType: e.resourceType ?? 'node', message: e.message, data: e.data ?? {},
  }).returning()
  return row!
}
