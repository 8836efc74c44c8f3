/**
 * History rollups, retention, queries and uptime against a real database of the project's
 * driver (an in-memory PGlite, or a fresh database on TEST_DATABASE_URL), through the services
 * themselves: samples are written as rows with chosen timestamps, and every rolled-up figure is
 * checked against the same figure computed here from the raw rows.
 */
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HISTORY_FIGURES, HISTORY_METRICS, type HistoryMetric } from '../../shared/contracts/history'
import type { HostDetail } from '../../shared/contracts/ingest'
import type { DatabaseHandle } from '../../server/db'
import { events, nodeSamples } from '../../server/db/schema'
import { createHistory } from '../../server/services/history'
import { createHistoryRollup } from '../../server/services/history/rollup'
import { parseHistoryTiers } from '../../server/services/history/tiers'
import { createRegistry, type Registry } from '../../server/services/registry'
import { openHistoryDatabase } from './support/historyDb'

const ALL_FIGURES = [...HISTORY_FIGURES]

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const rowsOf = <T>(result: unknown): T[] => (Array.isArray(result) ? result : (result as { rows: T[] }).rows)

let handle: DatabaseHandle
let registry: Registry
let close = async () => {}

beforeAll(async () => {
  ({ handle, close } = await openHistoryDatabase())
  registry = createRegistry(handle.db)
  await registry.load()
}, 90_000)

afterAll(async () => {
  await close()
})

// ---- raw rows and the figures expected from them ----------------------------------------

interface Raw { nodeId: number, ts: Date, cpuPercent: number, memoryPercent: number | null, diskPercent: number | null, activeBackups: number | null, detail: HostDetail | null }

/** Deterministic pseudo-random figures, some missing, so nulls and detail-less samples are covered. */
function makeSample(nodeId: number, ts: number, anySeed: number): Raw {
  const seed = Math.floor(anySeed)
  const r = (k: number) => Math.abs(Math.sin(seed * 12.9898 + k * 78.233)) % 1
  const hasDetail = seed % 7 !== 0
  return {
    nodeId, ts: new Date(ts), cpuPercent: Math.round(r(1) * 1000) / 10,
    memoryPercent: seed % 5 === 0 ? null : Math.round(r(2) * 1000) / 10,
    diskPercent: Math.round(r(3) * 1000) / 10,
    activeBackups: seed % 3,
    detail: hasDetail
      ? {
          load: { '1m': r(4) * 4, '5m': r(5) * 4, '15m': r(6) * 4 },
          memory: { total_bytes: 8e9, used_bytes: Math.round(r(7) * 8e9), swap_total_bytes: 1e9, swap_used_bytes: Math.round(r(8) * 1e9) },
          network: [{ iface: 'eth0', rx_bytes_per_sec: r(9) * 1e6, tx_bytes_per_sec: r(10) * 1e5 }, { iface: 'eth1', rx_bytes_per_sec: seed % 4 ? r(11) * 1e3 : null, tx_bytes_per_sec: null }],
          disk_io: seed % 6 ? { read_bytes_per_sec: r(12) * 1e7, write_bytes_per_sec: r(13) * 1e7 } : null,
          temperatures: [{ label: 'a', celsius: 30 + r(14) * 40 }, { label: 'b', celsius: 30 + r(15) * 40 }],
          processes: 100 + Math.round(r(16) * 300),
        }
      : null,
  }
}

