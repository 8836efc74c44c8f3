import type { NodeLiveState, NodeStats } from '~~/shared/contracts/seed000'

type StateFields = Pick<NodeStats, 'state' | 'is_master' | 'last_seen'>

// As isLiveMaster (nodeList imports this file): the master of the instance serving the page has no last_seen.
const servesPage = (node: StateFields) => node.is_master && node.last_seen === null

/**
 * The state a page shows for a node. The server's `state` says it, except while the page's own
 * stream is down: the master of the instance serving the page is that server, so it is not
 * "online · live" but unreachable, like any node that stopped answering.
 */
export function shownState(node: StateFields, streamDown = false): NodeLiveState {
  return streamDown && servesPage(node) ? 'unreachable' : node.state
}

/** Whether a node's figures are current: it is online and the page is receiving the stream. */
export const isCurrent = (node: StateFields, streamDown = false): boolean => shownState(node, streamDown) === 'online' && !streamDown

/**
 * When a node's figures were last current, for "last known, 12 min ago": null while they are
 * current, or when there is no such time (a node that never reported has no figures to date).
 * A node's figures date from its last report; the live master's from the last snapshot received.
 */
export function knownAt(node: StateFields, streamDown: boolean, snapshotAt: string | null): string | null {
  if (isCurrent(node, streamDown)) return null
  return node.last_seen ?? (servesPage(node) ? snapshotAt : null)
}

/** Each state's dot colour, the same on badges, the summary and group headers. */
export const STATE_DOT: Record<NodeLiveState, string> = { online: 'bg-green-500', unreachable: 'bg-orange-500', stale: 'bg-yellow-500', offline: 'bg-red-500', pending: 'bg-slate-400' }
