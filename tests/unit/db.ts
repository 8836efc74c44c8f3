/** An in-memory PGlite database with NodePulse's migrations, for service tests without a server. */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { openDatabase, type DatabaseHandle } from '../../server/db'
import { readMigrations } from '../../server/db/migrate'

const drizzleDir = fileURLToPath(new URL('../../drizzle/', import.meta.url))

/** Opens a fresh in-memory database and applies the committed migrations from drizzle/. */
export async function memoryDatabase(): Promise<DatabaseHandle> {
  const migrations = await readMigrations(name => readFile(drizzleDir + name, 'utf8').catch(() => undefined))
  return openDatabase({ dataDir: 'memory://', migrations })
}
