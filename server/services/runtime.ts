import { lt } from 'drizzle-orm'
import { openDatabase, setDatabase, type DatabaseHandle } from '../db'
import type { MigrationFile } from '../db/migrate'
import { events, nodeSamples } from '../db/schema'
import { createAuth, streamCredentials, type Auth } from './auth'
import type { Config } from './config'
import { createAggregator, setRunningAggregator, type Aggregator } from './aggregator'
import { createEventLog, type EventLog } from './events'
import { joinCluster, leaderJob } from './cluster'
import { createIngest, type Ingest } from './ingest'
import { createJournal, type Journal } from './journal'
import { startMasterSampler } from './master'
import { createNodeService, type NodeService } from './nodes'
import { createLoginLimiter, type LoginLimiter } from './ratelimit'
import { createMetrics, type Metrics } from './prometheus'
import { createRegistry, type Registry } from './registry'
import { setStartup } from './started'
import { createHub, setRunningHub, type Hub } from './streams/hub'
import { createNodeStreams, setRunningNodeStreams, type NodeStreams } from './streams/seed000'
import { createChannels, setRunningChannels, type Channels } from './streams/seed001'
import { createEventStream, setRunningEventStream, type EventStream } from './streams/seed002'
import { createWatcher, type Watcher } from './watcher'
import { createWebhooks, type Webhooks } from './webhooks'

/** Everything a request needs, built once at start-up. */
export interface Services {
  config: Config
  database: DatabaseHandle
  registry: Registry
  ingest: Ingest
  auth: Auth
  nodes: NodeService
  hub: Hub
  streams: NodeStreams
  metrics: Metrics
  journal: Journal
  /** Whether this instance runs the periodic jobs (always, on the embedded database). */
  isLeader: () => boolean
  events: EventLog
  eventStream: EventStream
  watcher: Watcher
  aggregator: Aggregator
  channels: Channels
  webhooks: Webhooks
  loginLimiter: LoginLimiter
  masterId: number
  sessionSecret: string
  startedAt: Date
  version: string
  stop: () => Promise<void>
}

const HOUR = 3_600_000

/**
 * Starts NodePulse's back end: opens and migrates the database, loads the registry, makes sure
 * the admin and the master node exist, and starts the master sampler and housekeeping.
 */
