import { describe, expect, it } from 'vitest'
import type { NodeHistory } from '../../shared/contracts/history'
import type { NodeDetailStats } from '../../shared/contracts/seed000'
import {
  appendLive, CHART_GROUPS, formatChartValue, groupData, interiorGaps, liveValues, newestPoint, parseRangeQuery, pointCount, rangeEnds, rangeQuery, RATE_TICK_STEPS, usualSpacing,
  type ChartData,
} from '../../utils/historyChart'

const load = CHART_GROUPS.find(g => g.id === 'load')!
const cpu = CHART_GROUPS.find(g => g.id === 'cpu')!

function history(): NodeHistory {
  const buckets = (values: (number | null)[]) => values.map((v, i) => ({ t: 1000 + i * 60, avg: v, min: v === null ? null : v - 1, max: v === null ? null : v + 1 }))
  return {
    node_id: 1, from: '', to: '', tier: { name: '1m', width_seconds: 60, retention_seconds: 0 }, step_seconds: 60,
    series: [
      { metric: 'load1', buckets: buckets([1, null, 3]), gaps: [{ from: 1060, to: 1120 }] },
      { metric: 'load5', buckets: buckets([2, null, 4]), gaps: [] },
      { metric: 'load15', buckets: buckets([null, null, 5]), gaps: [] },
      { metric: 'cpu_percent', buckets: buckets([null, null, null]), gaps: [] },
    ],
  }
}

describe('the range in the URL', () => {
  it('reads presets and custom ends, and falls back to 24 h on anything else', () => {
    expect(parseRangeQuery({ range: '7d' })).toEqual({ preset: '7d' })
    expect(parseRangeQuery({ range: ['1h', '6h'] })).toEqual({ preset: '1h' })
    expect(parseRangeQuery({ from: '1700000000', to: '1700003600' })).toEqual({ from: 1_700_000_000, to: 1_700_003_600 })
    expect(parseRangeQuery({ from: '1700003600', to: '1700000000' })).toEqual({ preset: '24h' })
    expect(parseRangeQuery({ range: '2w' })).toEqual({ preset: '24h' })
    expect(parseRangeQuery({ range: 'constructor' })).toEqual({ preset: '24h' })
    expect(parseRangeQuery({ from: 'yesterday', to: '1700000000' })).toEqual({ preset: '24h' })
  })

  it('writes it back, leaving the default out', () => {
    expect(rangeQuery({ preset: '24h' })).toEqual({})
    expect(rangeQuery({ preset: '30d' })).toEqual({ range: '30d' })
    expect(rangeQuery({ from: 5, to: 9 })).toEqual({ from: '5', to: '9' })
    for (const choice of [{ preset: '1y' as const }, { from: 1_700_000_000, to: 1_700_000_100 }]) expect(parseRangeQuery(rangeQuery(choice))).toEqual(choice)
  })

  it('ends a preset now', () => {
    expect(rangeEnds({ preset: '1h' }, 7_200_500)).toEqual({ from: 3600, to: 7200 })
    expect(rangeEnds({ from: 1, to: 2 }, 7_200_500)).toEqual({ from: 1, to: 2 })
  })
})

