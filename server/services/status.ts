import type { NodeStatus } from '../../shared/contracts'

/**
 * Seed 000's status: online = reported within the stale threshold, stale = reported but not
 * within it, offline = never reported. The master is live while NodePulse runs.
 */
export function computeStatus(node: { isMaster: boolean, lastSeen: Date | null }, now: number, staleAfterSeconds: number): NodeStatus {
  if (node.isMaster) return 'online'
  if (!node.lastSeen) return 'offline'
  return now - node.lastSeen.getTime() <= staleAfterSeconds * 1000 ? 'online' : 'stale'
}
