import type { SQL } from 'drizzle-orm'
import { PgDialect, type PgDatabase, type PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'
import { applyMigrations, type MigrationFile } from './migrate'
import * as schema from './schema'

/** The drizzle database both drivers give; services only ever see this type. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>
/** The transaction handle `db.transaction` gives its callback. */
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0]

/** The rows of `db.execute(sql)`: postgres.js answers an array, PGlite an object holding `rows`. */
export const rowsOf = <T>(result: unknown): T[] => (Array.isArray(result) ? result : (result as { rows: T[] }).rows)

const dialect = new PgDialect()
/** The postgres.js client under each database opened on a URL: for statements run as named prepared statements. */
const postgresClients = new WeakMap<Database, postgres.Sql>()

/**
 * Runs a hot statement (the same text every time) and answers its rows. On PostgreSQL it is a named
 * prepared statement of its connection: drizzle sends every query unnamed, and postgres.js then
 * describes a statement with parameters before it binds them, one more round trip each time; a
 * prepared one is described once per connection, then costs one round trip. PGlite runs in-process
 * and has no round trips to save.
 */
export async function executePrepared<T>(db: Database, query: SQL): Promise<T[]> {
  const client = postgresClients.get(db)
  if (!client) return rowsOf<T>(await db.execute(query))
  const { sql: text, params } = dialect.sqlToQuery(query)
  // drizzle hands the driver the same unknown[] for its own queries.
  return await client.unsafe<T[]>(text, params as postgres.ParameterOrJSON<never>[], { prepare: true })
}

export interface DatabaseHandle {
  db: Database
  driver: 'pglite' | 'postgres'
  /** The server's URL (postgres only): for connections of their own (LISTEN, the leader lock). */
  url?: string
  close: () => Promise<void>
}

export interface OpenOptions {
  /** postgres:// URL; when absent the embedded PGlite database is used. */
  url?: string
  /** PGlite data directory; `memory://` keeps it in memory (tests). */
  dataDir: string
  /** Applied before the handle is returned. */
  migrations?: MigrationFile[]
}

/**
 * Seconds postgres.js waits before its next connection attempt after `retries` failed ones. Its
 * default grows to 20 s, and queries wait meanwhile: after a database restart, requests hung for
 * up to 20 s and recovery took as long (tests/faults/pg-restart.test.ts). Capped at 1 s here, so
 * an outage is answered promptly (503) and its end noticed within a second.
 */
export const reconnectBackoff = (retries: number): number => (0.5 + Math.random() / 2) * Math.min(3 ** retries / 100, 1)

/** Opens the configured database: postgres.js for a URL, else PGlite files in dataDir. */
export async function openDatabase({ url, dataDir, migrations }: OpenOptions): Promise<DatabaseHandle> {
  if (url) {
    if (migrations) {
      // A single connection, so the migration advisory lock is held by the session that migrates.
      const single = postgres(url, { max: 1, onnotice: () => {}, backoff: reconnectBackoff })
      try {
        await applyMigrations(drizzlePostgres(single, { schema }), migrations)
      }
      finally {
        await single.end({ timeout: 5 })
      }
    }
    // A transaction left open (an instance frozen mid-write) is rolled back after 10 s: until then
    // it would hold back every stream of the cluster (see journal.ts, finalPosition).
    const connection = { application_name: 'nodepulse', idle_in_transaction_session_timeout: 10_000 }
    const client = postgres(url, { max: 10, onnotice: () => {}, backoff: reconnectBackoff, connection })
    const db = drizzlePostgres(client, { schema })
    postgresClients.set(db, client)
    return { db, driver: 'postgres', url, close: () => client.end({ timeout: 5 }) }
  }
  // Loaded only for the embedded database: a server on PostgreSQL never holds PGlite's code.
  const [{ openPglite }, { drizzle: drizzlePglite }] = await Promise.all([import('./pglite'), import('drizzle-orm/pglite')])
  const client = await openPglite(dataDir)
  const db = drizzlePglite(client, { schema })
  if (migrations) await applyMigrations(db, migrations)
  return { db, driver: 'pglite', close: () => client.close() }
}
