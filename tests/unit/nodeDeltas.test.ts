import { describe, expect, it } from 'vitest'
import type { NodeStats } from '../../shared/contracts/seed000'
import { applyNodeMessage, type NodeTable } from '../../utils/nodeDeltas'

const node = (id: number, cpu: number | null = null): NodeStats => ({
  id, hostname: `n${id}`, status: 'online', state: 'online', is_master: false, cpu_percent: cpu,
  memory_percent: null, disk_percent: null, uptime_seconds: null, active_backups: null, last_seen: null,
})
const EMPTY: NodeTable = { timestamp: null, nodes: [] }

describe('applyNodeMessage', () => {
  it('takes a snapshot whole, in id order', () => {
    const t = applyNodeMessage(EMPTY, 'snapshot', { timestamp: 't1', nodes: [node(3), node(1), node(2)] })
    expect(t).toEqual({ timestamp: 't1', nodes: [node(1), node(2), node(3)] })
  })

  it('replaces changed nodes, drops removed ones and adds new ones in id order', () => {
    const t = applyNodeMessage(EMPTY, 'snapshot', { timestamp: 't1', nodes: [node(1), node(2), node(4)] })
    const next = applyNodeMessage(t, 'delta', { timestamp: 't2', changed: [node(2, 50), node(3, 7)], removed: [4] })
    expect(next).toEqual({ timestamp: 't2', nodes: [node(1), node(2, 50), node(3, 7)] })
    // The previous table is left as it was.
    expect(t.nodes).toEqual([node(1), node(2), node(4)])
  })

  it('keeps the same array for an empty delta, with the new time', () => {
    const t = applyNodeMessage(EMPTY, 'snapshot', { timestamp: 't1', nodes: [node(1)] })
    const next = applyNodeMessage(t, 'delta', { timestamp: 't2', changed: [], removed: [] })
    expect(next.nodes).toBe(t.nodes)
    expect(next.timestamp).toBe('t2')
  })

  it('a removal of an unknown id and other message types change nothing else', () => {
    const t = applyNodeMessage(EMPTY, 'snapshot', { timestamp: 't1', nodes: [node(1)] })
    expect(applyNodeMessage(t, 'delta', { timestamp: 't2', changed: [], removed: [9] }).nodes).toEqual([node(1)])
    expect(applyNodeMessage(t, 'heartbeat', { timestamp: 't3', nodes: [] })).toBe(t)
  })
})
