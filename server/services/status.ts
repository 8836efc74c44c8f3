import type { NodeLiveState, NodeStatus } from '../../shared/contracts/seed000'

/** The thresholds a node's status and reachability are judged by (NODEPULSE_STALE_AFTER, NODEPULSE_UNREACHABLE_AFTER, NODEPULSE_PENDING_GRACE). */
export interface StatusThresholds { staleAfterSeconds: number, unreachableAfterSeconds: number, pendingGraceSeconds?: number }

/**
 * Whether a node was added but has not reported yet, within the grace period: it is `pending`, so
 * it neither degrades its cluster nor counts as unreachable. Past the grace it is overdue.
 */
export function isPending(node: { live: boolean, lastSeen: Date | null, createdAt?: Date }, now: number, graceSeconds = 0): boolean {
  return !node.live && !node.lastSeen && node.createdAt !== undefined && now - node.createdAt.getTime() < graceSeconds * 1000
}

/** A node that was added but has not reported within the grace period (the watcher's `node_unreachable` with `never_reported`). */
export function isOverdue(node: { live: boolean, lastSeen: Date | null, createdAt?: Date }, now: number, graceSeconds = 0): boolean {
  return !node.live && !node.lastSeen && node.createdAt !== undefined && graceSeconds > 0 && !isPending(node, now, graceSeconds)
}

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

/** Whether a node reported within the unreachable threshold; null for one that never reported. The watcher's `node_unreachable` follows it. */
export function computeReachable(node: { live: boolean, lastSeen: Date | null }, now: number, unreachableAfterSeconds: number): boolean | null {
  if (node.live) return true
  if (!node.lastSeen) return null
  return now - node.lastSeen.getTime() <= unreachableAfterSeconds * 1000
}

/** The state the pages show: the status, with an online node that is not reachable called unreachable, and a new one not reported yet pending. */
export function computeState(node: { live: boolean, lastSeen: Date | null, createdAt?: Date }, now: number, t: StatusThresholds): NodeLiveState {
  if (isPending(node, now, t.pendingGraceSeconds)) return 'pending'
  const status = computeStatus(node, now, t.staleAfterSeconds)
  return status === 'online' && computeReachable(node, now, t.unreachableAfterSeconds) === false ? 'unreachable' : status
}
