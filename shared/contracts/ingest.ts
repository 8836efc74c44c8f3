/**
 * The agent ↔ server contract: what an agent POSTs to `/api/v1/nodes/{id}/stats` and what the
 * server answers. The summary fields are seed 000's.
 */
import { z } from 'zod'
import { reportTimestamp } from './common'

export const MAX_SAMPLES_PER_REPORT = 1000
export const MAX_REPORT_BYTES = 64 * 1024

const percent = z.number({ error: 'must be a number' }).finite().min(0, 'must be at least 0').max(100, 'must be at most 100')
const count = (max: number) => z.number({ error: 'must be a number' }).int('must be an integer').min(0, 'must not be negative').max(max, `must be at most ${max}`)

/** One stats sample as an agent sends it. */
export const statsSample = z.strictObject({
  cpu_percent: percent,
  memory_percent: percent.nullish(),
  disk_percent: percent,
  // 100 years of uptime; backups fit a Postgres integer with room to spare.
  uptime_seconds: count(3_155_760_000).nullish(),
  active_backups: count(1_000_000).nullish(),
  timestamp: reportTimestamp.optional(),
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