export async function startServices(config: Config, migrations: MigrationFile[], version: string): Promise<Services> {
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, migrations })
  setDatabase(database)
  const { db } = database
  const registry = createRegistry(db)
  await registry.load()
  const auth = createAuth(db)
  if (config.adminPassword) await auth.ensureAdmin(config.adminUser, config.adminPassword)
  const sessionSecret = await auth.sessionSecret(config.sessionSecret)
  const shared = database.driver === 'postgres'
  const journal = createJournal(db, { shared })
  await journal.load()
  const cluster = shared && database.url ? await joinCluster(database.url, journal) : undefined
  if (shared) {
    // Other instances' writes reach this registry through the journal.
    journal.onCommit((entries) => {
      for (const e of entries) {
        if (e.kind === 'report') {
          const latest = registry.get(e.row.nodeId)?.latest
          if (!latest || e.row.ts > latest.ts) registry.applySamples(e.row.nodeId, e.row.receivedAt, { ...e.row, detail: e.row.detail ?? null })
        }
        else if (e.row.nodeId !== null && e.row.type.startsWith('node_')) void registry.refresh(e.row.nodeId)
      }
    })
  }
  const eventLog = createEventLog(db, journal)
  const ingest = createIngest(db, registry, { journal })
  const hub = createHub({
    heartbeatMs: config.heartbeatSeconds * 1000, maxBufferBytes: config.clientBufferBytes, maxClients: config.maxClients,
    // A logout, a deleted token or a deleted user ends the streams opened with it within one heartbeat.
    credentialOf: req => streamCredentials.get(req), liveCredentials: open => auth.liveCredentials(open),
  })
  const aggregator = createAggregator(registry, { windowMs: config.windowSeconds * 1000, windowCount: config.windowCount, staleAfterSeconds: config.staleAfterSeconds })
  const channels = createChannels({ db, hub, registry, journal, aggregator }, {
    statsMs: config.statsIntervalSeconds * 1000, logsMs: config.logsIntervalSeconds * 1000, nodesMs: config.nodesIntervalSeconds * 1000,
    replayLimit: config.replayLimit, retryMs: 3000, staleAfterSeconds: config.staleAfterSeconds,
  })

  const known = registry.list().some(n => n.kind === 'master' && n.hostname === config.masterHostname)
  const master = await registry.ensureMaster(config.masterHostname)
  if (!known) await eventLog.record({ type: 'node_registered', severity: 'info', nodeId: master.id, message: `Master node ${master.hostname} registered` })
  const streams = createNodeStreams(hub, registry, { staleAfterSeconds: config.staleAfterSeconds, masterId: master.id })
  const eventStream = createEventStream({ hub, journal, log: eventLog }, { replayLimit: config.replayLimit, retryMs: 3000 })
  const isLeader = () => cluster?.isLeader() ?? true
  const watcher = createWatcher({ db, registry, log: eventLog, journal }, {
    staleAfterSeconds: config.staleAfterSeconds, unreachableAfterSeconds: config.unreachableAfterSeconds, tickMs: 1000, isLeader,
  })
  const stopSampler = startMasterSampler(config.sampleIntervalSeconds, config.diskPath, s => ingest.submit(master.id, [s]))

  const housekeeping = async () => {
    const cutoff = new Date(Date.now() - config.retentionDays * 24 * HOUR)
    const samples = await db.delete(nodeSamples).where(lt(nodeSamples.ts, cutoff)).returning({ id: nodeSamples.id })
    const logs = await db.delete(events).where(lt(events.createdAt, cutoff)).returning({ id: events.id })
    // A client resuming from a deleted position is told to reset instead of missing data silently.
    await journal.purged([...samples, ...logs].reduce((max, r) => Math.max(max, r.id), 0))
    await auth.purgeExpiredTokens()
  }
  // With several instances, only the holder of the leader lock runs periodic jobs.
  const housekeepingJob = leaderJob('housekeeping', HOUR, housekeeping, cluster)
  const webhooks = createWebhooks({ db, journal, registry, isLeader }, { timeoutMs: config.webhookTimeoutSeconds * 1000, maxAttempts: config.webhookMaxAttempts, retentionDays: config.retentionDays, version })
  webhooks.start()
  setRunningHub(hub)
  setRunningNodeStreams(streams)
  setRunningChannels(channels)
  setRunningEventStream(eventStream)
  setRunningAggregator(aggregator)

  return {
    config, database, registry, ingest, auth, masterId: master.id, sessionSecret, startedAt: new Date(), version,
    nodes: createNodeService(registry, eventLog),
    journal,
    isLeader,
    events: eventLog,
    eventStream,
    watcher,
    aggregator,
    channels,
    webhooks,
    hub,
    streams,
    metrics: createMetrics({ hub, registry, ingest, staleAfterSeconds: config.staleAfterSeconds, onReject: () => aggregator.reject(), housekeepingLastRun: housekeepingJob.lastRun }),
    loginLimiter: createLoginLimiter(config.loginMaxAttempts, 15 * 60_000),
    async stop() {
      setRunningHub(undefined)
      setRunningNodeStreams(undefined)
      setRunningChannels(undefined)
      setRunningEventStream(undefined)
      setRunningAggregator(undefined)
      eventStream.close()
      await watcher.stop()
      channels.close()
      streams.close()
      hub.close()
      await housekeepingJob.stop()
      await stopSampler()
      await webhooks.stop()
      await ingest.drain()
      await cluster?.stop()
      setDatabase(undefined)
      await database.close()
    },
  }
}

let ready: Promise<Services> | undefined
let current: Services | undefined

/** Records the start-up promise (called once by the Nitro plugin). */
export function setServices(promise: Promise<Services>): void {
  setStartup(promise)
  ready = promise
  promise.then((s) => {
    current = s
  }, () => {})
}

/** The running services, waiting for start-up to finish if it has not yet. */
export async function useServices(): Promise<Services> {
  if (current) return current
  if (!ready) throw new Error('NodePulse services were not started')
  return ready
}