const sum = (l: number[]) => l.reduce((a, b) => a + b, 0)
/** A metric of one raw row, as the rollup SQL reads it. */
function valueOf(s: Raw, m: HistoryMetric): number | null {
  const d = s.detail
  const nonNull = (l: (number | null | undefined)[]) => l.filter((v): v is number => v !== null && v !== undefined)
  switch (m) {
    case 'cpu_percent': return s.cpuPercent
    case 'memory_percent': return s.memoryPercent
    case 'disk_percent': return s.diskPercent
    case 'active_backups': return s.activeBackups
    case 'load1': return d?.load?.['1m'] ?? null
    case 'load5': return d?.load?.['5m'] ?? null
    case 'load15': return d?.load?.['15m'] ?? null
    case 'memory_used_bytes': return d?.memory?.used_bytes ?? null
    case 'swap_used_bytes': return d?.memory?.swap_used_bytes ?? null
    case 'net_rx_bytes_per_sec': { const l = nonNull(d?.network?.map(n => n.rx_bytes_per_sec) ?? []); return l.length ? sum(l) : null }
    case 'net_tx_bytes_per_sec': { const l = nonNull(d?.network?.map(n => n.tx_bytes_per_sec) ?? []); return l.length ? sum(l) : null }
    case 'disk_read_bytes_per_sec': return d?.disk_io?.read_bytes_per_sec ?? null
    case 'disk_write_bytes_per_sec': return d?.disk_io?.write_bytes_per_sec ?? null
    case 'temperature_celsius': { const l = nonNull(d?.temperatures?.map(t => t.celsius) ?? []); return l.length ? Math.max(...l) : null }
    case 'processes': return d?.processes ?? null
  }
}

interface Expected { samples: number, figures: Record<string, { avg: number | null, min: number | null, max: number | null, last: number | null, n: number }> }

/** Every (node, bucket) of `width` seconds with its figures, computed from the raw rows. */
function expectedBuckets(rows: Raw[], width: number, since = 0): Map<string, Expected> {
  const groups = new Map<string, Raw[]>()
  for (const r of rows) {
    const bucket = Math.floor(r.ts.getTime() / 1000 / width) * width
    if (bucket * 1000 < since) continue
    const key = `${r.nodeId}@${bucket}`
    groups.set(key, [...(groups.get(key) ?? []), r])
  }
  const out = new Map<string, Expected>()
  for (const [key, list] of groups) {
    const sorted = [...list].sort((a, b) => a.ts.getTime() - b.ts.getTime())
    const figures: Expected['figures'] = {}
    for (const m of HISTORY_METRICS) {
      const values = sorted.map(s => valueOf(s, m)).filter((v): v is number => v !== null)
      figures[m] = values.length
        ? { avg: sum(values) / values.length, min: Math.min(...values), max: Math.max(...values), last: values.at(-1)!, n: values.length }
        : { avg: null, min: null, max: null, last: null, n: 0 }
    }
    out.set(key, { samples: list.length, figures })
  }
  return out
}

/** The stored rollups of `width` for these nodes, keyed like `expectedBuckets`. */
async function storedBuckets(width: number, nodeIds: number[]): Promise<Map<string, Expected>> {
  const rows = rowsOf<Record<string, unknown>>(await handle.db.execute(sql`select * from history_rollups
    where width_seconds = ${width} and node_id in (${sql.join(nodeIds.map(id => sql`${id}`), sql`, `)})`))
  const num = (v: unknown) => (v === null ? null : Number(v))
  return new Map(rows.map(r => [`${r.node_id}@${new Date(r.bucket as string).getTime() / 1000}`, {
    samples: Number(r.samples),
    figures: Object.fromEntries(HISTORY_METRICS.map(m => [m, {
      avg: num(r[`${m}_avg`]), min: num(r[`${m}_min`]), max: num(r[`${m}_max`]), last: num(r[`${m}_last`]), n: Number(r[`${m}_n`]),
    }])),
  }]))
}

