import type { EventView } from '~~/shared/contracts/seed002'

const HEADLINES: Record<string, (e: EventView) => string> = {
  node_status_update: (e) => {
    if (e.data.status === 'online') return e.data.previous_status === 'offline' ? 'Node online' : 'Node back online'
    return e.data.status === 'stale' ? 'Node stale' : e.data.status === 'offline' ? 'Node offline' : 'Node status changed'
  },
  node_registered: () => 'Node added',
  node_updated: () => 'Node changed',
  node_removed: () => 'Node deleted',
  node_token_rotated: () => 'Node token rotated',
  node_unreachable: () => 'Node unreachable',
  node_reachable: () => 'Node reachable again',
  node_maintenance: e => (e.data.maintenance ? 'Maintenance started' : 'Maintenance ended'),
  backup_started: () => 'Backup started',
  backup_completed: () => 'Backup completed',
  backup_failed: () => 'Backup failed',
  cluster_status_update: e => (e.data.status === 'ok' ? 'Cluster healthy' : 'Cluster degraded'),
  error_report: () => 'Error reported',
  event_acknowledged: () => 'Event acknowledged',
  incident_opened: () => 'Incident opened',
  incident_acknowledged: () => 'Incident acknowledged',
  incident_resolved: () => 'Incident resolved',
}

/** A short headline for an event ("Node stale"); the server's `message` names the node and says the rest. */
export function eventTitle(e: EventView): string {
  return HEADLINES[e.event_type]?.(e) ?? eventTypeLabel(e.event_type)
}

// A type's name where it differs from its words, so menus say what the titles say ("Node added" is node_registered).
const TYPE_NAMES: Record<string, string> = {
  node_status_update: 'Node status changed',
  node_registered: 'Node added',
  node_updated: 'Node changed',
  node_removed: 'Node deleted',
  node_reachable: 'Node reachable again',
  node_maintenance: 'Maintenance started or ended',
  cluster_status_update: 'Cluster status changed',
  error_report: 'Error reported',
}

/** A type's name for menus, in the titles' words: "node_registered" → "Node added", "backup_failed" → "Backup failed". */
export function eventTypeLabel(type: string): string {
  const words = TYPE_NAMES[type] ?? type.replaceAll('_', ' ')
  return words.charAt(0).toUpperCase() + words.slice(1)
}

/** Events of a node in maintenance are listed but never alert. */
export const isMaintenanceEvent = (e: EventView): boolean => e.data.maintenance === true && e.event_type !== 'node_maintenance'
