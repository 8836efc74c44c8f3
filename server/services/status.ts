import type { NodeStatus } from '../../shared/contracts/seed000'

/**
 * Seed 000's status: online = reported within the stale threshold, stale = reported but not
 * within it, offline = never reported. `live` is this instance's own master, which it samples
 * itself: online while NodePulse runs. Another instance's master (several instances on one
 * Postgres) is judged by its samples like any node, so it turns stale when that instance stops.
 */
export function computeStatus(node: { live: boolean, lastSeen: Date | null }, now: number, staleAfterSeconds: number): NodeStatus {
  if (node.live) return 'online'
  if (!node.lastSeen) return 'offline'
  return now - node.lastSeen.getTime() <= staleAfterSeconds * 1000 ? 'online' : 'stale'
}