/** Stored equals expected, within `real`'s precision. */
function expectSame(stored: Map<string, Expected>, expected: Map<string, Expected>, what: string) {
  expect([...stored.keys()].sort(), `${what}: buckets`).toEqual([...expected.keys()].sort())
  for (const [key, want] of expected) {
    const got = stored.get(key)!
    expect(got.samples, `${what} ${key} samples`).toBe(want.samples)
    for (const m of HISTORY_METRICS) {
      const g = got.figures[m]!
      const w = want.figures[m]!
      expect(g.n, `${what} ${key} ${m} n`).toBe(w.n)
      for (const f of ['avg', 'min', 'max', 'last'] as const) {
        if (w[f] === null) expect(g[f], `${what} ${key} ${m} ${f}`).toBeNull()
        else expect(Math.abs(g[f]! - w[f]!), `${what} ${key} ${m} ${f}: ${g[f]} vs ${w[f]}`).toBeLessThanOrEqual(Math.abs(w[f]!) * 2e-6 + 1e-6)
      }
    }
  }
}

async function insertRows(rows: Raw[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) await handle.db.insert(nodeSamples).values(rows.slice(i, i + 500)).onConflictDoNothing()
}

let hostCounter = 0
const newNode = async (labels: Record<string, string> = {}) => (await registry.create({ hostname: `history-${++hostCounter}`, kind: 'agent', labels })).id

async function progressOf(width: number): Promise<number> {
  const [row] = rowsOf<{ cursor: string }>(await handle.db.execute(sql`select cursor from history_progress where width_seconds = ${width}`))
  return row ? Number(row.cursor) : 0
}

// ---- the tests ----------------------------------------------------------------------------

describe('history rollups', () => {
  const tiers = parseHistoryTiers('raw:48h,1m:14d,15m:90d,1h:2y')
  const all: Raw[] = []
  let a = 0
  let b = 0
  // Two whole hours, a little over an hour old, so every tier has full and partial buckets.
  const start = Math.floor((Date.now() - 3 * HOUR) / HOUR) * HOUR + 7 * MIN

  beforeAll(async () => {
    a = await newNode()
    b = await newNode()
    for (let t = start, i = 0; t < start + 2 * HOUR; t += 5000, i++) {
      all.push(makeSample(a, t, i), makeSample(b, t + 1700, i + 100_000))
    }
    await insertRows(all)
  })

  const check = async (what: string) => {
    for (const tier of tiers.filter(t => t.width_seconds)) {
      expectSame(await storedBuckets(tier.width_seconds, [a, b]), expectedBuckets(all, tier.width_seconds), `${what} ${tier.name}`)
    }
  }

  it('computes every tier\'s avg/min/max/last/count from the raw rows, in bounded batches', async () => {
    const run = await createHistoryRollup(handle.db, tiers, { batchRows: 300 }).run()
    expect(run).toMatchObject({ samples: all.length, caughtUp: true })
    expect(run.batches).toBeGreaterThan(1)
    await check('first run')
  })

  it('is idempotent: a second run changes nothing, and recomputing from scratch gives the same rows', async () => {
    expect(await createHistoryRollup(handle.db, tiers).run()).toMatchObject({ samples: 0, caughtUp: true })
    await check('second run')
    await handle.db.execute(sql`delete from history_rollups where node_id in (${a}, ${b})`)
    await handle.db.execute(sql`delete from history_progress`)
    await createHistoryRollup(handle.db, tiers).run()
    await check('from scratch')
  })

  it('folds late samples (old timestamps, new arrival) into the buckets they belong to', async () => {
    const late = [
      makeSample(a, start + 10 * MIN + 2500, 7001), // into an existing minute
      makeSample(b, start + 61 * MIN + 1234, 7002),
      makeSample(a, start - 50 * MIN, 7003), // a minute, a quarter and an hour that had nothing
    ]
    all.push(...late)
    await insertRows(late)
    const run = await createHistoryRollup(handle.db, tiers).run()
    expect(run.samples).toBe(3)
    await check('after late samples')
  })

  it('a run stopped half-way (a crash mid-transaction) leaves each tier done or untouched, and the next process finishes it', async () => {
    const before = await progressOf(900)
    const more = [makeSample(a, start + 30 * MIN + 100, 8001), makeSample(b, start + 95 * MIN + 100, 8002)]
    await insertRows(more)
    const crashing = createHistoryRollup(handle.db, tiers, {
      afterTier: (t) => {
        if (t.name === '15m') throw new Error('simulated crash')
      },
    })
    await expect(crashing.run()).rejects.toThrow('simulated crash')
    // The 1m tier committed with its cursor; the 15m upsert was rolled back with its cursor, and the 1h tier never started.
    expect(await progressOf(60)).toBeGreaterThan(before)
    expect(await progressOf(900)).toBe(before)
    expect(await progressOf(3600)).toBe(before)
    expectSame(await storedBuckets(60, [a, b]), expectedBuckets([...all, ...more], 60), 'after the crash 1m')
    for (const w of [900, 3600]) expectSame(await storedBuckets(w, [a, b]), expectedBuckets(all, w), `after the crash ${w}`)
    all.push(...more)
    await createHistoryRollup(handle.db, tiers).run()
    await check('after the restart')
  })

  it('catches up after downtime: a backlog is rolled up across several bounded runs', async () => {
    const c = await newNode()
    const backlog: Raw[] = []
    for (let t = start; t < start + 40 * MIN; t += 5000) backlog.push(makeSample(c, t, t / 1000))
    await insertRows(backlog)
    const slow = createHistoryRollup(handle.db, tiers, { batchRows: 100 })
    const first = await slow.run(0)
    expect(first).toMatchObject({ caughtUp: false, batches: 0 })
    let rounds = 0
    for (let done = false; !done && rounds < 20; rounds++) done = (await slow.run(1)).caughtUp
    expect(await progressOf(3600)).toBe(await progressOf(60))
    expectSame(await storedBuckets(60, [c]), expectedBuckets(backlog, 60), 'backlog 1m')
    expectSame(await storedBuckets(900, [c]), expectedBuckets(backlog, 900), 'backlog 15m')
  })
})

