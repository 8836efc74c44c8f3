import { describe, expect, it } from 'vitest'
import type { NodeStats, NodeStatsSnapshot } from '../../shared/contracts/seed000'
import { clusterTotals, fitColumns, formatAgo, formatDuration, renderView, sortNodes, truncate, type RenderOptions } from '../../cli/top/table'

const NOW = '2026-12-01T12:00:00.000Z'
const ago = (s: number) => new Date(Date.parse(NOW) - s * 1000).toISOString()
const node = (id: number, hostname: string, fields: Partial<NodeStats> = {}): NodeStats => ({
  id, hostname, status: 'online', is_master: false, cpu_percent: 10, memory_percent: 20, disk_percent: 30,
  uptime_seconds: 3600, active_backups: 0, last_seen: ago(2), ...fields, state: fields.state ?? fields.status ?? 'online',
})
const NODES = [
  node(1, 'master-01', { is_master: true, cpu_percent: 50.25 }),
  node(2, 'web-02', { cpu_percent: 91, memory_percent: 80 }),
  node(3, 'db-03', { status: 'stale', cpu_percent: 5, last_seen: ago(600) }),
  node(4, 'fresh-04', { status: 'offline', cpu_percent: null, memory_percent: null, disk_percent: null, uptime_seconds: null, last_seen: null }),
  // Silent past the unreachable threshold: the seed's status is still online, its figures are old.
  node(5, 'edge-05', { state: 'unreachable', cpu_percent: 95, memory_percent: 20, last_seen: ago(90) }),
]
const snapshot: NodeStatsSnapshot = { timestamp: NOW, nodes: NODES }
const opts = (o: Partial<RenderOptions> = {}): RenderOptions => ({ width: 80, colour: false, sort: { key: 'status', reverse: false }, server: 'http://np.test', ...o })
// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[\d;?]*[A-Za-z]/g
const visible = (line: string) => line.replace(ANSI, '')
const rows = (lines: string[]) => lines.slice(lines.findIndex(l => visible(l).includes('HOST')) + 1)

describe('cluster totals', () => {
  it('counts by state and averages over the online nodes that report, leaving an unreachable node\'s old figures out', () => {
    expect(clusterTotals(NODES)).toEqual({ nodes: 5, online: 2, unreachable: 1, stale: 1, offline: 1, cpu: (50.25 + 91) / 2, mem: 50, disk: 30 })
    expect(clusterTotals([]).cpu).toBeNull()
  })
})

describe('formatting', () => {
  it('uptime in its two largest units', () => {
    expect([0, 45, 125, 3600, 3660 + 5, 86_400 * 12 + 3 * 3600 + 59, null].map(formatDuration)).toEqual(['0s', '45s', '2m 5s', '1h', '1h 1m', '12d 3h', '-'])
  })

  it('last seen relative to the snapshot time', () => {
    expect([ago(0.2), ago(12), ago(300), ago(3 * 3600), ago(2 * 86_400)].map(t => formatAgo(t, NOW))).toEqual(['now', '12s ago', '5m ago', '3h ago', '2d ago'])
    expect(formatAgo(null, NOW)).toBe('never')
  })

  it('truncates with a mark', () => {
    expect(truncate('abcdef', 4)).toBe('abc~')
    expect(truncate('abc', 4)).toBe('abc')
  })
})

describe('sorting', () => {
  const ids = (key: 'status' | 'name' | 'cpu' | 'mem' | 'disk', reverse = false) => sortNodes(NODES, { key, reverse }).map(n => n.id)
  it('status puts offline, stale and unreachable first, then by name', () => {
    expect(ids('status')).toEqual([4, 3, 5, 1, 2])
  })
  it('cpu and mem busiest first, a node without the figure last', () => {
    expect(ids('cpu')).toEqual([5, 2, 1, 3, 4])
    expect(ids('mem')).toEqual([2, 3, 5, 1, 4])
  })
  it('name alphabetically; reverse turns any order round', () => {
    expect(ids('name')).toEqual([3, 5, 4, 1, 2])
    expect(ids('name', true)).toEqual([2, 1, 4, 5, 3])
  })
  it('does not change the snapshot', () => {
    sortNodes(NODES, { key: 'cpu', reverse: false })
    expect(NODES.map(n => n.id)).toEqual([1, 2, 3, 4, 5])
  })
})

