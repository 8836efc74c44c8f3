import { describe, expect, it } from 'vitest'
import { fleetHistoryQuery, nodeHistoryQuery, uptimeQuery } from '../../shared/contracts/history'
import { loadConfig } from '../../server/services/config'
import { toSeries } from '../../server/services/history/query'
import { DEFAULT_HISTORY_TIERS, parseHistoryTiers, planQuery } from '../../server/services/history/tiers'
import { uptimeDays } from '../../server/services/history/uptime'

const H = 3600
const D = 86_400

describe('NODEPULSE_HISTORY_TIERS', () => {
  it('reads the default: raw 48 h, 1 min 14 d, 15 min 90 d, 1 h 2 y', () => {
    expect(parseHistoryTiers(DEFAULT_HISTORY_TIERS)).toEqual([
      { name: 'raw', width_seconds: 0, retention_seconds: 48 * H },
      { name: '1m', width_seconds: 60, retention_seconds: 14 * D },
      { name: '15m', width_seconds: 900, retention_seconds: 90 * D },
      { name: '1h', width_seconds: 3600, retention_seconds: 2 * 365 * D },
    ])
    expect(loadConfig({}).historyTiers).toHaveLength(4)
  })

  it.each([
    ['1m:14d', 'the first tier must be raw'],
    ['raw:48h,raw:7d', 'raw may appear only once'],
    ['raw:48h,1x:14d', '"1x" is not a bucket width'],
    ['raw:48h,1m:forever', '"forever" is not a duration'],
    ['raw:48h,1m', '"1m" must be width:retention'],
    ['raw:48h,15m:14d,1h:10d', '1h must be kept longer than 15m'],
    ['raw:48h,10m:14d,15m:90d', 'bucket width 15m must be a whole multiple of 10m'],
    ['raw:48h,1h:14d,15m:90d', 'bucket width 15m must be a whole multiple of 1h'],
    ['raw:1h,1h:14d', 'raw must be kept at least two 1h buckets'],
    ['raw:48h,1m:14d,2w:30y', 'bucket width 2w is longer than 7d'],
  ])('refuses %s at start with a message naming the variable: %s', (spec, why) => {
    expect(() => parseHistoryTiers(spec)).toThrow(`NODEPULSE_HISTORY_TIERS=${spec} is invalid: ${why}`)
    expect(() => loadConfig({ NODEPULSE_HISTORY_TIERS: spec })).toThrow('NODEPULSE_HISTORY_TIERS')
  })

  it('takes a custom list', () => {
    expect(parseHistoryTiers('raw:7d, 5m:60d, 1d:10y').map(t => [t.name, t.width_seconds])).toEqual([['raw', 0], ['5m', 300], ['1d', 86_400]])
  })
})

describe('planQuery', () => {
  const tiers = parseHistoryTiers(DEFAULT_HISTORY_TIERS)
  const now = 1_800_000_000

  it('reads raw samples for an hour and buckets them at a round step within the points', () => {
    const p = planQuery(tiers, now - H, now, 300, now)
    expect(p).toMatchObject({ tier: { name: 'raw' }, step: 12 })
    expect((p.to - p.from) / p.step).toBeLessThanOrEqual(300)
  })

  it.each([
    [24 * H, 300, '1m', 300],
    [7 * D, 300, '15m', 2700],
    [30 * D, 300, '1h', 3 * H],
    [30 * D, 2000, '15m', 1800],
    [365 * D, 500, '1h', 20 * H],
  ])('a range of %i s in %i points reads %s with a step of %i s', (range, points, tier, step) => {
    const p = planQuery(tiers, now - range, now, points, now)
    expect(p.tier.name).toBe(tier)
    expect(p.step).toBe(step)
    expect(p.step % Math.max(1, p.tier.width_seconds)).toBe(0)
    expect((p.to - p.from) / p.step).toBeLessThanOrEqual(points)
    expect(p.from % p.step).toBe(0)
  })

  it('past every retention, reads the longest-kept tier', () => {
    expect(planQuery(tiers, now - 5 * 365 * D, now - 4 * 365 * D, 100, now).tier.name).toBe('1h')
  })

  it('never returns more buckets than points, even one', () => {
    const p = planQuery(tiers, now - 3 * H + 17, now - 5, 1, now)
    expect((p.to - p.from) / p.step).toBe(1)
  })
})