describe('history queries', () => {
  const tiers = parseHistoryTiers('raw:48h,1m:14d,15m:90d,1h:2y')
  let history: ReturnType<typeof createHistory>
  let n = 0
  let m = 0
  const rows: Raw[] = []
  const now = Date.now()

  beforeAll(async () => {
    history = createHistory(handle.db, registry, { tiers, eventRetentionDays: 7 })
    n = await newNode({ cluster: 'prod' })
    m = await newNode({ cluster: 'dev' })
    // Every 15 s for 3 h, with a 20-minute hole 1 h ago; then 40 days at 15-minute spacing for the old tiers.
    for (let t = now - 3 * HOUR; t < now - 10_000; t += 15_000) {
      if (t > now - 80 * MIN && t < now - 60 * MIN) continue
      rows.push(makeSample(n, t, t / 1000))
    }
    for (let t = now - 40 * DAY; t < now - 3 * HOUR; t += 15 * MIN) rows.push(makeSample(n, t, t / 1000))
    rows.push(makeSample(m, now - 30 * MIN, 1))
    await insertRows(rows)
    await history.rollup()
  })

  it('answers a 1 h range from raw samples with the figures of the raw rows and the gap explicit', async () => {
    const from = new Date(Math.floor((now - 90 * MIN) / 30_000) * 30_000)
    const to = new Date(from.getTime() + HOUR)
    const res = await history.nodeHistory(n, { metrics: ['cpu_percent', 'load1'], from, to, points: 120 })
    expect(res.tier.name).toBe('raw')
    expect(res.step_seconds).toBe(30)
    expect(res.series.map(s => s.metric)).toEqual(['cpu_percent', 'load1'])
    const cpu = res.series[0]!
    expect(cpu.buckets.length).toBeLessThanOrEqual(120)
    expect(cpu.buckets[0]!.t).toBeLessThanOrEqual(from.getTime() / 1000)
    const want = expectedBuckets(rows.filter(r => r.nodeId === n), 30)
    for (const bucket of cpu.buckets) {
      const w = want.get(`${n}@${bucket.t}`)?.figures.cpu_percent
      if (!w) expect(bucket).toEqual({ t: bucket.t, avg: null, min: null, max: null })
      else expect(bucket.avg).toBeCloseTo(w.avg!, 4)
    }
    // The hole from 80 to 60 minutes ago is one gap of whole buckets.
    const hole = cpu.gaps.find(g => g.from <= (now - 79 * MIN) / 1000 && g.to >= (now - 61 * MIN) / 1000)
    expect(hole).toBeDefined()
    expect(cpu.gaps.every(g => (g.to - g.from) % 30 === 0)).toBe(true)
  })

  it('reads the coarsest tier that still gives the resolution asked for: 1 m for a day, 15 m for 30 days in 2000 points, 1 h in 300', async () => {
    const day = await history.nodeHistory(n, { metrics: ['cpu_percent'], from: new Date(now - DAY), to: new Date(now), points: 300 })
    expect(day.tier.name).toBe('1m')
    expect(day.step_seconds).toBe(300)
    expect(day.series[0]!.buckets.length).toBeLessThanOrEqual(300)
    const month = await history.nodeHistory(n, { metrics: ['cpu_percent', 'memory_percent', 'disk_percent', 'load1', 'net_rx_bytes_per_sec'], from: new Date(now - 30 * DAY), to: new Date(now), points: 2000 })
    expect(month.tier.name).toBe('15m')
    expect(month.step_seconds).toBe(1800)
    expect(month.series).toHaveLength(5)
    expect(month.series[0]!.buckets.length).toBeLessThanOrEqual(2000)
    const coarse = await history.nodeHistory(n, { metrics: ['cpu_percent'], from: new Date(now - 30 * DAY), to: new Date(now), points: 300 })
    expect(coarse.tier.name).toBe('1h')
    expect(coarse.step_seconds).toBe(3 * 3600)
    // Past the 1 m tier's 14 days, 2000 points of 40 days still come from 15 m buckets.
    const older = await history.nodeHistory(n, { metrics: ['cpu_percent'], from: new Date(now - 40 * DAY), to: new Date(now - 20 * DAY), points: 2000 })
    expect(older.tier.name).toBe('15m')
    const year = await history.nodeHistory(n, { metrics: ['cpu_percent'], from: new Date(now - 365 * DAY), to: new Date(now), points: 500 })
    expect(year.tier.name).toBe('1h')
    expect(year.series[0]!.buckets.length).toBeLessThanOrEqual(500)
    // The 15 m buckets carry the raw rows' figures.
    const want = expectedBuckets(rows.filter(r => r.nodeId === n), month.step_seconds)
    const some = month.series[0]!.buckets.filter(b => want.has(`${n}@${b.t}`)).slice(0, 50)
    expect(some.length).toBeGreaterThan(10)
    for (const b of some) {
      const w = want.get(`${n}@${b.t}`)!.figures.cpu_percent!
      expect(b.avg).toBeCloseTo(w.avg!, 3)
      expect(b.min).toBeCloseTo(w.min!, 3)
      expect(b.max).toBeCloseTo(w.max!, 3)
    }
  })

  it('includes samples that arrived after the last rollup (the tier is topped up from raw)', async () => {
    const fresh = makeSample(n, now - 5000, 4242)
    fresh.cpuPercent = 100
    await insertRows([fresh])
    const day = await history.nodeHistory(n, { metrics: ['cpu_percent'], from: new Date(now - DAY), to: new Date(now), points: 300 })
    expect(day.tier.name).toBe('1m')
    const last = day.series[0]!.buckets.find(b => b.t <= (now - 5000) / 1000 && b.t + day.step_seconds > (now - 5000) / 1000)!
    expect(last.max).toBe(100)
    rows.push(fresh)
  })

  it('reads the tier\'s own rows when the step is its width, samples not rolled up yet merged into their buckets', async () => {
    // Arrived after the rollup: a late sample into a rolled-up bucket, and one into the hole (a bucket with no row yet).
    const late = makeSample(n, now - 2 * HOUR + 7000, 777)
    late.cpuPercent = 0
    const lone = makeSample(n, now - 70 * MIN, 778)
    await insertRows([late, lone])
    rows.push(late, lone)
    // 5 hours in 301 points is a 60 s step: the 1 m tier's buckets.
    const range = { from: new Date(now - 5 * HOUR), to: new Date(now) }
    const res = await history.nodeHistory(n, { metrics: ['cpu_percent', 'load1'], ...range, points: 301 })
    expect(res.tier.name).toBe('1m')
    expect(res.step_seconds).toBe(60)
    const want = expectedBuckets(rows.filter(r => r.nodeId === n), 60)
    const bucketOf = (ms: number) => Math.floor(ms / 60_000) * 60
    for (const [i, metric] of (['cpu_percent', 'load1'] as const).entries()) {
      const series = res.series[i]!
      expect(series.buckets.filter(b => b.avg !== null).length).toBeGreaterThan(100)
      for (const b of series.buckets) {
        const w = want.get(`${n}@${b.t}`)?.figures[metric]
        if (!w || w.avg === null) expect(b, `${metric} ${b.t}`).toEqual({ t: b.t, avg: null, min: null, max: null })
        else for (const f of ['avg', 'min', 'max'] as const) expect(b[f], `${metric} ${b.t} ${f}`).toBeCloseTo(w[f]!, 4)
      }
    }
    const cpu = res.series[0]!.buckets
    expect(cpu.find(b => b.t === bucketOf(late.ts.getTime()))!.min).toBe(0)
    expect(cpu.find(b => b.t === bucketOf(lone.ts.getTime()))!.avg).toBeCloseTo(lone.cpuPercent, 4)
    // The fleet query over the same range reads the same buckets.
    const fleet = await history.fleetHistory({ metric: 'cpu_percent', ...range, points: 301, nodes: [n], figures: ALL_FIGURES })
    expect(fleet.step_seconds).toBe(60)
    expect(fleet.nodes[0]!.buckets).toEqual(cpu)
    // Asked for averages only, the buckets carry those and nothing else, and the same gaps.
    const averages = await history.fleetHistory({ metric: 'cpu_percent', ...range, points: 301, nodes: [n], figures: ['avg'] })
    expect(averages.nodes[0]!.buckets).toEqual(cpu.map(b => ({ t: b.t, avg: b.avg })))
    expect(averages.nodes[0]!.gaps).toEqual(fleet.nodes[0]!.gaps)
  })

  it('compares one metric across nodes chosen by label, ids or all', async () => {
    const byLabel = await history.fleetHistory({ metric: 'cpu_percent', from: new Date(now - HOUR), to: new Date(now), points: 30, label: { name: 'cluster', value: 'dev' }, figures: ALL_FIGURES })
    expect(byLabel.nodes.map(x => x.node_id)).toEqual([m])
    expect(byLabel.nodes[0]!.buckets.filter(b => b.avg !== null)).toHaveLength(1)
    const byIds = await history.fleetHistory({ metric: 'cpu_percent', from: new Date(now - HOUR), to: new Date(now), points: 30, nodes: [m, n], figures: ALL_FIGURES })
    expect(byIds.nodes.map(x => x.node_id)).toEqual([n, m])
    expect(byIds.nodes[0]!.buckets).toHaveLength(byIds.nodes[1]!.buckets.length)
    // Wider buckets than the tier's, regrouped in SQL: the highest values alone are those of the full answer.
    const highest = await history.fleetHistory({ metric: 'cpu_percent', from: new Date(now - HOUR), to: new Date(now), points: 30, nodes: [m, n], figures: ['max'] })
    expect(highest.nodes.map(x => x.buckets)).toEqual(byIds.nodes.map(x => x.buckets.map(b => ({ t: b.t, max: b.max }))))
    await expect(history.fleetHistory({ metric: 'cpu_percent', from: new Date(now - HOUR), to: new Date(now), points: 30, nodes: [n, 999_999], figures: ALL_FIGURES }))
      .rejects.toThrow('Node 999999 not found')
    await expect(history.nodeHistory(999_999, { metrics: ['cpu_percent'], from: new Date(now - HOUR), to: new Date(now), points: 30 })).rejects.toThrow('not found')
  })

  it('counts a sample once when the rollup commits between the cursor read and the query', async () => {
    // The leader's rollup runs right after the query's first statement (its read of the cursor) has answered.
    let rolled = false
    const racing = new Proxy(handle.db, {
      get: (target, key) => (key === 'execute'
        ? async (query: Parameters<typeof target.execute>[0]) => {
          const result = await target.execute(query)
          if (!rolled) {
            rolled = true
            await history.rollup()
          }
          return result
        }
        : Reflect.get(target, key, target)),
    })
    const raced = createHistory(racing, registry, { tiers, eventRetentionDays: 7 })
    // 6 h in 301 points: 2-minute steps over the 1 m tier, regrouped with the raw top-up in one statement.
    for (const [k, hours, step] of [[0, 6, 120]] as const) {
      const at = now - 4 * MIN + 3000 + k * 20_000
      const fresh = [makeSample(n, at, 9001 + k), makeSample(n, at + 3000, 9003 + k)]
      fresh[0]!.cpuPercent = 0
      fresh[1]!.cpuPercent = 100
      await insertRows(fresh)
      rows.push(...fresh)
      rolled = false
      const res = await raced.nodeHistory(n, { metrics: ['cpu_percent'], from: new Date(now - hours * HOUR), to: new Date(now), points: 301 })
      expect(rolled).toBe(true)
      expect(res.tier.name).toBe('1m')
      expect(res.step_seconds).toBe(step)
      const want = expectedBuckets(rows.filter(r => r.nodeId === n), step)
      const bucket = Math.floor(at / 1000 / step) * step
      const got = res.series[0]!.buckets.find(b => b.t === bucket)!
      const w = want.get(`${n}@${bucket}`)!.figures.cpu_percent!
      expect(got.min).toBe(0)
      for (const f of ['avg', 'min', 'max'] as const) expect(got[f], `${step} s ${f}`).toBeCloseTo(w[f]!, 4)
    }
  })
})

