import { isDeepStrictEqual } from 'node:util'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DETAIL_LIMITS, MAX_SAMPLES_PER_REPORT, statsReport } from '../../shared/contracts/ingest'
import { checkStatsReport } from '../../shared/contracts/ingestCheck'
import { seededRandom, type SeededRandom } from './random'

// The fast check against zod's statsReport on generated bodies: valid ones of every optional
// combination, and the same with one or more mutations (wrong types, values at and past every
// limit, NaN/±Infinity, missing and unknown keys, longer arrays, deep detail). For each the two
// must agree on acceptance, and an accepted body must come out deep-equal, keys in the same order.

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0)
const SKEW = 5 * 60_000

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW)
})
afterEach(() => {
  vi.useRealTimers()
})


// Valid values, limits included.
const PERCENTS = [0, -0, 0.5, 12.25, 99.999, 100]
const RATES = [0, 1.5, 48_332.8, 1e15]
const BYTES = [0, 1, 4_124_880_896, Number.MAX_SAFE_INTEGER]
const NAMES = ['', '/', '/dev/vda1', 'ext4', 'é漢字🙂', 'x'.repeat(DETAIL_LIMITS.name), '🙂'.repeat(DETAIL_LIMITS.name / 2)]
const TIMESTAMPS = [
  '2025-06-01T11:00:00Z', '2025-06-01T13:00:00.250+02:00', '2024-02-29T23:59:59.123456789-11:30', '2000-01-01T00:00:00Z',
  '2025-06-01T12:05:00Z', '2025-06-01T12:04:59.999+00:00', 1_748_775_600, 1_748_775_600.5, 1_748_775_600_000, 946_684_800, 1e12,
  (NOW + SKEW) / 1000, NOW + SKEW,
]
// Values at or just past a limit, of the wrong type, or that only some fields take.
const ODD = [
  null, true, false, '', '5', 'x'.repeat(DETAIL_LIMITS.name + 1), [], [1], {}, { a: 1 }, 0, -0, 1, 0.5, -1, -0.0001, 100, 100.0001, 101,
  1e15, 1e15 + 2, 2 ** 53 - 1, 2 ** 53, 1e300, -1e300, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1.5,
  -273.15, -273.16, 1000, 1000.5, 3_155_760_000, 3_155_760_001, 1_000_000, 1_000_001, 10_000_000, 10_000_001,
  // timestamps: odd formats, before 2000, just past the allowed skew, impossible dates
  '2025-06-01T11:00:00', '2025-06-01', '2025-06-01T11:00Z', '2025-06-01 11:00:00Z', '2025-02-29T00:00:00Z', '2025-06-01T24:00:00Z',
  '2025-06-01T11:00:00+24:00', '2025-06-01T11:00:00.Z', '1999-12-31T23:59:59Z', '2025-06-01T12:05:00.001Z', '+002025-06-01T11:00:00Z',
  946_684_799.999, 1e12 - 1, (NOW + SKEW + 1) / 1000, NOW + SKEW + 1, 8.64e15 + 1, 1e20,
] as const

function detail(r: SeededRandom): Record<string, unknown> {
  const d: Record<string, unknown> = {}
  const n = (list: readonly number[]) => r.pick(list)
  const maybe = (p = 0.6) => r.chance(p)
  if (maybe()) d.load = { '1m': n(RATES), '5m': n(RATES), '15m': n(RATES) }
  if (maybe()) d.cpu_cores = Array.from({ length: r.chance(0.02) ? DETAIL_LIMITS.cores : r.int(5) }, () => n(PERCENTS))
  if (maybe()) {
    d.memory = { total_bytes: n(BYTES), used_bytes: n(BYTES), swap_total_bytes: n(BYTES), swap_used_bytes: n(BYTES) }
    if (maybe()) (d.memory as Record<string, unknown>).available_bytes = n(BYTES)
  }
  if (maybe()) d.disk = r.chance(0.3) ? null : { mount: r.pick(NAMES), fs: r.pick(NAMES), size_bytes: n(BYTES), used_bytes: n(BYTES), percent: n(PERCENTS) }
  if (maybe()) {
    d.disks = Array.from({ length: r.int(DETAIL_LIMITS.filesystems + 1) }, () => ({
      mount: r.pick(NAMES), fs: r.pick(NAMES), ...(maybe() ? { type: r.pick(NAMES) } : {}), size_bytes: n(BYTES), used_bytes: n(BYTES), percent: n(PERCENTS),
    }))
  }
  if (maybe()) d.disk_io = r.chance(0.3) ? null : { read_bytes_per_sec: n(RATES), write_bytes_per_sec: n(RATES) }
  if (maybe()) {
    d.network = Array.from({ length: r.chance(0.02) ? DETAIL_LIMITS.interfaces : r.int(4) }, () => ({
      iface: r.pick(NAMES), rx_bytes_per_sec: r.chance(0.2) ? null : n(RATES), tx_bytes_per_sec: r.chance(0.2) ? null : n(RATES),
      ...(maybe() ? { rx_bytes: n(BYTES) } : {}), ...(maybe() ? { tx_bytes: n(BYTES) } : {}),
    }))
  }
  if (maybe()) d.temperatures = Array.from({ length: r.chance(0.02) ? DETAIL_LIMITS.temperatures : r.int(4) }, () => ({ label: r.pick(NAMES), celsius: r.pick([-273.15, 0, 45.5, 1000]) }))
  if (maybe()) d.processes = r.pick([0, 143, 10_000_000])
  if (maybe()) {
    d.os = { platform: r.pick(NAMES), arch: r.pick(NAMES) }
    for (const k of ['distro', 'release', 'kernel', 'hostname']) if (maybe(0.5)) (d.os as Record<string, unknown>)[k] = r.pick(NAMES)
  }
  return d
}

