/**
 * Threshold alert rules (issue 12): "cpu_percent > 90 for 5 min" over the history's 1-minute
 * buckets. Admins write them under `/api/v1/alerts/rules`; viewers read. A rule raises
 * `threshold_exceeded` for a node when every minute of the duration broke the threshold, and
 * `threshold_recovered` when the newest minute no longer does. With `per_core` the threshold is
 * `value` times each node's CPU core count ("load1 > 1 × cores"), taken from its newest report.
 */
import { z } from 'zod'
import { HISTORY_METRICS, type HistoryMetric } from './history'
import { labelsSchema } from './rest'

export const ALERT_COMPARISONS = ['>', '>=', '<', '<='] as const
export type AlertComparison = (typeof ALERT_COMPARISONS)[number]
export const ALERT_SEVERITIES = ['info', 'warning', 'error'] as const
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number]

/** Which nodes a rule watches: all, these ids, or every node carrying all these labels. */
export type AlertNodes = 'all' | { ids: number[] } | { labels: Record<string, string> }

const nodeSelector = z.union([
  z.literal('all'),
  z.strictObject({ ids: z.array(z.number().int().min(1).max(2_147_483_647), { error: 'must be an array of node ids' }).min(1, 'must name at least one node').max(1000, 'must name at most 1000 nodes') }),
  z.strictObject({ labels: labelsSchema.refine(l => Object.keys(l).length > 0, 'must name at least one label') }),
], { error: 'must be "all", {ids: [...]} or {labels: {name: value}}' })

const ruleFields = {
  name: z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  metric: z.enum(HISTORY_METRICS, { error: `must be one of ${HISTORY_METRICS.join(', ')}` }),
  comparison: z.enum(ALERT_COMPARISONS, { error: `must be one of ${ALERT_COMPARISONS.join(' ')}` }),
  value: z.number({ error: 'must be a number' }).finite('must be a finite number'),
  /**
   * The threshold is `value` × the node's CPU cores (from its newest report's per-core figures):
   * "load1 > 1 × cores". A node whose reports carry no core count is not evaluated by such a rule.
   */
  per_core: z.boolean({ error: 'must be true or false' }),
  /** How long (whole minutes, 1 min to 1 day) every minute must break the threshold. */
  duration_seconds: z.number({ error: 'must be a number of seconds' }).int('must be whole seconds').min(60, 'must be at least 60')
    .max(86_400, 'must be at most 86400').refine(s => s % 60 === 0, 'must be whole minutes (a multiple of 60)'),
  nodes: nodeSelector,
  severity: z.enum(ALERT_SEVERITIES, { error: `must be one of ${ALERT_SEVERITIES.join(', ')}` }),
  enabled: z.boolean({ error: 'must be true or false' }),
}

/** `POST /api/v1/alerts/rules`: nodes default to all, severity to warning, enabled to true. */
export const createAlertRuleBody = z.strictObject({
  ...ruleFields,
  per_core: ruleFields.per_core.default(false),
  nodes: ruleFields.nodes.default('all'),
  severity: ruleFields.severity.default('warning'),
  enabled: ruleFields.enabled.default(true),
})
export type CreateAlertRuleBody = z.output<typeof createAlertRuleBody>

/** `PATCH /api/v1/alerts/rules/{id}`: any of the fields. */
export const updateAlertRuleBody = z.strictObject(ruleFields).partial()
  .refine(b => Object.keys(b).length > 0, 'give at least one field to change')
export type UpdateAlertRuleBody = z.output<typeof updateAlertRuleBody>

/** A node a rule is firing for: since when, the newest minute's value, and the threshold it broke. */
export interface AlertFiring { node_id: number, since: string, value: number | null, threshold: number }

/** A rule as the API returns it. */
export interface AlertRuleView {
  id: number
  name: string
  metric: HistoryMetric
  comparison: AlertComparison
  value: number
  per_core: boolean
  duration_seconds: number
  nodes: AlertNodes
  severity: AlertSeverity
  enabled: boolean
  created_at: string
  updated_at: string
  firing: AlertFiring[]
}
