/** In-memory PGlite databases with NodePulse's migrations, for service tests without a server. */
import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll } from 'vitest'
import { fileURLToPath } from 'node:url'
import { openDatabase, type DatabaseHandle } from '../../server/db'
import { readMigrations } from '../../server/db/migrate'
import { createRegistry, type Registry } from '../../server/services/registry'

const drizzleDir = fileURLToPath(new URL('../../drizzle/', import.meta.url))

/** Opens a fresh in-memory database and applies the committed migrations from drizzle/. */
export async function memoryDatabase(): Promise<DatabaseHandle> {
  const migrations = await readMigrations(name => readFile(drizzleDir + name, 'utf8').catch(() => undefined))
  return openDatabase({ dataDir: 'memory://', migrations })
}

/**
 * A fresh in-memory database and its loaded registry for one test file: opened before the file's
 * tests (the object's fields are set then), closed after them.
 */
export function memoryRegistry(): { handle: DatabaseHandle, registry: Registry } {
  const ctx = {} as { handle: DatabaseHandle, registry: Registry }
  beforeAll(async () => {
    ctx.handle = await memoryDatabase()
    ctx.registry = createRegistry(ctx.handle.db)
    await ctx.registry.load()
  }, 60_000)
  afterAll(async () => {
    await ctx.handle?.close()
  })
  return ctx
}
