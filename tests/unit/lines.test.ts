import { describe, expect, it } from 'vitest'
import { LINE_BUDGET_BYTES, MAX_LINE_BYTES, STATS_NODES_MAX, type NodeAggregate, type NodeEntry, type StatsMessage } from '../../shared/contracts/seed001'
import { encodeSse } from '../../server/services/streams/hub'
import { fittingPrefix, jsonBytes, splitForLines } from '../../server/services/streams/lines'
import { boundedStats, nodesParts } from '../../server/services/streams/seed001'

/** The longest line of an encoded SSE message, in bytes (without its newline). */
const longestLine = (buf: Buffer) => Math.max(...buf.toString('utf8').split('\n').map(l => Buffer.byteLength(l)))

// The biggest node the contracts allow: a 253-character hostname, 32 labels of 63-character names and
// 255-character values that JSON escapes to six bytes each.
const worstLabels = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`${String(i).padStart(2, '0')}${'n'.repeat(61)}`, '\u0001'.repeat(255)]))
function entry(id: number, hostname = `node-${id}.example`, labels: Record<string, string> = {}): NodeEntry {
  return {
    id, hostname, status: 'online', is_master: false, cpu_percent: 12.5, memory_percent: 40.25, disk_percent: 51, uptime_seconds: 86_400,
    active_backups: 0, last_seen: '2026-01-01T00:00:00.000Z', kind: 'agent', labels,
  }
}
function aggregate(id: number, reports: number, hostname = `node-${id}.${'rack.'.repeat(40)}example`): NodeAggregate {
  return {
    node_id: id, hostname, status: 'online', is_master: false, cpu_percent: 1, memory_percent: 2, disk_percent: 3, active_backups: 0,
    last_seen: '2026-01-01T00:00:00.000Z', reports, avg_cpu_percent: 1, avg_memory_percent: 2, avg_disk_percent: 3,
  }
}
function stats(nodes: NodeAggregate[]): Omit<StatsMessage, 'providers_total'> {
  return {
    timestamp: 1, total_nodes: nodes.length, online: nodes.length, stale: 0, offline: 0, total_reports: 0, rejected_reports: 0, reports_per_minute: 0,
    avg_cpu_percent: 1, avg_memory_percent: 2, avg_disk_percent: 3, active_backups: 0, window_start: 0, last_updated: 0, nodes,
    total_requests: 0, total_tokens: 0, total_cost: 0, providers: nodes.map(n => ({ provider_id: n.node_id, total_requests: n.reports })),
  }
}

describe('splitForLines', () => {
  it('keeps every item, in order, in runs whose messages stay within the budget', () => {
    const items = Array.from({ length: 5000 }, (_, i) => ({ i, pad: 'x'.repeat(i % 300) }))
    const runs = splitForLines(items, run => ({ timestamp: 1, logs: run, count: run.length }))
    expect(runs.flat()).toEqual(items)
    expect(runs.length).toBeGreaterThan(10)
    for (const run of runs) expect(longestLine(encodeSse({ timestamp: 1, logs: run, count: run.length }, { event: 'logs' }))).toBeLessThanOrEqual(LINE_BUDGET_BYTES)
    // Packed, not one per line: each run but the last would pass the budget with the next item.
    for (let i = 0; i < runs.length - 1; i++) {
      expect(jsonBytes({ timestamp: 1, logs: [...runs[i]!, runs[i + 1]![0]], count: 0 }) + 6).toBeGreaterThan(LINE_BUDGET_BYTES - 200)
    }
  })

  it('gives an item bigger than the budget a run of its own, and an empty list one empty run', () => {
    const big = { pad: 'y'.repeat(LINE_BUDGET_BYTES) }
    expect(splitForLines([{ a: 1 }, big, { b: 2 }], run => ({ run }))).toEqual([[{ a: 1 }], [big], [{ b: 2 }]])
    expect(splitForLines([], run => ({ run }))).toEqual([[]])
  })

  it('fittingPrefix counts what fits beside the base, at most max', () => {
    expect(fittingPrefix([1, 2, 3], {}, () => 10, 2)).toBe(2)
    expect(fittingPrefix([1, 2, 3], {}, () => LINE_BUDGET_BYTES / 2, 10)).toBe(1)
  })
})

