import { describe, expect, it } from 'vitest'
import { createAggregator } from '../../server/services/aggregator'
import type { ReportEntry } from '../../server/services/journal'
import type { Registry } from '../../server/services/registry'

// The aggregator only lists nodes from the registry; an empty one is enough for the rate.
const registry = { list: () => [], get: () => undefined } as unknown as Registry
const report = (nodeId = 1): ReportEntry => ({ id: 1, nodeId, ts: new Date(), receivedAt: new Date(), cpuPercent: 10, memoryPercent: null, diskPercent: 20, uptimeSeconds: null, activeBackups: null })

describe('aggregator reports_per_minute', () => {
  it('counts the reports of the last 60 s, a partly overlapping window pro rata', () => {
    const agg = createAggregator(registry, { windowMs: 60_000, windowCount: 60, staleAfterSeconds: 300, unreachableAfterSeconds: 60 })
    const t0 = 1_800_000_000_000 - (1_800_000_000_000 % 60_000)
    for (let i = 0; i < 30; i++) agg.record(report(), t0 + i * 1000) // 30 reports in window [t0, t0+60 s)
    for (let i = 0; i < 10; i++) agg.record(report(), t0 + 60_000 + i * 1000) // 10 in the next window
    // At t0 + 90 s the last minute covers the second half of the first window and the second window so far.
    expect(agg.snapshot(t0 + 90_000).reports_per_minute).toBe(25)
    expect(agg.snapshot(t0 + 90_000).total_reports).toBe(40)
    // Two minutes later nothing is in the last minute.
    expect(agg.snapshot(t0 + 240_000).reports_per_minute).toBe(0)
  })

  it('keeps at most windowCount windows, whatever the rate', () => {
    const agg = createAggregator(registry, { windowMs: 1000, windowCount: 3, staleAfterSeconds: 300, unreachableAfterSeconds: 60 })
    for (let i = 0; i < 10; i++) agg.record(report(), 1_000_000 + i * 1000)
    expect(agg.snapshot(1_000_000 + 9_500).window_start).toBe(Math.floor((1_000_000 + 7_000) / 1000))
  })
})