function sample(r: SeededRandom, stamped: boolean): Record<string, unknown> {
  const s: Record<string, unknown> = { cpu_percent: r.pick(PERCENTS), disk_percent: r.pick(PERCENTS) }
  if (r.chance(0.5)) s.memory_percent = r.chance(0.2) ? null : r.pick(PERCENTS)
  if (r.chance(0.5)) s.uptime_seconds = r.chance(0.2) ? null : r.pick([0, 812_345, 3_155_760_000])
  if (r.chance(0.5)) s.active_backups = r.chance(0.2) ? null : r.pick([0, 3, 1_000_000])
  if (stamped || r.chance(0.5)) s.timestamp = r.pick(TIMESTAMPS)
  if (r.chance(0.7)) s.detail = detail(r)
  return s
}

function body(r: SeededRandom): unknown {
  if (r.chance(0.4)) return sample(r, false)
  const count = r.chance(0.002) ? MAX_SAMPLES_PER_REPORT : 1 + r.int(4)
  return { samples: Array.from({ length: count }, () => sample(r, count > 1)) }
}

/** Every object and array inside `value` (itself included). */
function containers(value: unknown, out: (Record<string, unknown> | unknown[])[] = []): (Record<string, unknown> | unknown[])[] {
  if (typeof value !== 'object' || value === null) return out
  out.push(value as Record<string, unknown>)
  for (const item of Object.values(value)) containers(item, out)
  return out
}

const MUTATIONS = ['replace', 'delete', 'unknown key', 'proto key', 'grow array', 'drop timestamp'] as const
type Mutation = typeof MUTATIONS[number]

/** Changes one place in `value`; false when this kind of change had no place to go. */
function mutate(r: SeededRandom, value: unknown, kind: Mutation): boolean {
  const places = containers(value)
  const target = r.pick(places)
  const keys = Object.keys(target)
  switch (kind) {
    case 'replace': {
      if (!keys.length) return false
      const key = r.pick(keys)
      ;(target as Record<string, unknown>)[key] = r.chance(0.15) ? structuredClone(r.pick(places)) : r.pick(ODD)
      return true
    }
    case 'delete':
      if (Array.isArray(target) || !keys.length) return false
      Reflect.deleteProperty(target, r.pick(keys))
      return true
    case 'unknown key':
      if (Array.isArray(target)) return false
      target[r.pick(['extra', 'cpu', 'samples', 'detail', 'constructor', 'toString', '1m'])] = r.pick(ODD)
      return true
    case 'proto key':
      if (Array.isArray(target)) return false
      // As JSON.parse makes it: an own, enumerable key named __proto__.
      Object.defineProperty(target, '__proto__', { value: 1, enumerable: true, configurable: true, writable: true })
      return true
    case 'grow array': {
      const arrays = places.filter(p => Array.isArray(p)) as unknown[][]
      if (!arrays.length) return false
      const list = r.pick(arrays)
      if (!list.length) list.push(r.pick(ODD))
      while (list.length < 1100 && r.chance(0.97)) list.push(structuredClone(list[0]))
      return true
    }
    case 'drop timestamp': {
      const samples = places.filter(p => !Array.isArray(p) && 'timestamp' in p) as Record<string, unknown>[]
      if (!samples.length) return false
      delete r.pick(samples).timestamp
      return true
    }
  }
}

/** Both validators on `value`: whether zod took it (after checking the two agree). */
function agree(value: unknown): boolean {
  const expected = statsReport.safeParse(value)
  const actual = checkStatsReport(value)
  // The body is printed only when they disagree (stringifying every one would cost more than the checks).
  const same = (actual !== undefined) === expected.success
    && (!expected.success || (isDeepStrictEqual(actual, expected.data) && JSON.stringify(actual) === JSON.stringify(expected.data)))
  if (!same) expect({ accepted: actual !== undefined, output: actual }, JSON.stringify(value)?.slice(0, 2000)).toStrictEqual({ accepted: expected.success, output: expected.data })
  return expected.success
}

