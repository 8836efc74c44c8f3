import { addReadings, type ReadingRow } from '~/utils/nodeScope'

/** Rows kept across selections, newest first: switching the selection shows what already arrived. */
const KEPT_ROWS = 1000

/**
 * Recent samples of every node, live from the unified stream the dashboard already follows (no
 * extra connection): each node's latest reading first, then a row whenever a snapshot shows a node
 * reported again. The page filters them by its selection.
 */
export function useRecentReadings() {
  const { nodes, timestamp } = useNodeStats()
  const rows = shallowRef<ReadingRow[]>([])
  watch(timestamp, (at) => {
    if (at !== null) rows.value = addReadings(rows.value, { timestamp: at, nodes: nodes.value }, KEPT_ROWS)
  }, { immediate: true })
  return rows
}
