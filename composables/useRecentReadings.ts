import type { NodeStats } from '~~/shared/contracts/seed000'
import { diffNodes } from '~/utils/nodeDeltas'
import { addReadings, type ReadingRow } from '~/utils/nodeScope'

/** Rows kept across selections, newest first: switching the selection shows what already arrived. */
const KEPT_ROWS = 1000

/**
 * Recent samples of every node, live from the delta stream the dashboard already follows (no
 * extra connection): each node's latest reading first, then a row whenever a message shows a node
 * reported again. Only the nodes a message changed are looked at; the page filters the rows by
 * its selection.
 */
export function useRecentReadings() {
  const { nodes, timestamp } = useNodeStats()
  const rows = shallowRef<ReadingRow[]>([])
  let seen: readonly NodeStats[] = []
  watch(timestamp, (at) => {
    if (at === null) return
    const { after } = diffNodes(seen, nodes.value)
    seen = nodes.value
    rows.value = addReadings(rows.value, { timestamp: at, nodes: after }, KEPT_ROWS)
  }, { immediate: true })
  return rows
}