describe('checkStatsReport against zod\'s statsReport', () => {
  it('accepts every generated valid body with the same output', () => {
    const r = seededRandom(1)
    let accepted = 0
    for (let i = 0; i < 3000; i++) if (agree(body(r))) accepted++
    // Some generated timestamps and a few limits refuse; most bodies are valid.
    expect(accepted).toBeGreaterThan(2000)
  }, 60_000)

  it('agrees on thousands of mutated bodies', () => {
    const r = seededRandom(2)
    const tally = Object.fromEntries(MUTATIONS.map(m => [m, { accepted: 0, refused: 0 }]))
    for (let i = 0; i < 8000; i++) {
      const value = body(r)
      const kind = r.pick(MUTATIONS)
      if (!mutate(r, value, kind)) continue
      if (r.chance(0.3)) mutate(r, value, r.pick(MUTATIONS))
      tally[kind]![agree(value) ? 'accepted' : 'refused']++
    }
    // Every kind of change was tried many times, and most were refused.
    for (const kind of MUTATIONS) expect(tally[kind]!.refused, `${kind}: ${JSON.stringify(tally)}`).toBeGreaterThan(200)
  }, 60_000)

  it('agrees on values that are not reports at all', () => {
    for (const value of [...ODD, { samples: null }, { samples: {} }, { samples: [] }, { samples: [{}] }, [{ cpu_percent: 1, disk_percent: 1 }]]) {
      expect(agree(value)).toBe(false)
    }
  })

  it('reads NaN-free numbers exactly as JSON.parse gives them: 1e999 is Infinity and refused, -0 is kept', () => {
    expect(agree(JSON.parse('{"cpu_percent": 1e999, "disk_percent": 1}'))).toBe(false)
    expect(agree(JSON.parse('{"cpu_percent": 1, "disk_percent": 1, "detail": {"load": {"1m": -1e999, "5m": 0, "15m": 0}}}'))).toBe(false)
    const zero = checkStatsReport(JSON.parse('{"cpu_percent": -0, "disk_percent": 1}'))
    expect(Object.is((zero as { cpu_percent: number }).cpu_percent, -0)).toBe(true)
  })

  it('agrees at and one past every list\'s limit', () => {
    const items = {
      cpu_cores: [DETAIL_LIMITS.cores, 1],
      disks: [DETAIL_LIMITS.filesystems, { mount: '/', fs: 'x', size_bytes: 1, used_bytes: 1, percent: 1 }],
      network: [DETAIL_LIMITS.interfaces, { iface: 'eth0', rx_bytes_per_sec: null, tx_bytes_per_sec: 1 }],
      temperatures: [DETAIL_LIMITS.temperatures, { label: 'cpu', celsius: 40 }],
    } as const
    for (const [key, [limit, item]] of Object.entries(items)) {
      const withList = (n: number) => ({ cpu_percent: 1, disk_percent: 1, detail: { [key]: Array.from({ length: n }, () => item) } })
      expect(agree(withList(limit)), key).toBe(true)
      expect(agree(withList(limit + 1)), key).toBe(false)
    }
    const stamped = (n: number) => ({ samples: Array.from({ length: n }, (_, i) => ({ cpu_percent: 1, disk_percent: 1, timestamp: 1_748_775_600 + i })) })
    expect(agree(stamped(MAX_SAMPLES_PER_REPORT))).toBe(true)
    expect(agree(stamped(MAX_SAMPLES_PER_REPORT + 1))).toBe(false)
  })

  it('applies the batch rule: two or more samples each need a timestamp; one alone does not', () => {
    const bare = { cpu_percent: 1, disk_percent: 1 }
    expect(agree({ samples: [bare] })).toBe(true)
    expect(agree({ samples: [{ ...bare, timestamp: 1_748_775_600 }, bare] })).toBe(false)
    expect(agree({ samples: [{ ...bare, timestamp: 1_748_775_600 }, { ...bare, timestamp: '2025-06-01T11:00:00Z' }] })).toBe(true)
  })

  it('returns fresh objects and arrays, not the input\'s', () => {
    const input = { samples: [{ cpu_percent: 1, disk_percent: 1, detail: { cpu_cores: [1, 2] } }] }
    const out = checkStatsReport(input) as typeof input
    expect(out).not.toBe(input)
    expect(out.samples[0]!.detail).not.toBe(input.samples[0]!.detail)
    expect(out.samples[0]!.detail.cpu_cores).not.toBe(input.samples[0]!.detail.cpu_cores)
  })
})
