/**
 * The agent ↔ server contract: what an agent POSTs to `/api/v1/nodes/{id}/stats` and what the
 * server answers. The summary fields are seed 000's.
 */
import { z } from 'zod'
import { reportTimestamp } from './common'
import { DETAIL_LIMITS, MAX_SAMPLES_PER_REPORT } from './limits'

export { DETAIL_LIMITS, MAX_INGEST_BYTES, MAX_REPORT_BYTES, MAX_SAMPLES_PER_REPORT } from './limits'

const percent = z.number({ error: 'must be a number' }).finite().min(0, 'must be at least 0').max(100, 'must be at most 100')
const count = (max: number) => z.number({ error: 'must be a number' }).int('must be an integer').min(0, 'must not be negative').max(max, `must be at most ${max}`)
const strict = <T extends z.ZodRawShape>(shape: T) => z.strictObject(shape, {
  error: issue => issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : 'must be an object',
})


const bytes = count(Number.MAX_SAFE_INTEGER)
const rate = z.number({ error: 'must be a number' }).finite().min(0, 'must not be negative').max(1e15, 'must be at most 1e15')
const name = z.string({ error: 'must be a string' }).max(DETAIL_LIMITS.name, `must be at most ${DETAIL_LIMITS.name} characters`)
const list = <T extends z.ZodType>(item: T, max: number, what: string) => z.array(item, { error: `must be an array of ${what}` }).max(max, `must hold at most ${max} ${what}`)

/**
 * The host detail a sample may carry beyond the seed's summary: what the node modal, the
 * per-node stream and `GET /api/v1/nodes/{id}` show. Every field is optional (a host without
 * sensors sends no temperatures); unknown fields are refused like the summary's.
 */
export const hostDetail = strict({
  load: strict({ '1m': rate, '5m': rate, '15m': rate }).optional(),
  /** Each core's busy percent. */
  cpu_cores: list(percent, DETAIL_LIMITS.cores, 'cores').optional(),
  memory: strict({
    total_bytes: bytes, used_bytes: bytes, available_bytes: bytes.optional(),
    swap_total_bytes: bytes, swap_used_bytes: bytes,
  }).optional(),
  /** The filesystem the summary's disk_percent is of. */
  disk: strict({ mount: name, fs: name, size_bytes: bytes, used_bytes: bytes, percent }).nullable().optional(),
  /** The host's real filesystems, largest first (at most 8). */
  disks: list(strict({ mount: name, fs: name, type: name.optional(), size_bytes: bytes, used_bytes: bytes, percent }), DETAIL_LIMITS.filesystems, 'filesystems').optional(),
  /** Bytes read and written per second over all physical disks; null for the first sample. */
  disk_io: strict({ read_bytes_per_sec: rate, write_bytes_per_sec: rate }).nullable().optional(),
  /** Physical interfaces; rates are null for the first sample. */
  network: list(strict({
    iface: name, rx_bytes_per_sec: rate.nullable(), tx_bytes_per_sec: rate.nullable(), rx_bytes: bytes.optional(), tx_bytes: bytes.optional(),
  }), DETAIL_LIMITS.interfaces, 'interfaces').optional(),
  /** Sensor readings in °C, where the host has sensors. */
  temperatures: list(strict({
    label: name, celsius: z.number({ error: 'must be a number' }).finite().min(-273.15, 'must be at least -273.15').max(1000, 'must be at most 1000'),
  }), DETAIL_LIMITS.temperatures, 'sensors').optional(),
  processes: count(10_000_000).optional(),
  os: strict({ platform: name, distro: name.optional(), release: name.optional(), kernel: name.optional(), arch: name, hostname: name.optional() }).optional(),
})
export type HostDetail = z.output<typeof hostDetail>

/** One stats sample as an agent sends it. */
export const statsSample = z.strictObject({
  cpu_percent: percent,
  memory_percent: percent.nullish(),
  disk_percent: percent,
  // 100 years of uptime; backups fit a Postgres integer with room to spare.
  uptime_seconds: count(3_155_760_000).nullish(),
  active_backups: count(1_000_000).nullish(),
  timestamp: reportTimestamp.optional(),
  detail: hostDetail.optional(),
}, { error: issue => issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : 'must be an object' })
export type StatsSampleInput = z.input<typeof statsSample>

/** A catch-up report: `{samples: [...]}`, each with its own timestamp. */
export const statsBatch = z.strictObject({
  samples: z.array(statsSample, { error: 'must be an array of samples' }).min(1, 'must hold at least one sample')
    .max(MAX_SAMPLES_PER_REPORT, `must hold at most ${MAX_SAMPLES_PER_REPORT} samples`)
    .superRefine((samples, ctx) => {
      if (samples.length < 2) return
      samples.forEach((s, i) => {
        if (!s.timestamp) ctx.addIssue({ code: 'custom', path: [i, 'timestamp'], message: 'is required when a report holds more than one sample' })
      })
    }),
})

/**
 * A report: one sample, or `{samples: [...]}` for catch-up after an outage. The shape picks the
 * schema (a plain union would answer a bad field with zod's generic "Invalid input").
 */
export const statsReport = z.unknown().transform((value, ctx): z.output<typeof statsSample> | z.output<typeof statsBatch> => {
  const isBatch = typeof value === 'object' && value !== null && !Array.isArray(value) && 'samples' in value
  const result = (isBatch ? statsBatch : statsSample).safeParse(value)
  if (result.success) return result.data
  for (const issue of result.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path })
  return z.NEVER
})
export type StatsReport = z.output<typeof statsReport>

/** The answer to a stored report: `duplicates` were already stored (same node and timestamp). */
export interface IngestAnswer { node_id: number, accepted: number, stored: number, duplicates: number, last_seen: string }
