/**
 * A database of the project's driver for service-level history tests: an in-memory PGlite, or a
 * fresh `np_test_history_*` database on TEST_DATABASE_URL in the Postgres project (dropped by
 * `close`). Migrated with the committed migrations.
 */
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import postgres from 'postgres'
import { inject } from 'vitest'
import { openDatabase, type DatabaseHandle } from '../../../server/db'
import { readMigrations } from '../../../server/db/migrate'

/** Opens the database; `close` closes it and drops it (Postgres). */
export async function openHistoryDatabase(): Promise<{ handle: DatabaseHandle, close: () => Promise<void> }> {
  const drizzleDir = fileURLToPath(new URL('../../../drizzle/', import.meta.url))
  const migrations = await readMigrations(name => readFile(drizzleDir + name, 'utf8').catch(() => undefined))
  if (inject('server').driver !== 'postgres') {
    const handle = await openDatabase({ dataDir: 'memory://', migrations })
    return { handle, close: () => handle.close() }
  }
  const adminUrl = process.env.TEST_DATABASE_URL
  if (!adminUrl) throw new Error('the Postgres project needs TEST_DATABASE_URL')
  const name = `np_test_history_${randomBytes(4).toString('hex')}`
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  const drop = async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`)
    await admin.end({ timeout: 5 })
  }
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  try {
    const handle = await openDatabase({ url: url.toString(), dataDir: '', migrations })
    return {
      handle,
      close: async () => {
        await handle.close().catch(() => {})
        await drop()
      },
    }
  }
  catch (error) {
    await drop()
    throw error
  }
}