describe('uptime', () => {
  it('gives each UTC day\'s online share from the status events, null where the status is not known', async () => {
    const id = await newNode()
    const dayStart = Math.floor(Date.now() / DAY) * DAY
    const at = new Date(dayStart + 12 * HOUR)
    // Created two days before `at`'s day; online from 06:00 that day, offline 18:00 the day after, online again at 06:00 today.
    await handle.db.execute(sql`update nodes set created_at = ${new Date(dayStart - 2 * DAY).toISOString()}::timestamptz where id = ${id}`)
    await registry.load()
    const status = (t: number, previous: string, next: string) => ({ type: 'node_status_update', nodeId: id, message: next, createdAt: new Date(t), data: { previous_status: previous, status: next } })
    await handle.db.insert(events).values([
      status(dayStart - 2 * DAY + 6 * HOUR, 'offline', 'online'),
      status(dayStart - DAY + 18 * HOUR, 'online', 'stale'),
      status(dayStart + 6 * HOUR, 'stale', 'online'),
    ])
    const history = createHistory(handle.db, registry, { tiers: parseHistoryTiers('raw:48h'), eventRetentionDays: 30 })
    const res = await history.uptime(id, 4, at)
    expect(res.days.map(d => [d.date, d.online_seconds, d.known_seconds])).toEqual([
      [new Date(dayStart - 3 * DAY).toISOString().slice(0, 10), 0, 0],
      [new Date(dayStart - 2 * DAY).toISOString().slice(0, 10), 18 * 3600, 24 * 3600],
      [new Date(dayStart - DAY).toISOString().slice(0, 10), 18 * 3600, 24 * 3600],
      [new Date(dayStart).toISOString().slice(0, 10), 6 * 3600, 12 * 3600],
    ])
    expect(res.days[0]!.online_share).toBeNull()
    expect(res.days[3]!.online_share).toBe(0.5)
    expect(res.online_share).toBeCloseTo(42 / 60, 6)
    // With the event log kept one day, older days are unknown rather than guessed.
    const short = createHistory(handle.db, registry, { tiers: parseHistoryTiers('raw:48h'), eventRetentionDays: 1 })
    const recent = await short.uptime(id, 4, at)
    expect(recent.days.map(d => d.known_seconds)).toEqual([0, 0, 12 * 3600, 12 * 3600])
    expect(recent.days[2]!.online_seconds).toBe(6 * 3600)
  })
})

