import { describe, expect, it } from 'vitest'
import type { FleetHistory } from '../../shared/contracts/history'
import type { NodeView } from '../../shared/contracts/rest'
import {
  compareQuery, drawnCount, fleetChartData, fleetSelector, labelChoices, lineStyle, MAX_IDS_IN_QUERY, parseCompareView, rankFleet, selectNodes,
  type CompareView,
} from '../../utils/compare'

const node = (id: number, hostname: string, labels: Record<string, string> = {}, kind: NodeView['kind'] = 'agent'): NodeView => ({
  id, hostname, status: 'online', state: 'online', is_master: false, cpu_percent: 1, memory_percent: 1, disk_percent: 1, uptime_seconds: 1, active_backups: 0,
  last_seen: null, kind, labels, maintenance: false, created_at: '', last_sample_at: null,
})
const nodes = [
  node(1, 'web-01', { cluster: 'prod' }), node(2, 'web-02', { cluster: 'prod', rack: 'r1' }), node(3, 'db-01', { cluster: 'test' }),
  node(4, 'site-a / web-03', { member: 'site-a' }, 'member'),
]
const members = new Map([[4, 'site-a']])
const view = (query: Record<string, string> = {}): CompareView => parseCompareView(query)

function fleet(series: Record<number, (number | null)[]>): FleetHistory {
  return {
    metric: 'cpu_percent', from: '', to: '', tier: { name: '1m', width_seconds: 60, retention_seconds: 0 }, step_seconds: 60,
    nodes: Object.entries(series).map(([id, values]) => ({
      node_id: Number(id), hostname: `n${id}`, gaps: [], buckets: values.map((avg, i) => ({ t: 100 + i * 60, avg, min: avg, max: avg })),
    })),
  }
}

describe('the fleet view in the URL', () => {
  it('reads every key, and falls back to the defaults on anything unknown', () => {
    expect(view({ metric: 'load1', scope: 'member:site-a', label: 'cluster:prod', q: 'web', nodes: '3,1,3', top: '20', by: 'latest' })).toEqual({
      metric: 'load1', scope: { kind: 'member', name: 'site-a' }, label: 'cluster:prod', q: 'web', nodes: [3, 1], top: '20', by: 'latest',
    })
    expect(view({ metric: 'cpu', label: 'nocolon', nodes: '1,x', top: '7', by: 'max' })).toEqual({
      metric: 'cpu_percent', scope: { kind: 'all' }, label: '', q: '', nodes: null, top: '10', by: 'average',
    })
  })

  it('writes it back, leaving the defaults out', () => {
    expect(compareQuery(view())).toEqual({})
    const query = { metric: 'disk_percent', scope: 'local', label: 'rack:r1', q: 'db', nodes: '2,4', top: 'all', by: 'latest' }
    expect(compareQuery(view(query))).toEqual(query)
  })
})

describe('the node selection', () => {
  const ids = (query: Record<string, string>) => selectNodes(nodes, view(query), members).map(n => n.id)

  it('combines the member, label, hostname search and explicit ids', () => {
    expect(ids({})).toEqual([1, 2, 3, 4])
    expect(ids({ scope: 'member:site-a' })).toEqual([4])
    expect(ids({ scope: 'local' })).toEqual([1, 2, 3])
    expect(ids({ label: 'cluster:prod' })).toEqual([1, 2])
    expect(ids({ q: 'WEB' })).toEqual([1, 2, 4])
    expect(ids({ q: 'web', label: 'cluster:prod', nodes: '2,3' })).toEqual([2])
    expect(ids({ label: 'cluster:nope' })).toEqual([])
  })

  it('asks the API for every node, a label, or the ids, as the selection allows', () => {
    const selector = (query: Record<string, string>) => fleetSelector(view(query), selectNodes(nodes, view(query), members), nodes)
    expect(selector({})).toEqual({})
    expect(selector({ label: 'cluster:prod' })).toEqual({ label: 'cluster:prod' })
    expect(selector({ label: 'cluster:prod', q: '02' })).toEqual({ nodes: '2' })
    expect(selector({ scope: 'local' })).toEqual({ nodes: '1,2,3' })
    expect(selector({ q: 'nothing' })).toBeNull()
    const many = Array.from({ length: MAX_IDS_IN_QUERY + 1 }, (_, i) => node(i + 1, `h${i}`))
    expect(fleetSelector(view({ q: 'h' }), many, [...many, node(9999, 'other')])).toEqual({})
  })

  it('lists every label once, sorted', () => {
    expect(labelChoices(nodes)).toEqual(['cluster:prod', 'cluster:test', 'member:site-a', 'rack:r1'])
  })
})

describe('the ranking and the lines', () => {
  const history = fleet({ 1: [10, 20, null], 2: [50, null, 5], 3: [null, null, null], 4: [30, 30, 30] })

  it('ranks by the range\'s average or the latest value, highest first, nodes without data last', () => {
    const ranks = rankFleet(history, 'average')
    expect(ranks.map(r => r.id)).toEqual([4, 2, 1, 3])
    expect(ranks[0]).toEqual({ id: 4, hostname: 'n4', average: 30, latest: 30, latestAt: 220 })
    expect(ranks[1]).toMatchObject({ average: 27.5, latest: 5, latestAt: 220 })
    expect(ranks[3]).toMatchObject({ average: null, latest: null })
    expect(rankFleet(history, 'latest').map(r => r.id)).toEqual([4, 1, 2, 3])
    expect(rankFleet(history, 'average', new Set([1, 3])).map(r => r.id)).toEqual([1, 3])
  })

  it('draws the top N of the nodes with data, on the shared buckets', () => {
    const ranks = rankFleet(history, 'average')
    expect(drawnCount(ranks, '10')).toBe(3)
    expect(drawnCount(ranks, 'all')).toBe(3)
    const wide = rankFleet(fleet(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [i + 1, [i]]))), 'average')
    expect(drawnCount(wide, '20')).toBe(20)
    expect(fleetChartData(history, [4, 1, 99])).toEqual([[100, 160, 220], [30, 30, 30], [10, 20, null], [null, null, null]])
  })

  it('gives each line a colour for either scheme, repeating the hues dashed after ten', () => {
    expect(lineStyle(0).dash).toBeNull()
    expect(lineStyle(10)).toMatchObject({ light: lineStyle(0).light, dark: lineStyle(0).dark })
    expect(lineStyle(10).dash).not.toBeNull()
    expect(new Set(Array.from({ length: 10 }, (_, i) => lineStyle(i).light)).size).toBe(10)
  })
})
