/**
 * History (issue 12): the rollup tiers the leader keeps, the history queries and the uptime
 * read, published together for the routes as `useHistory()`.
 */
import type { HistoryTier } from '../../../shared/contracts/history'
import type { Database } from '../../db'
import type { Registry } from '../registry'
import { startedInstance } from '../started'
import { createHistoryQueries } from './query'
import { createHistoryRollup, type RollupOptions } from './rollup'
import { createUptime } from './uptime'

/** How often the leader rolls up what arrived: the 1-minute tier trails the samples by at most this (queries fill it from raw). */
export const ROLLUP_INTERVAL_MS = 15_000

/** Rollups, retention, history and uptime reads over `tiers` (NODEPULSE_HISTORY_TIERS). */
export function createHistory(db: Database, registry: Registry, opts: { tiers: HistoryTier[], eventRetentionDays: number } & RollupOptions) {
  const rollup = createHistoryRollup(db, opts.tiers, opts)
  const queries = createHistoryQueries(db, registry, opts.tiers)
  const uptime = createUptime(db, registry, opts.eventRetentionDays)
  return {
    tiers: opts.tiers,
    /** Rolls up what arrived since the last run (the leader's job). */
    rollup: rollup.run,
    /** Per-tier retention in bounded batches (housekeeping). */
    purge: rollup.purge,
    nodeHistory: queries.node,
    fleetHistory: queries.fleet,
    uptime: uptime.node,
  }
}

export type History = ReturnType<typeof createHistory>

const running = startedInstance<History>()
/** The running history service (503 until start-up has finished). */
export const useHistory = running.use
/** Publishes the running history service (start-up) or withdraws it (stop). */
export const setHistory = running.set
