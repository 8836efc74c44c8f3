/**
 * History tiers: NODEPULSE_HISTORY_TIERS read and checked once at start, and the choice of tier
 * and bucket width for a query.
 */
import type { HistoryTier } from '../../../shared/contracts/history'

export const DEFAULT_HISTORY_TIERS = 'raw:48h,1m:14d,15m:90d,1h:2y'
const MAX_TIERS = 8
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 }
const DURATION = /^([1-9]\d{0,5})([smhdwy])$/

const seconds = (text: string) => {
  const m = DURATION.exec(text)
  return m ? Number(m[1]) * UNIT_SECONDS[m[2]!]! : undefined
}

/**
 * Parses `raw:48h,1m:14d,15m:90d,1h:2y`: the raw samples' retention first, then each rollup's
 * bucket width and retention, finest first. Each width is a whole multiple of the one before
 * (so coarser buckets are built from whole finer ones) and each tier is kept longer than the
 * one before and at least two of the next tier's buckets (so the next tier always has its source).
 * Throws a message naming the variable and the fault.
 */
export function parseHistoryTiers(spec: string, variable = 'NODEPULSE_HISTORY_TIERS'): HistoryTier[] {
  const fail = (why: string): never => {
    throw new Error(`${variable}=${spec} is invalid: ${why} (e.g. ${DEFAULT_HISTORY_TIERS})`)
  }
  const entries = spec.split(',').map(s => s.trim())
  if (entries.length > MAX_TIERS) fail(`at most ${MAX_TIERS} tiers`)
  const tiers = entries.map((entry, i): HistoryTier => {
    const [name = '', keep = '', ...rest] = entry.split(':').map(s => s.trim())
    if (rest.length || !name || !keep) fail(`"${entry}" must be width:retention`)
    if (i === 0 && name !== 'raw') fail('the first tier must be raw (how long raw samples are kept)')
    if (i > 0 && name === 'raw') fail('raw may appear only once, first')
    const width = name === 'raw' ? 0 : seconds(name)
    if (width === undefined) fail(`"${name}" is not a bucket width like 1m, 15m, 1h or 1d`)
    if (width! > 7 * 86_400) fail(`bucket width ${name} is longer than 7d`)
    const retention = seconds(keep)
    if (retention === undefined) fail(`"${keep}" is not a duration like 48h, 14d or 2y`)
    if (retention! > 20 * UNIT_SECONDS.y!) fail(`retention ${keep} is longer than 20y`)
    return { name, width_seconds: width!, retention_seconds: retention! }
  })
  tiers.forEach((tier, i) => {
    const prev = tiers[i - 1]
    if (!prev) return
    if (prev.width_seconds && (tier.width_seconds <= prev.width_seconds || tier.width_seconds % prev.width_seconds)) {
      fail(`bucket width ${tier.name} must be a whole multiple of ${prev.name}, and larger`)
    }
    if (tier.retention_seconds <= prev.retention_seconds) fail(`${tier.name} must be kept longer than ${prev.name}`)
    if (prev.retention_seconds < 2 * tier.width_seconds) fail(`${prev.name} must be kept at least two ${tier.name} buckets`)
  })
  return tiers
}

const NICE = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 40, 60, 90, 120, 180, 240, 360, 480, 720, 1440]
/** The k-th multiple a step may be of its tier's width: round numbers (30 s, 5 min, 3 h), doubling past a day of minutes. */
const niceMultiple = (k: number) => (k < NICE.length ? NICE[k]! : 1440 * 2 ** (k - NICE.length + 1))

/** A history query's plan: the tier to read and the width of the buckets it returns. */
export interface QueryPlan { tier: HistoryTier, step: number, from: number, to: number }

/**
 * Picks the tier and bucket width for `[from, to)` (unix seconds) in at most `points` buckets:
 * among the tiers whose retention reaches back to `from`, the coarsest one still finer than
 * the width the range needs (fewest rows read for the same answer); if every tier that reaches
 * back is coarser, the finest of them; if none reaches back, the longest-kept one. The step is
 * a round multiple of the tier's width, and buckets sit on multiples of it since the epoch.
 */
export function planQuery(tiers: HistoryTier[], from: number, to: number, points: number, now: number): QueryPlan {
  const need = Math.max(1, Math.ceil((to - from) / points))
  const covering = tiers.filter(t => now - t.retention_seconds <= from)
  const fine = covering.filter(t => t.width_seconds <= need)
  const tier = fine.at(-1) ?? covering[0] ?? tiers.at(-1)!
  const unit = Math.max(1, tier.width_seconds)
  const count = (s: number) => Math.ceil(to / s) - Math.floor(from / s)
  let k = 0
  while (unit * niceMultiple(k) < need || count(unit * niceMultiple(k)) > points) k++
  const step = unit * niceMultiple(k)
  return { tier, step, from: Math.floor(from / step) * step, to: Math.ceil(to / step) * step }
}
