import type { EventView } from '~~/shared/contracts'

const text = (value: unknown): string | null => (typeof value === 'string' && value ? value : null)

/** The node an event is about, by name when the event carries it. */
function subject(e: EventView): string {
  return text(e.data.hostname) ?? (e.node_id === null ? 'A node' : `Node ${e.node_id}`)
}

const TITLES: Record<string, (e: EventView) => string> = {
  node_status_update: (e) => {
    const status = text(e.data.status)
    if (status === 'online') return `${subject(e)} is back online`
    return status ? `${subject(e)} is ${status}` : `${subject(e)} changed status`
  },
  node_registered: e => `${subject(e)} was added`,
  node_updated: e => `${subject(e)} was changed`,
  node_removed: e => `${subject(e)} was deleted`,
  node_token_rotated: e => `The token of ${subject(e)} was rotated`,
  node_unreachable: e => `${subject(e)} is unreachable`,
  node_reachable: e => `${subject(e)} is reachable again`,
  node_maintenance: e => (e.data.maintenance ? `${subject(e)} is in maintenance` : `${subject(e)} left maintenance`),
  backup_started: e => `Backup started on ${subject(e)}`,
  backup_completed: e => `Backup completed on ${subject(e)}`,
  backup_failed: e => `Backup failed on ${subject(e)}`,
  cluster_status_update: (e) => {
    const name = e.cluster_id ? `Cluster ${e.cluster_id}` : 'The cluster'
    if (e.data.status === 'ok') return `${name} is healthy again`
    const down = Array.isArray(e.data.not_online) ? e.data.not_online.length : 0
    return down ? `${name} is degraded: ${down} ${down === 1 ? 'node is' : 'nodes are'} not online` : `${name} is degraded`
  },
  error_report: e => `Error reported by ${subject(e)}`,
  event_acknowledged: e => `Event ${String(e.data.acknowledged_event_id ?? '')} acknowledged by ${text(e.data.acknowledged_by) ?? 'someone'}`,
}

/** A short, readable headline for an event; the server's `message` says the rest. */
export function eventTitle(e: EventView): string {
  return TITLES[e.event_type]?.(e) ?? e.event_type.replaceAll('_', ' ')
}

/** A type's name for menus: "node_status_update" → "Node status update". */
export function eventTypeLabel(type: string): string {
  const words = type.replaceAll('_', ' ')
  return words.charAt(0).toUpperCase() + words.slice(1)
}

/** Events of a node in maintenance are listed but never alert. */
export const isMaintenanceEvent = (e: EventView): boolean => e.data.maintenance === true && e.event_type !== 'node_maintenance'
