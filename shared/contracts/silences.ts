/**
 * Silences (issue 15): mute a node, a label or event types until a time, with a reason. An event
 * that an active silence matches is stored and shown (its `data.silenced_by` names the silence) but
 * notifies nobody, raises no toast and is not counted by the bell. A silence that starts later is a
 * maintenance window: it starts and ends on its own. Admins write under `/api/v1/silences`; viewers read.
 */
import { z } from 'zod'
import { LABEL_NAME } from './limits'
import { EVENT_TYPES, type EventType } from './seed002'

export const SILENCE_STATES = ['active', 'scheduled', 'expired'] as const
export type SilenceState = (typeof SILENCE_STATES)[number]

/** Whether a type is one a silence's own life is logged as (silence_created … silence_deleted): never silenced itself. */
export const isSilenceEvent = (type: string): boolean => type.startsWith('silence_')

/** Event types a silence may name: every type NodePulse logs, except a silence's own. */
export const SILENCEABLE_TYPES: readonly EventType[] = EVENT_TYPES.filter(t => !isSilenceEvent(t))
const silenceable = new Set<string>(SILENCEABLE_TYPES)

/** A `name=value` selector's name and value (the value may hold "=" itself). */
export function parseLabel(label: string): [string, string] {
  const at = label.indexOf('=')
  return [label.slice(0, at), label.slice(at + 1)]
}

export const MAX_SILENCE_REASON = 500
/** The longest a silence may last, and how far ahead one may be scheduled. */
export const MAX_SILENCE_DAYS = 366
const DAY_MS = 86_400_000
/** How far in the past a start may be (a form filled in a minute ago). */
const START_SKEW_MS = 5 * 60_000

/** What an event carries in `data.silenced_by` when a silence muted it. */
export interface SilenceMark { id: number, reason: string }

/** One silence as the API returns it. Every matcher given must match; `ended_at` is set when it was ended early. */
export interface SilenceView {
  id: number
  node_ids: number[]
  /** `name=value`: nodes carrying that label (or events of that cluster, for `cluster=…`). */
  label: string | null
  event_types: string[]
  starts_at: string
  ends_at: string
  ended_at: string | null
  reason: string
  created_by: string
  created_at: string
  state: SilenceState
}

const time = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 date-time with a zone (e.g. 2026-01-01T00:00:00Z)' })
  .transform(v => new Date(v))
const reason = z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty (say why)').max(MAX_SILENCE_REASON, `must be at most ${MAX_SILENCE_REASON} characters`)

export const silenceLabel = z.string({ error: 'must be a string' }).trim().max(319, 'is too long')
  .refine(v => /^[^=]+=.*$/.test(v) && LABEL_NAME.test(v.slice(0, v.indexOf('='))), 'must be name=value, the name 1–63 letters, digits, ".", "-", "_" or "/"')
  .refine(v => v.length - v.indexOf('=') - 1 <= 255, 'label values must be at most 255 characters')

/** `POST /api/v1/silences`: at least one matcher; `starts_at` defaults to now, `ends_at` must come after it. */
export const createSilenceBody = z.strictObject({
  node_ids: z.array(z.number({ error: 'must be node ids' }).int('must be node ids').min(1, 'must be node ids').max(2_147_483_647, 'is too large to be an id'), { error: 'must be an array of node ids' })
    .max(100, 'must name at most 100 nodes').default([]),
  label: silenceLabel.nullable().default(null),
  event_types: z.array(z.string({ error: 'must be event type names' }).refine(t => silenceable.has(t), 'must be event types NodePulse logs (not silence_*)'), { error: 'must be an array of event types' })
    .max(SILENCEABLE_TYPES.length, 'names too many types').default([]),
  starts_at: time.optional(),
  ends_at: time,
  reason,
}).superRefine((b, ctx) => {
  // zod runs this even when a field failed: judge the whole only when every field parsed.
  const parsed = [b.ends_at, b.starts_at ?? new Date()].every(d => d instanceof Date) && Array.isArray(b.node_ids) && Array.isArray(b.event_types)
  if (!parsed) return
  if (!b.node_ids.length && !b.label && !b.event_types.length) {
    ctx.addIssue({ code: 'custom', path: ['node_ids'], message: 'give at least one matcher: node_ids, label or event_types' })
  }
  const now = Date.now()
  const start = b.starts_at?.getTime() ?? now
  if (b.starts_at && start < now - START_SKEW_MS) ctx.addIssue({ code: 'custom', path: ['starts_at'], message: 'must not be in the past' })
  if (start > now + MAX_SILENCE_DAYS * DAY_MS) ctx.addIssue({ code: 'custom', path: ['starts_at'], message: `must be within ${MAX_SILENCE_DAYS} days from now` })
  const problem = endProblem(b.ends_at, Math.max(start, now))
  if (problem) ctx.addIssue({ code: 'custom', path: ['ends_at'], message: problem })
})
export type CreateSilenceBody = z.output<typeof createSilenceBody>

/** `PATCH /api/v1/silences/{id}`: a new end and/or reason. */
export const updateSilenceBody = z.strictObject({ ends_at: time.optional(), reason: reason.optional() })
  .refine(b => b.ends_at !== undefined || b.reason !== undefined, 'give ends_at or reason to change')
export type UpdateSilenceBody = z.output<typeof updateSilenceBody>

/** What is wrong with an end that must come after `after` (ms): too early, or further than a silence may last; null when fine. */
export function endProblem(end: Date, after: number): string | null {
  if (end.getTime() <= after) return 'must be after starts_at and in the future'
  if (end.getTime() > after + MAX_SILENCE_DAYS * DAY_MS) return `must be at most ${MAX_SILENCE_DAYS} days after the start`
  return null
}

export const silenceListQuery = z.strictObject({
  state: z.enum(SILENCE_STATES, { error: `must be one of ${SILENCE_STATES.join(', ')}` }).optional(),
})