describe('toSeries', () => {
  it('lists every bucket, empty ones with null figures, and merges runs of empty buckets into gaps', () => {
    const plan = { tier: { name: '1m', width_seconds: 60, retention_seconds: D }, step: 60, from: 600, to: 1080 }
    const none = [null, null, null]
    const figures = { avg: [1, ...none, 3, ...none], min: [0, ...none, 3, ...none], max: [2, ...none, 3, ...none] }
    const s = toSeries(plan, figures)
    expect(s.buckets.map(b => b.t)).toEqual([600, 660, 720, 780, 840, 900, 960, 1020])
    expect(s.buckets[1]).toEqual({ t: 660, avg: null, min: null, max: null })
    expect(s.gaps).toEqual([{ from: 660, to: 840 }, { from: 900, to: 1080 }])
    expect(toSeries(plan, undefined).gaps).toEqual([{ from: 600, to: 1080 }])
  })
})

describe('uptimeDays', () => {
  it('splits status spans over UTC days, with null where nothing is known', () => {
    const day = Date.UTC(2026, 0, 10)
    const days = uptimeDays([
      { from: day + 6 * H * 1000, to: day + 30 * H * 1000, online: true },
      { from: day + 30 * H * 1000, to: day + 36 * H * 1000, online: false },
    ], day - D * 1000, day + 36 * H * 1000)
    expect(days).toEqual([
      { date: '2026-01-09', online_seconds: 0, known_seconds: 0, online_share: null },
      { date: '2026-01-10', online_seconds: 18 * H, known_seconds: 18 * H, online_share: 1 },
      { date: '2026-01-11', online_seconds: 6 * H, known_seconds: 12 * H, online_share: 0.5 },
    ])
  })
})

describe('history query contracts', () => {
  const issues = (r: { success: boolean, error?: { issues: { path: PropertyKey[], message: string }[] } }) => r.error?.issues.map(i => `${i.path.join('.')}: ${i.message}`)

  it('names the bad field', () => {
    expect(issues(nodeHistoryQuery.safeParse({ metrics: 'cpu_percent,nope' }))?.[0]).toMatch(/^metrics\.1: must be one of cpu_percent/)
    expect(issues(nodeHistoryQuery.safeParse({ from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' }))).toEqual(['from: must be before to'])
    expect(issues(nodeHistoryQuery.safeParse({ from: 'yesterday' }))).toEqual(['from: must be an ISO-8601 time or a unix timestamp'])
    expect(issues(nodeHistoryQuery.safeParse({ points: '5000' }))).toEqual(['points: must be at most 2000'])
    expect(issues(nodeHistoryQuery.safeParse({ from: '1990-01-01T00:00:00Z', to: '1990-01-02T00:00:00Z' }))).toEqual(['from: must not be before the year 2000'])
    expect(issues(fleetHistoryQuery.safeParse({}))).toEqual(['metric: is required'])
    expect(issues(fleetHistoryQuery.safeParse({ metric: 'cpu_percent', nodes: '1,x' }))).toEqual(['nodes.1: must be a list of positive whole numbers'])
    expect(issues(fleetHistoryQuery.safeParse({ metric: 'cpu_percent', label: 'novalue' }))).toEqual(['label: must be name:value (e.g. cluster:prod)'])
    expect(issues(uptimeQuery.safeParse({ days: '0' }))).toEqual(['days: must be at least 1'])
  })

  it('fills the defaults: the last 24 h, 300 points, the three summary metrics', () => {
    const q = nodeHistoryQuery.parse({})
    expect(q.metrics).toEqual(['cpu_percent', 'memory_percent', 'disk_percent'])
    expect(q.to.getTime() - q.from.getTime()).toBe(D * 1000)
    expect(q.points).toBe(300)
    expect(nodeHistoryQuery.parse({ metrics: ['load1,load5', 'load1'] }).metrics).toEqual(['load1', 'load5'])
  })
})
