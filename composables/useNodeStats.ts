import type { NodeStats, NodeStatsDelta, NodeStatsSnapshot } from '~~/shared/contracts/seed000'
import type { ShallowRef } from 'vue'
import { acquireStream, CLOSED_STREAM, type StreamHandle, type StreamStatus } from '~/utils/eventSourceTransport'
import { applyNodeMessage, type NodeTable } from '~/utils/nodeDeltas'
import { DASHBOARD_EVENTS, DASHBOARD_INTERVAL, dashboardStreamUrl } from '~/utils/earlyStream'
import { newestSummaries } from './useNodeStream'

/** The dashboard has no Retry button: its streams keep trying, however long the server is away. */
export const DASHBOARD_STREAM = { maxAttempts: Infinity } as const

/** One delta stream's table, shared by every caller of its interval; it lives while one holds it. */
interface SharedTable {
  table: ShallowRef<NodeTable>
  status: ShallowRef<StreamStatus>
  handle: StreamHandle<NodeStatsSnapshot | NodeStatsDelta>
  holders: number
}
const tables = new Map<number, SharedTable>()

function holdTable(interval: number): SharedTable {
  let shared = tables.get(interval)
  if (!shared) {
    const table = shallowRef<NodeTable>({ timestamp: null, nodes: [] })
    const status = shallowRef<StreamStatus>(CLOSED_STREAM)
    // The table is folded here, once per message, so a caller joining late finds it whole.
    const handle = acquireStream<NodeStatsSnapshot | NodeStatsDelta>(dashboardStreamUrl(interval), { ...DASHBOARD_STREAM, eventTypes: DASHBOARD_EVENTS }, {
      message(m) {
        table.value = applyNodeMessage(table.value, m.type, m.data)
      },
      change(next) {
        status.value = next
      },
    })
    status.value = handle.status
    shared = { table, status, handle, holders: 0 }
    tables.set(interval, shared)
  }
  shared.holders++
  return shared
}

function letGo(shared: SharedTable, interval: number) {
  if (--shared.holders > 0) return
  shared.handle.release()
  tables.delete(interval)
}

/**
 * Opens the dashboard's stream before any component holds it, so its snapshot is on the way while the
 * session check and the page code still are; returns the function that lets go of it (the stream
 * closes then unless the page holds it by that time).
 */
export function holdNodeStatsEarly(interval = DASHBOARD_INTERVAL): () => void {
  const shared = holdTable(interval)
  let held = true
  return () => {
    if (held) letGo(shared, interval)
    held = false
  }
}

/**
 * Every node's live summary from the dashboard's delta stream (a snapshot, then only the nodes
 * that changed each `interval`; seed 000's unified stream stays for API clients). All callers with
 * the same interval share one EventSource and one table; it reconnects by itself, resuming from its
 * last position, and closes when the last caller unmounts. `nodes` is ordered by id, a new array
 * whenever a node changed, with the summary of a node whose per-node stream is open where that is newer.
 */
export function useNodeStats(interval = DASHBOARD_INTERVAL) {
  const shared = holdTable(interval)
  onScopeDispose(() => letGo(shared, interval))
  loginOnRefusal(shared.status)
  const { table, status } = shared
  return {
    // A node whose detail is open has a newer message of its own every 2 s: the card shows that one.
    nodes: computed<NodeStats[]>(() => (table.value.timestamp ? newestSummaries(table.value.nodes, table.value.timestamp) : [])),
    timestamp: computed(() => table.value.timestamp),
    /** True once the first snapshot has arrived. */
    loaded: computed(() => table.value.timestamp !== null),
    connected: computed(() => status.value.state === 'connected'),
    /** What went wrong, for the page to show; null while healthy. */
    error: computed(() => streamErrorText(status.value)),
  }
}
