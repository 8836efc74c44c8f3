/**
 * A hand-written check of exactly `statsReport`'s contract (shared/contracts/ingest.ts), for the
 * ingest route's hot path. zod's general machinery costs ~250 µs per detailed sample, so a
 * 1,000-sample catch-up batch took a quarter of a second of CPU to validate; this takes a few ms.
 * For every value JSON.parse can return it accepts exactly what `statsReport` accepts and returns a
 * deep-equal output, keys in the schema's order (tests/unit/ingestCheck.test.ts compares the two on
 * thousands of generated bodies). It says only yes or no: a refused body goes to `statsReport`,
 * whose issues name what is wrong. A change to the contract must be made in both files.
 */
import { z } from 'zod'
import type { StatsReport } from './ingest'
import { DETAIL_LIMITS, MAX_FUTURE_SKEW_MS, MAX_SAMPLES_PER_REPORT, UNIX_MS_THRESHOLD } from './limits'

const REFUSED = Symbol('refused')
type Check = (value: unknown) => unknown
interface Field { key: string, check: Check, optional: boolean }

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** A finite number in [min, max] (the bounds are finite, so NaN and ±Infinity fail them). */
const number = (min: number, max: number): Check => v => (typeof v === 'number' && v >= min && v <= max ? v : REFUSED)
/** A whole number in [0, max], as zod's `.int()` (safe integers only). */
const count = (max: number): Check => v => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= max ? v : REFUSED)
const string = (max: number): Check => v => (typeof v === 'string' && v.length <= max ? v : REFUSED)
const nullable = (check: Check): Check => v => (v === null ? null : check(v))

/** A field that may be left out: `optional(check)` in a shape. */
const optional = (check: Check) => ({ optional: check })
type Shape = Record<string, Check | { optional: Check }>

/** A strict object: no keys beyond the shape's; the output holds the shape's keys, in its order. */
function strict(shape: Shape): Check {
  const fields: Field[] = Object.entries(shape).map(([key, f]) => (typeof f === 'function' ? { key, check: f, optional: false } : { key, check: f.optional, optional: true }))
  const known = new Set(Object.keys(shape))
  return (v) => {
    if (!isObject(v)) return REFUSED
    for (const key in v) if (!known.has(key)) return REFUSED
    const out: Record<string, unknown> = {}
    for (const { key, check, optional } of fields) {
      const value = v[key]
      if (value === undefined) {
        if (optional) continue
        return REFUSED
      }
      const checked = check(value)
      if (checked === REFUSED) return REFUSED
      out[key] = checked
    }
    return out
  }
}

function array(item: Check, min: number, max: number): Check {
  return (v) => {
    if (!Array.isArray(v) || v.length < min || v.length > max) return REFUSED
    const out = new Array<unknown>(v.length)
    for (let i = 0; i < v.length; i++) {
      const checked = item(v[i])
      if (checked === REFUSED) return REFUSED
      out[i] = checked
    }
    return out
  }
}

// The same pattern zod's `z.string().datetime({ offset: true })` tests.
const DATETIME = z.regexes.datetime({ offset: true })
const YEAR_2000 = Date.UTC(2000, 0, 1)

/** common.ts's reportTimestamp: an ISO-8601 string or a positive unix time, from 2000 to 5 minutes ahead, as a Date. */
const timestamp: Check = (v) => {
  let time: number
  if (typeof v === 'string' && DATETIME.test(v)) time = new Date(v).getTime()
  else if (typeof v === 'number' && v > 0 && Number.isFinite(v)) time = new Date(v >= UNIX_MS_THRESHOLD ? v : v * 1000).getTime()
  else return REFUSED
  // NaN (an unreadable date) fails both comparisons.
  return time >= YEAR_2000 && time <= Date.now() + MAX_FUTURE_SKEW_MS ? new Date(time) : REFUSED
}

const percent = number(0, 100)
const bytes = count(Number.MAX_SAFE_INTEGER)
const rate = number(0, 1e15)
const name = string(DETAIL_LIMITS.name)

const hostDetail = strict({
  load: optional(strict({ '1m': rate, '5m': rate, '15m': rate })),
  cpu_cores: optional(array(percent, 0, DETAIL_LIMITS.cores)),
  memory: optional(strict({
    total_bytes: bytes, used_bytes: bytes, available_bytes: optional(bytes), swap_total_bytes: bytes, swap_used_bytes: bytes,
  })),
  disk: optional(nullable(strict({ mount: name, fs: name, size_bytes: bytes, used_bytes: bytes, percent }))),
  disks: optional(array(strict({ mount: name, fs: name, type: optional(name), size_bytes: bytes, used_bytes: bytes, percent }), 0, DETAIL_LIMITS.filesystems)),
  disk_io: optional(nullable(strict({ read_bytes_per_sec: rate, write_bytes_per_sec: rate }))),
  network: optional(array(strict({
    iface: name, rx_bytes_per_sec: nullable(rate), tx_bytes_per_sec: nullable(rate), rx_bytes: optional(bytes), tx_bytes: optional(bytes),
  }), 0, DETAIL_LIMITS.interfaces)),
  temperatures: optional(array(strict({ label: name, celsius: number(-273.15, 1000) }), 0, DETAIL_LIMITS.temperatures)),
  processes: optional(count(10_000_000)),
  os: optional(strict({ platform: name, distro: optional(name), release: optional(name), kernel: optional(name), arch: name, hostname: optional(name) })),
})

const sample = strict({
  cpu_percent: percent,
  memory_percent: optional(nullable(percent)),
  disk_percent: percent,
  uptime_seconds: optional(nullable(count(3_155_760_000))),
  active_backups: optional(nullable(count(1_000_000))),
  timestamp: optional(timestamp),
  detail: optional(hostDetail),
})

const batch = strict({ samples: array(sample, 1, MAX_SAMPLES_PER_REPORT) })

/**
 * `value` (as JSON.parse returned it) as `statsReport` would output it, or undefined where
 * `statsReport` refuses it. As there, the shape picks the contract: an object with `samples` is a
 * batch, whose samples must each carry a timestamp when there are two or more.
 */
export function checkStatsReport(value: unknown): StatsReport | undefined {
  if (!(isObject(value) && 'samples' in value)) {
    const single = sample(value)
    return single === REFUSED ? undefined : single as StatsReport
  }
  const checked = batch(value)
  if (checked === REFUSED) return undefined
  const report = checked as Extract<StatsReport, { samples: unknown }>
  if (report.samples.length > 1 && report.samples.some(s => !s.timestamp)) return undefined
  return report
}
