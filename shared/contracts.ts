/**
 * Wire contracts shared by the server, the pages, the CLI and the tests.
 * Field names follow seed 000 (snake_case on the wire).
 */
import { z } from 'zod'

export const MAX_SAMPLES_PER_REPORT = 1000
export const MAX_REPORT_BYTES = 64 * 1024
export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000
/** Unix timestamps above this are taken as milliseconds, below as seconds. */
const UNIX_MS_THRESHOLD = 1e12

const percent = z.number({ error: 'must be a number' }).finite().min(0, 'must be at least 0').max(100, 'must be at most 100')
const count = (max: number) => z.number({ error: 'must be a number' }).int('must be an integer').min(0, 'must not be negative').max(max, `must be at most ${max}`)

/** ISO-8601 string or unix time (seconds, or milliseconds when ≥ 1e12), not more than 5 min in the future. */
export const reportTimestamp = z.union([
  z.string().datetime({ offset: true, error: 'must be an ISO-8601 date-time with a zone (e.g. 2025-01-01T00:00:00Z)' }),
  z.number().finite().positive('must be a positive unix time'),
], { error: 'must be an ISO-8601 string or a unix time' })
  .transform(v => new Date(typeof v === 'string' ? v : v >= UNIX_MS_THRESHOLD ? v : v * 1000))
  .refine(d => !Number.isNaN(d.getTime()), 'is not a valid time')
  .refine(d => d.getTime() >= Date.UTC(2000, 0, 1), 'is before the year 2000')
  .refine(d => d.getTime() <= Date.now() + MAX_FUTURE_SKEW_MS, 'is more than 5 minutes in the future')

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

export const hostnameSchema = z.string().trim().min(1, 'must not be empty').max(253, 'must be at most 253 characters')
  .regex(/^[\w.\-:]+$/, 'may hold only letters, digits, ".", "-", "_" and ":"')

const LABEL_NAME = /^[\w.\-/]{1,63}$/

/** Node labels: up to 32 `name: value` pairs; names are 1–63 of letters, digits, ".", "-", "_", "/". */
export const labelsSchema = z.record(z.string(), z.string({ error: 'label values must be strings' }).max(255, 'label values must be at most 255 characters'))
  .superRefine((labels, ctx) => {
    const names = Object.keys(labels)
    if (names.length > 32) ctx.addIssue({ code: 'custom', message: 'at most 32 labels' })
    for (const name of names) {
      if (!LABEL_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `label name "${name}" must be 1–63 characters of letters, digits, ".", "-", "_" and "/"` })
    }
  })

export const createNodeBody = z.strictObject({ hostname: hostnameSchema, labels: labelsSchema.optional() })
export const updateNodeBody = z.strictObject({ hostname: hostnameSchema.optional(), labels: labelsSchema.optional() })
  .refine(b => b.hostname !== undefined || b.labels !== undefined, 'give hostname or labels to change')

export const roleSchema = z.enum(['admin', 'viewer'], { error: 'must be "admin" or "viewer"' })
export const usernameSchema = z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters')
  .regex(/^[\w.@-]+$/, 'may hold only letters, digits, ".", "@", "-" and "_"')
export const passwordSchema = z.string().min(8, 'must be at least 8 characters').max(1024, 'must be at most 1024 characters')

export const loginBody = z.strictObject({
  username: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(64, 'must be at most 64 characters'),
  password: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(1024, 'must be at most 1024 characters'),
})
export const setupBody = z.strictObject({ username: usernameSchema, password: passwordSchema })
export const createUserBody = z.strictObject({ username: usernameSchema, password: passwordSchema, role: roleSchema })
export const createTokenBody = z.strictObject({ name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'), role: roleSchema })

export const idParam = z.strictObject({
  id: z.string().regex(/^[1-9]\d{0,9}$/, 'must be a positive whole number').transform(Number)
    .pipe(z.number().max(2_147_483_647, 'is too large')),
})

/** `?interval=` of seed 000's streams: whole seconds 1–60, default 5. */
export const streamQuery = z.object({
  interval: z.string({ error: 'must be given once, as whole seconds' }).regex(/^\d+$/, 'must be whole seconds from 1 to 60')
    .transform(Number).pipe(z.number().min(1, 'must be at least 1 second').max(60, 'must be at most 60 seconds')).optional(),
}).transform(q => ({ interval: q.interval ?? 5 }))

export type NodeStatus = 'online' | 'stale' | 'offline'
export type Role = z.infer<typeof roleSchema>

/** A node's summary exactly as seed 000 streams it. */
export interface NodeStats {
  id: number
  hostname: string
  status: NodeStatus
  is_master: boolean
  cpu_percent: number | null
  memory_percent: number | null
  disk_percent: number | null
  uptime_seconds: number | null
  active_backups: number | null
  last_seen: string | null
}

/** A node as the REST API returns it: the seed's summary plus registry fields. */
export interface NodeView extends NodeStats {
  kind: 'master' | 'agent'
  labels: Record<string, string>
  created_at: string
  last_sample_at: string | null
}

export interface UserView { id: number, username: string, role: Role, created_at: string, last_login_at: string | null }
export interface TokenView { id: number, name: string, role: Role, created_at: string, last_used_at: string | null }
export interface MeView { id: number | null, username: string, role: Role, via: 'session' | 'token' }