describe('the table on 80 columns', () => {
  const lines = renderView(snapshot, opts())

  it('shows the totals on top and every column', () => {
    expect(lines[0]).toBe('nodepulse top  http://np.test  12:00:00 UTC')
    expect(lines[1]).toBe('5 nodes: 2 online, 1 unreachable, 1 stale, 1 offline')
    expect(lines[2]).toBe('avg of online: cpu 70.6%  mem 50.0%  disk 30.0%')
    const header = lines.find(l => l.includes('HOST'))!
    expect(header.trim().split(/\s{2,}/).map(s => s.trim())).toEqual(['ID', 'HOST', 'STATUS*', 'CPU%', 'MEM%', 'DISK%', 'UPTIME', 'LAST SEEN'])
  })

  it('one row per node in sort order, with its figures', () => {
    const body = rows(lines)
    expect(body).toHaveLength(5)
    expect(body[0]!.split(/\s+/).filter(Boolean)).toEqual(['4', 'fresh-04', 'offline', '-', '-', '-', '-', 'never'])
    expect(body[1]).toMatch(/^\s+3\s+db-03\s+stale\s+5\.0\s+20\.0\s+30\.0\s+1h\s+10m ago$/)
    expect(body[2]).toMatch(/^\s+5\s+edge-05\s+unreachable\s+95\.0\s+20\.0\s+30\.0\s+1h\s+1m ago$/)
    expect(body[3]).toMatch(/master-01\s+online\s+50\.3/)
  })

  it('no line is wider than the terminal and none has escape codes without colour', () => {
    for (const l of lines) {
      expect(l.length).toBeLessThanOrEqual(80)
      expect(l).not.toMatch(ANSI)
    }
  })

  it('truncates a long hostname to fit, marked', () => {
    const long = renderView({ timestamp: NOW, nodes: [node(9, `very-long-hostname-${'x'.repeat(80)}.example.com`)] }, opts())
    const row = rows(long)[0]!
    expect(row.length).toBeLessThanOrEqual(80)
    expect(row).toMatch(/very-long-host[\w-]*~ /)
  })

  it('shows control characters in a hostname as ?, never raw', () => {
    const row = rows(renderView({ timestamp: NOW, nodes: [node(9, 'evil\u001B[2Jhost')] }, opts()))[0]!
    expect(row).toContain('evil?[2Jhost')
  })
})

describe('narrower terminals', () => {
  const header = (width: number) => renderView(snapshot, opts({ width })).find(l => l.includes('HOST'))!

  it('drops id first, then uptime, last seen, disk and mem; host, status and cpu stay', () => {
    const titles = (width: number) => fitColumns(width, NODES).map(c => c.title)
    expect(titles(80)).toEqual(['ID', 'HOST', 'STATUS', 'CPU%', 'MEM%', 'DISK%', 'UPTIME', 'LAST SEEN'])
    expect(titles(64)).toEqual(['HOST', 'STATUS', 'CPU%', 'MEM%', 'DISK%', 'UPTIME', 'LAST SEEN'])
    expect(titles(54)).toEqual(['HOST', 'STATUS', 'CPU%', 'MEM%', 'DISK%', 'LAST SEEN'])
    expect(titles(44)).toEqual(['HOST', 'STATUS', 'CPU%', 'MEM%', 'DISK%'])
    expect(titles(34)).toEqual(['HOST', 'STATUS', 'CPU%'])
    expect(header(30)).toContain('CPU%')
  })

  it('keeps every line within the width', () => {
    for (const width of [30, 40, 50, 60, 70]) {
      for (const l of renderView(snapshot, opts({ width }))) expect(l.length, `${width}: ${l}`).toBeLessThanOrEqual(width)
    }
  })

  it('stops at the screen\'s height and says how many more', () => {
    const many = { timestamp: NOW, nodes: Array.from({ length: 50 }, (_, i) => node(i + 1, `n-${String(i).padStart(2, '0')}`)) }
    const lines = renderView(many, opts({ height: 20, sort: { key: 'name', reverse: false } }))
    expect(lines).toHaveLength(20)
    expect(lines.at(-1)).toMatch(/^\.\.\. \d+ more/)
  })
})

describe('colour', () => {
  it('status in colour and high load marked on a terminal, the text unchanged', () => {
    const lines = renderView(snapshot, opts({ colour: true }))
    const body = rows(lines)
    expect(body[0]).toContain('\u001B[31moffline')
    expect(body[1]).toContain('\u001B[33mstale')
    expect(body.find(l => l.includes('web-02'))).toContain('\u001B[31m 91.0')
    // An unreachable node's 95 % is its last known figure: dim, not red.
    const edge = body.find(l => l.includes('edge-05'))!
    expect(edge).toContain('\u001B[35munreachable')
    expect(edge).toContain('\u001B[2m 95.0')
    expect(edge).not.toContain('\u001B[31m')
    expect(lines.map(l => visible(l).trimEnd())).toEqual(renderView(snapshot, opts()))
  })

  it('none without colour (plain lines for a pipe)', () => {
    expect(renderView(snapshot, opts({ status: 'reconnecting', keys: true })).join('\n')).not.toMatch(ANSI)
  })
})