describe('nodes snapshot parts', () => {
  it('10,000 nodes: parts under 64 KiB each, numbered, with offsets, that put the whole list back together', () => {
    const list = Array.from({ length: 10_000 }, (_, i) => entry(i + 1, `host-${i}.${'zone-a.'.repeat(20)}example`, { rack: String(i % 40), role: 'worker' }))
    const parts = nodesParts(list, 1_700_000_000, 7)
    expect(parts.length).toBeGreaterThan(40)
    const assembled: NodeEntry[] = []
    for (const [i, p] of parts.entries()) {
      expect(p).toMatchObject({ snapshot: 7, part: i + 1, parts: parts.length, total: 10_000, offset: assembled.length, timestamp: 1_700_000_000 })
      expect(longestLine(encodeSse(p, { id: '1-1', event: 'nodes' }))).toBeLessThan(MAX_LINE_BYTES)
      assembled.push(...p.nodes)
    }
    expect(assembled).toEqual(list)
  })

  it('the biggest node the contracts allow fits one line on its own', () => {
    const worst = entry(1, 'h'.repeat(253), worstLabels)
    const parts = nodesParts([entry(0), worst, entry(2)], 1, 1)
    for (const p of parts) expect(longestLine(encodeSse(p, { id: '1-1', event: 'nodes' }))).toBeLessThan(MAX_LINE_BYTES)
    expect(parts.flatMap(p => p.nodes).map(n => n.id)).toEqual([0, 1, 2])
  })

  it('an empty fleet is one empty part', () => {
    expect(nodesParts([], 1, 1)).toEqual([{ timestamp: 1, nodes: [], total: 0, snapshot: 1, part: 1, parts: 1, offset: 0 }])
  })
})

describe('bounded stats', () => {
  it('lists the most active nodes first, at most STATS_NODES_MAX, with the full count beside them', () => {
    const nodes = Array.from({ length: 10_000 }, (_, i) => aggregate(i + 1, i % 17))
    const msg = boundedStats(stats(nodes))
    expect(longestLine(encodeSse(msg, { id: '1-1', event: 'stats' }))).toBeLessThanOrEqual(LINE_BUDGET_BYTES)
    expect(msg.providers_total).toBe(10_000)
    expect(msg.total_nodes).toBe(10_000)
    expect(msg.nodes.length).toBeGreaterThan(0)
    expect(msg.nodes.length).toBeLessThanOrEqual(STATS_NODES_MAX)
    expect(msg.providers).toEqual(msg.nodes.map(n => ({ provider_id: n.node_id, total_requests: n.reports })))
    const expected = [...nodes].sort((a, b) => b.reports - a.reports || a.node_id - b.node_id).slice(0, msg.nodes.length)
    expect(msg.nodes).toEqual(expected)
    expect(msg.nodes.every(n => n.reports === 16)).toBe(true)
  })

  it('fewer than STATS_NODES_MAX when long hostnames (the master\'s comes from the OS, unchecked) would pass the line, and every node of a small fleet', () => {
    const long = Array.from({ length: 300 }, (_, i) => aggregate(i + 1, 1, `${i}-${'h'.repeat(1000)}`))
    const msg = boundedStats(stats(long))
    expect(msg.nodes.length).toBeLessThan(STATS_NODES_MAX)
    expect(longestLine(encodeSse(msg, { event: 'stats' }))).toBeLessThanOrEqual(LINE_BUDGET_BYTES)
    const small = boundedStats(stats([aggregate(1, 0), aggregate(2, 5)]))
    expect(small.nodes.map(n => n.node_id)).toEqual([2, 1])
    expect(small.providers_total).toBe(2)
  })
})
