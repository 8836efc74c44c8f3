/**
 * Building blocks every contract module uses: time values, ids and repeatable query parameters.
 * Field names on the wire are snake_case, as the seeds write them.
 */
import { z } from 'zod'
import { MAX_FUTURE_SKEW_MS, UNIX_MS_THRESHOLD } from './limits'

export { MAX_FUTURE_SKEW_MS, UNIX_MS_THRESHOLD }

/** ISO-8601 string or unix time (seconds, or milliseconds when ≥ 1e12), not more than 5 min in the future. */
export const reportTimestamp = z.union([
  z.string().datetime({ offset: true, error: 'must be an ISO-8601 date-time with a zone (e.g. 2025-01-01T00:00:00Z)' }),
  z.number().finite().positive('must be a positive unix time'),
], { error: 'must be an ISO-8601 string or a unix time' })
  .transform(v => new Date(typeof v === 'string' ? v : v >= UNIX_MS_THRESHOLD ? v : v * 1000))
  .refine(d => !Number.isNaN(d.getTime()), 'is not a valid time')
  .refine(d => d.getTime() >= Date.UTC(2000, 0, 1), 'is before the year 2000')
  .refine(d => d.getTime() <= Date.now() + MAX_FUTURE_SKEW_MS, 'is more than 5 minutes in the future')

const TIME_PARAM_MIN = Date.UTC(1970, 0, 1)
const TIME_PARAM_MAX = Date.UTC(9999, 11, 31, 23, 59, 59)

/** ISO-8601 or unix seconds/milliseconds between the years 1970 and 9999, as a query string. */
export const timeParam = z.string().min(1, 'must not be empty').transform((v, ctx) => {
  const n = /^\d+(\.\d+)?$/.test(v) ? Number(v) : Number.NaN
  const d = Number.isFinite(n) ? new Date(n >= UNIX_MS_THRESHOLD ? n : n * 1000) : new Date(v)
  if (Number.isNaN(d.getTime())) {
    ctx.addIssue({ code: 'custom', message: 'must be an ISO-8601 time or a unix timestamp' })
    return z.NEVER
  }
  // The database's time type and its drivers stop far short of the Date range's ends.
  if (d.getTime() < TIME_PARAM_MIN || d.getTime() > TIME_PARAM_MAX) {
    ctx.addIssue({ code: 'custom', message: 'must be between the years 1970 and 9999' })
    return z.NEVER
  }
  return d
})

/** `{id}` of a REST path: a positive whole number that fits a Postgres integer. */
export const idParam = z.strictObject({
  id: z.string().regex(/^[1-9]\d{0,9}$/, 'must be a positive whole number').transform(Number)
    .pipe(z.number().max(2_147_483_647, 'is too large')),
})

/** A query parameter that may be given once or repeated (`?a=1&a=2`), as a list. */
export const repeatable = <T extends z.ZodType>(item: T) => z.union([item, z.array(item)]).optional()
  .transform(v => (v === undefined ? [] : Array.isArray(v) ? v : [v]))