describe('per-tier retention', () => {
  // Short tiers, so hours of data cross every boundary.
  const tiers = parseHistoryTiers('raw:2h,1m:6h,15m:2d,1h:30d')
  it('deletes each tier past its own retention, aligned to the next tier\'s buckets, and never recomputes a purged bucket', async () => {
    const n = await newNode()
    const now = Date.now()
    const rows: Raw[] = []
    for (let t = now - 10 * HOUR; t < now; t += 20_000) rows.push(makeSample(n, t, t / 1000))
    await insertRows(rows)
    const rollup = createHistoryRollup(handle.db, tiers, { deleteBatch: 50, pauseMs: 0 })
    await rollup.run()
    // A 5-minute tier from an earlier configuration: its rows go.
    await handle.db.execute(sql`insert into history_rollups (width_seconds, node_id, bucket, samples) values (300, ${n}, now(), 1)`)
    const result = await rollup.purge(new Date(now))
    const rawBoundary = Math.floor((now / 1000 - 2 * 3600) / 60) * 60 * 1000
    const minuteBoundary = Math.floor((now / 1000 - 6 * 3600) / 900) * 900 * 1000
    // Other tests' old rows go too: count this node's.
    expect(result.deleted.raw).toBeGreaterThanOrEqual(rows.filter(r => r.ts.getTime() < rawBoundary).length)
    const [kept] = rowsOf<{ n: string }>(await handle.db.execute(sql`select count(*) as n from node_samples where node_id = ${n}`))
    expect(Number(kept!.n)).toBe(rows.filter(r => r.ts.getTime() >= rawBoundary).length)
    expect(result.deleted.unconfigured).toBe(1)
    expect(result.maxSampleId).toBeGreaterThan(0)
    const left = rowsOf<{ oldest: string }>(await handle.db.execute(sql`select min(ts) as oldest from node_samples where node_id = ${n}`))
    expect(new Date(left[0]!.oldest).getTime()).toBeGreaterThanOrEqual(rawBoundary)
    const minutes = await storedBuckets(60, [n])
    expect(Math.min(...[...minutes.keys()].map(k => Number(k.split('@')[1]) * 1000))).toBeGreaterThanOrEqual(minuteBoundary)
    expect(minutes.size).toBe(expectedBuckets(rows, 60, minuteBoundary).size)
    // The coarser tiers are untouched and still equal the raw figures.
    expectSame(await storedBuckets(900, [n]), expectedBuckets(rows, 900), 'kept 15m')
    expectSame(await storedBuckets(3600, [n]), expectedBuckets(rows, 3600), 'kept 1h')

    // A late sample older than the raw boundary: its minute is gone, so it must not overwrite the 15m/1h figures.
    const [before15] = [...(await storedBuckets(900, [n])).values()]
    await insertRows([makeSample(n, rawBoundary - 30 * MIN + 1000, 9999)])
    await rollup.run()
    const [after15] = [...(await storedBuckets(900, [n])).values()]
    expect(after15).toEqual(before15)
    const again = await rollup.purge(new Date(now))
    expect(again.deleted.raw).toBe(1)
  })
})
