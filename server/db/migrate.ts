import { createHash } from 'node:crypto'
import { sql } from 'drizzle-orm'
import type { MigrationMeta } from 'drizzle-orm/migrator'
import type { Database } from './index'

/** One migration file as drizzle-kit wrote it. */
export interface MigrationFile { tag: string, when: number, breakpoints: boolean, sql: string }

interface Journal { entries: { tag: string, when: number, breakpoints: boolean }[] }

/** Turns drizzle-kit's journal plus SQL files into migration files, from whatever store holds them. */
export async function readMigrations(read: (name: string) => Promise<string | undefined>): Promise<MigrationFile[]> {
  const journalText = await read('meta/_journal.json')
  if (!journalText) throw new Error('Migrations are missing: meta/_journal.json not found')
  const journal = JSON.parse(journalText) as Journal
  return Promise.all(journal.entries.map(async (entry) => {
    const text = await read(`${entry.tag}.sql`)
    if (text === undefined) throw new Error(`Migration ${entry.tag}.sql is missing`)
    return { ...entry, sql: text }
  }))
}

// drizzle's dialect/session are internal in its typings but are what its own migrate() calls.
interface Migratable { dialect: { migrate: (m: MigrationMeta[], s: unknown, c: object) => Promise<void> }, session: unknown }

/**
 * Applies pending migrations, exactly as drizzle's migrate() does (same table, same hashes),
 * under an advisory lock so instances starting together on one Postgres do not race.
 * `db` must be bound to a single connection for the lock to hold.
 */
export async function applyMigrations(db: Database, files: MigrationFile[]): Promise<void> {
  const migrations: MigrationMeta[] = files.map(f => ({
    sql: f.sql.split('--> statement-breakpoint'),
    bps: f.breakpoints,
    folderMillis: f.when,
    hash: createHash('sha256').update(f.sql).digest('hex'),
  }))
  await db.execute(sql`select pg_advisory_lock(7310001)`)
  try {
    await (db as unknown as Migratable).dialect.migrate(migrations, (db as unknown as Migratable).session, {})
  }
  finally {
    await db.execute(sql`select pg_advisory_unlock(7310001)`)
  }
}
