import { readMigrations } from '../db/migrate'
import { useUsers } from '../services/auth/users'
import { loadConfig } from '../services/config'
import { startServices } from '../services/runtime'
import { setStartup } from '../services/started'

/** Starts the back end with the server; a bad setting or an unreachable database stops the process with a message. */
export default defineNitroPlugin((nitroApp) => {
  const storage = useStorage('assets:migrations')
  const started = (async () => {
    const config = loadConfig()
    const migrations = await readMigrations(async (name) => {
      const raw = await storage.getItemRaw(name.replaceAll('/', ':'))
      if (raw === null || raw === undefined) return undefined
      return typeof raw === 'string' ? raw : Buffer.from(raw as Uint8Array).toString('utf8')
    })
    const running = await startServices(config, migrations, useRuntimeConfig().public.version)
    const where = running.driver === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${config.dataDir}`
    console.info(`[nodepulse] ready: database ${where}, master node "${config.masterHostname}" (#${running.instance.masterId})`)
    if (!config.adminPassword && (await (await useUsers()).count()) === 0) {
      console.info('[nodepulse] no user yet: open the dashboard in a browser to create the admin account')
    }
    return running
  })()
  setStartup(started)
  started.catch((error: unknown) => {
    console.error('[nodepulse] start-up failed:', error instanceof Error ? error.message : error)
    process.exit(1)
  })
  // Open streams would hold a graceful shutdown until its timeout: end them as soon as a stop is asked for.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      started.then(s => s.endStreams(), () => {})
    })
  }
  nitroApp.hooks.hook('close', async () => {
    const running = await started.catch(() => undefined)
    await running?.stop()
  })
})
