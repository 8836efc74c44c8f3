import { readMigrations } from '../db/migrate'
import { loadConfig } from '../services/config'
import { setServices, startServices } from '../services/runtime'

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
    const services = await startServices(config, migrations, useRuntimeConfig().public.version)
    const where = services.database.driver === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${config.dataDir}`
    console.info(`[nodepulse] ready: database ${where}, master node "${config.masterHostname}" (#${services.masterId})`)
    if (!config.adminPassword && (await services.auth.countUsers()) === 0) {
      console.info('[nodepulse] no user yet: open the dashboard in a browser to create the admin account')
    }
    return services
  })()
  setServices(started)
  started.catch((error: unknown) => {
    console.error('[nodepulse] start-up failed:', error instanceof Error ? error.message : error)
    process.exit(1)
  })
  // Open streams would hold a graceful shutdown until its timeout: end them as soon as a stop is asked for.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      started.then(s => s.hub.close(), () => {})
    })
  }
  nitroApp.hooks.hook('close', async () => {
    const services = await started.catch(() => undefined)
    await services?.stop()
  })
})