describe('chart data', () => {
  it('aligns each metric as avg, min, max on the buckets, keeping gaps null', () => {
    const data = groupData(history(), load)
    expect(data[0]).toEqual([1000, 1060, 1120])
    expect(data.slice(1, 4)).toEqual([[1, null, 3], [0, null, 2], [2, null, 4]])
    expect(data[7]).toEqual([null, null, 5])
    expect(pointCount(data)).toBe(2)
    expect(pointCount(groupData(history(), cpu))).toBe(0)
    expect(newestPoint(data)).toBe(1120)
    expect(newestPoint(groupData(history(), cpu))).toBeNull()
    expect(interiorGaps(data)).toBe(0)
    expect(interiorGaps([[1, 2, 3, 4], [null, 1, 2, null]])).toBe(0)
    // Samples every 3 buckets (buckets finer than the report interval): no gap, until a hole.
    expect(usualSpacing([0, 10, 20, 30, 40, 50, 60], [1, null, null, 2, null, null, 3])).toBe(30)
    expect(interiorGaps([[0, 10, 20, 30, 40, 50, 60], [1, null, null, 2, null, null, 3]])).toBe(0)
    expect(interiorGaps([[0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140], [1, null, 1, null, 1, null, 1, null, null, null, null, null, 1, null, 1]])).toBe(1)
    expect(usualSpacing([0, 10], [null, 1])).toBeNull()
  })

  it('folds a live sample into the last bucket or opens a new one on the grid, dropping what falls out of the window', () => {
    const data = groupData(history(), load)
    // Inside the last bucket (1120–1180): min/max widen, the server's avg stays.
    expect(appendLive(data, load, { load1: 9, load5: 4, load15: null }, 1150, 60, 3600)).toBe(true)
    expect(data[0]).toEqual([1000, 1060, 1120])
    expect([data[1]![2], data[2]![2], data[3]![2]]).toEqual([3, 2, 9])
    // Two buckets later: a new bucket at 1240, on the grid.
    expect(appendLive(data, load, { load1: 0.5, load5: 1, load15: 2 }, 1250, 60, 3600)).toBe(true)
    expect(data[0]).toEqual([1000, 1060, 1120, 1240])
    expect(data.slice(1).map(c => c.at(-1))).toEqual([0.5, 0.5, 0.5, 1, 1, 1, 2, 2, 2])
    expect(pointCount(data)).toBe(3)
    // Older than the last bucket: ignored.
    expect(appendLive(data, load, { load1: 1, load5: 1, load15: 1 }, 1100, 60, 3600)).toBe(false)
    // A short window drops the oldest buckets.
    appendLive(data, load, { load1: 1, load5: 1, load15: 1 }, 1300, 60, 120)
    expect(data[0]).toEqual([1240, 1300])
    expect(data.every(c => c.length === 2)).toBe(true)
  })

  it('starts a series from nothing', () => {
    const data: ChartData = [[], [], [], []]
    appendLive(data, cpu, { cpu_percent: 12 }, 500, 10, 3600)
    expect(data).toEqual([[500], [12], [12], [12]])
  })

  it('reads the live sample as the rollups read a raw one', () => {
    const node = {
      id: 1, hostname: 'h', status: 'online', state: 'online', is_master: false, cpu_percent: 5, memory_percent: 6, disk_percent: null, uptime_seconds: 1, active_backups: 0, last_seen: null,
      detail: {
        kind: 'agent', labels: {}, created_at: '', last_sample_at: null,
        load: { '1m': 1, '5m': 2, '15m': 3 },
        network: [{ iface: 'a', rx_bytes_per_sec: 100, tx_bytes_per_sec: null }, { iface: 'b', rx_bytes_per_sec: 50, tx_bytes_per_sec: null }],
        disk_io: null,
      },
    } satisfies NodeDetailStats
    expect(liveValues(node)).toEqual({
      cpu_percent: 5, memory_percent: 6, disk_percent: null, load1: 1, load5: 2, load15: 3,
      net_rx_bytes_per_sec: 150, net_tx_bytes_per_sec: null, disk_read_bytes_per_sec: null, disk_write_bytes_per_sec: null,
    })
  })
})

describe('chart values', () => {
  it('reads in the unit of the chart', () => {
    expect(formatChartValue(42.25, 'percent')).toBe('42.3 %')
    expect(formatChartValue(1.256, 'load')).toBe('1.26')
    expect(formatChartValue(512, 'rate')).toBe('512 B/s')
    expect(formatChartValue(1536, 'rate')).toBe('1.5 KiB/s')
    expect(formatChartValue(300 * 1024 * 1024, 'rate')).toBe('300 MiB/s')
    expect(formatChartValue(null, 'rate')).toBe('—')
    expect(formatChartValue(7.5 * 1024 ** 3, 'bytes')).toBe('7.5 GiB')
    expect(formatChartValue(61.04, 'celsius')).toBe('61 °C')
    expect(formatChartValue(212, 'count')).toBe('212')
    expect(formatChartValue(0.25, 'count')).toBe('0.3')
    expect(RATE_TICK_STEPS.slice(9, 12)).toEqual([1024, 2048, 5120])
  })
})
