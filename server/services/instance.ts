import { sql } from 'drizzle-orm'
import type { HealthView } from '../../shared/contracts/rest'
import type { DatabaseHandle } from '../db'
import type { Config } from './config'
import { startedInstance } from './started'

/** This running instance: its settings and what start-up established. */
export interface Instance {
  config: Config
  version: string
  startedAt: Date
  /** This host's master node. */
  masterId: number
  /** Seals session cookies: configured, or created once and kept in the database. */
  sessionSecret: string
  /** Whether this instance runs the periodic jobs (always, on the embedded database). */
  isLeader: () => boolean
  /** Liveness and readiness: whether the database answers. */
  health: () => Promise<HealthView>
}

/** Describes the instance start-up has just brought up on `database`. */
export function createInstance(database: DatabaseHandle, facts: Omit<Instance, 'health' | 'startedAt'>): Instance {
  const startedAt = new Date()
  return {
    ...facts,
    startedAt,
    async health() {
      const ok = await database.db.execute(sql`select 1`).then(() => true, () => false)
      return {
        status: ok ? 'ok' : 'degraded',
        version: facts.version,
        database: { ok, driver: database.driver },
        uptime_seconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
        leader: facts.isLeader(),
      }
    },
  }
}

const running = startedInstance<Instance>()
/** This running instance (503 until start-up has finished). */
export const useInstance = running.use
/** Publishes the running instance (start-up) or withdraws it (stop). */
export const setInstance = running.set
