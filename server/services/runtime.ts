import { openDatabase, type DatabaseHandle } from '../db'
import type { MigrationFile } from '../db/migrate'
import { createApiTokens, setApiTokens } from './auth/apiTokens'
import { createSessions, loadSessionSecret, setSessions } from './auth/sessions'
import { createStreamTokens, setStreamTokens, streamCredentials, streamOwners } from './auth/streamTokens'
import { createUsers, setUsers } from './auth/users'
import type { Config } from './config'
import { createAggregator, setAggregator } from './aggregator'
import { createClusterNodes, setClusterNodes } from './clusterNodes'
import { createEventLog, setEventLog } from './events'
import { createClusterApi, setClusterApi } from './federation/clusterApi'
import { createMemberApi, loadInstanceId, setMemberApi } from './federation/memberApi'
import { createMembers, setMembers } from './federation/members'
import { createDiscovery, setDiscovery } from './federation/discovery'
import { createMemberPoller } from './federation/poller'
import { createHistory, ROLLUP_BUSY_SAMPLES, ROLLUP_INTERVAL_MS, setHistory } from './history'
import { createRollupSchedule } from './history/schedule'
import { correlateEvent, createIncidents, setIncidents } from './incidents'
import { createAlerts, setAlerts } from './history/alerts'
import { runHousekeeping } from './housekeeping'
import { joinCluster, leaderJob } from './cluster'
import { createIngest, setIngest } from './ingest'
import { createInstance, setInstance, type Instance } from './instance'
import { createJournal } from './journal'
import { startMasterSampler } from './master'
import { createNodeService, registerMaster, setNodes } from './nodes'
import { createLoginLimiter, setLoginLimiter } from './ratelimit'
import { createMetrics, setMetrics } from './prometheus'
import { createRegistry, followJournal, setRegistry } from './registry'
import { createRequestLog, setRequestLog } from './requestLog'
import { createSilences, setSilences } from './silences'
import { createHub, setHub } from './streams/hub'
import { createNodeStreams, setNodeStreams } from './streams/seed000'
import { createChannels, setChannels } from './streams/seed001'
import { createEventStream, setEventStream } from './streams/seed002'
import { createValkey, setValkey } from './valkey/service'
import { createWatcher } from './watcher'
import { createWebhookDispatcher, setWebhookDispatcher } from './webhookDispatcher'
import { createWebhooks, setWebhooks } from './webhooks'

/** What start-up hands the Nitro plugin. */
export interface Running {
  instance: Instance
  driver: DatabaseHandle['driver']
  /** Ends every open stream (a stop was asked for: they would hold a graceful shutdown). */
  endStreams: () => void
  /** Stops everything and closes the database. */
  stop: () => Promise<void>
}

const HOUR = 3_600_000

/**
 * Starts NodePulse's back end: opens and migrates the database, loads the registry, makes sure
 * the admin and the master node exist, starts the master sampler, the streams, the watcher, the
 * webhook dispatcher and housekeeping, and publishes each service for the routes.
 */
export async function startServices(config: Config, migrations: MigrationFile[], version: string): Promise<Running> {
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, migrations })
  const { db } = database
  const registry = createRegistry(db)
  await registry.load()
  // The watcher's events and every view of a node judge it by the same thresholds.
  const thresholds = { staleAfterSeconds: config.staleAfterSeconds, unreachableAfterSeconds: config.unreachableAfterSeconds, pendingGraceSeconds: config.pendingGraceSeconds }
  const users = createUsers(db)
  if (config.adminPassword) await users.ensureAdmin(config.adminUser, config.adminPassword)
  const sessionSecret = await loadSessionSecret(db, config.sessionSecret)
  const streamTokens = createStreamTokens(db, config.streamTokenTtlSeconds)
  const shared = database.driver === 'postgres'
  const journal = createJournal(db, { shared })
  await journal.load()
  const cluster = shared && database.url ? await joinCluster(database.url, journal) : undefined
  if (shared) followJournal(registry, journal)
  const isLeader = () => cluster?.isLeader() ?? true
  const silences = createSilences(db, registry, { isLeader, shared })
  // Every event is linked to its problem's incident in its own transaction, and marked when a silence mutes it.
  const eventLog = createEventLog(db, journal, { correlate: correlateEvent, silenced: e => silences.silencing(e) })
  await silences.start(eventLog, journal)
  const ingest = createIngest(db, registry, { journal })
  const hub = createHub({
    heartbeatMs: config.heartbeatSeconds * 1000, maxBufferBytes: config.clientBufferBytes, maxClients: config.maxClients,
    maxClientsPerOwner: config.maxClientsPerUser, ownerOf: req => streamOwners.get(req),
    // A logout, a deleted token or a deleted user ends the streams opened with it within one heartbeat.
    credentialOf: req => streamCredentials.get(req), liveCredentials: open => streamTokens.liveCredentials(open),
  })
  const aggregator = createAggregator(registry, { windowMs: config.windowSeconds * 1000, windowCount: config.windowCount, ...thresholds })
  const requestLog = createRequestLog(db, registry, { maxRows: config.requestLogRows, flushMs: 1000 })
  const channels = createChannels({ db, hub, registry, journal, aggregator, requestLog }, {
    statsMs: config.statsIntervalSeconds * 1000, logsMs: config.logsIntervalSeconds * 1000, nodesMs: config.nodesIntervalSeconds * 1000,
    replayLimit: config.replayLimit, retryMs: 3000, ...thresholds,
  })

  const master = await registerMaster(registry, eventLog, config.masterHostname)
  const streams = createNodeStreams(hub, registry, { ...thresholds, masterId: master.id })
  const eventStream = createEventStream({ hub, journal, log: eventLog }, { replayLimit: config.replayLimit, retryMs: 3000 })
  const watcher = createWatcher({ db, registry, log: eventLog, journal }, {
    ...thresholds, tickMs: 1000, isLeader,
  })
  const stopSampler = startMasterSampler(config.sampleIntervalSeconds, config.diskPath, s => ingest.submit(master.id, [s]))
  // With several instances, only the holder of the leader lock runs periodic jobs.
  // PGlite has one connection, so its rollup transactions stay short; Postgres takes bigger batches beside ingest.
  const history = createHistory(db, registry, {
    tiers: config.historyTiers, eventRetentionDays: config.retentionDays, batchRows: database.driver === 'pglite' ? 5000 : 50_000,
  })
  const alerts = createAlerts(db, registry, eventLog, { widthSeconds: config.historyTiers[1]?.width_seconds ?? null })
  // The rollup runs when due (schedule.ts); threshold rules are evaluated after each run (so after
  // each bucket closes) and at the next tick after a rule changes.
  const rollupSchedule = createRollupSchedule({ widthSeconds: config.historyTiers[1]?.width_seconds ?? null, busySamples: ROLLUP_BUSY_SAMPLES })
  const offRollupCount = journal.onCommit((entries) => {
    let samples = 0
    let oldest = Number.POSITIVE_INFINITY
    for (const e of entries) {
      if (e.kind !== 'report') continue
      samples++
      oldest = Math.min(oldest, e.row.ts.getTime())
    }
    if (samples) rollupSchedule.arrived(samples, oldest)
  })
  const rollupJob = leaderJob('history rollup', ROLLUP_INTERVAL_MS, async () => {
    const due = rollupSchedule.due()
    if (due) {
      const finished = rollupSchedule.begin()
      finished((await history.rollup()).caughtUp)
    }
    if (due || alerts.rulesChanged()) await alerts.evaluate()
  }, cluster)
  const housekeepingJob = leaderJob('housekeeping', HOUR, () => runHousekeeping(db, journal, config.retentionDays, history, requestLog), cluster)
  const valkey = createValkey(db, { registry, ingest, log: eventLog }, {
    clusters: config.valkey, intervalMs: config.valkeyPollIntervalSeconds * 1000, timeoutMs: config.valkeyTimeoutSeconds * 1000, isLeader,
  })
  const valkeyJob = valkey.configured ? leaderJob('valkey poll', config.valkeyPollIntervalSeconds * 1000, valkey.pollAll, cluster) : undefined
  const dispatcher = createWebhookDispatcher({ db, journal, registry, isLeader, silencedNow: e => silences.silencing(e) !== null }, { timeoutMs: config.webhookTimeoutSeconds * 1000, retryMs: config.webhookRetryHours * 3_600_000, version, blockPrivate: config.webhookBlockPrivate, publicUrl: config.publicUrl })
  dispatcher.start()
  const metrics = createMetrics({ hub, registry, ingest, thresholds, onReject: () => aggregator.reject(), housekeepingLastRun: housekeepingJob.lastRun })
  const instanceId = await loadInstanceId(db)
  const memberApi = createMemberApi(db, registry, { instanceId, staleAfterSeconds: config.staleAfterSeconds, announcedUpTo: () => journal.position() })
  const members = createMembers(db, registry)
  await members.seed(config.cluster)
  const discovery = createDiscovery(members, {
    mdns: config.cluster.mdns, browse: config.cluster.enabled && config.cluster.discovery === 'mdns', instanceId,
    // Where Nitro's node server listens (its own rule).
    port: Number(process.env.NITRO_PORT || process.env.PORT || 3000), publicUrl: config.publicUrl,
  })
  discovery.start(version)
  const memberPoller = createMemberPoller({ db, registry, ingest, log: eventLog, members }, { timeoutMs: config.cluster.timeoutSeconds * 1000, instanceId })
  const memberJob = config.cluster.enabled ? leaderJob('member poll', config.cluster.intervalSeconds * 1000, memberPoller.pollAll, cluster) : undefined
  const instance = createInstance(database, { config, version, masterId: master.id, sessionSecret, isLeader })

  // All at once, so a request never finds some services published and others not yet.
  const withdraw: (() => void)[] = []
  const publish = <T>(set: (value: T | undefined) => void, value: T) => {
    set(value)
    withdraw.push(() => set(undefined))
  }
  publish(setInstance, instance)
  publish(setRegistry, registry)
  publish(setNodes, createNodeService(registry, eventLog, { ...thresholds, masterId: master.id }))
  publish(setIngest, ingest)
  publish(setEventLog, eventLog)
  publish(setIncidents, createIncidents(db, eventLog, e => silences.silencing(e)))
  publish(setSilences, silences)
  publish(setUsers, users)
  publish(setApiTokens, createApiTokens(db))
  publish(setStreamTokens, streamTokens)
  publish(setSessions, createSessions(db))
  publish(setLoginLimiter, createLoginLimiter(config.loginMaxAttempts, 15 * 60_000))
  publish(setWebhooks, createWebhooks(db))
  publish(setWebhookDispatcher, dispatcher)
  publish(setMetrics, metrics)
  publish(setHub, hub)
  publish(setNodeStreams, streams)
  publish(setChannels, channels)
  publish(setEventStream, eventStream)
  publish(setRequestLog, requestLog)
  publish(setAggregator, aggregator)
  publish(setHistory, history)
  publish(setAlerts, alerts)
  publish(setValkey, valkey)
  publish(setMemberApi, memberApi)
  publish(setMembers, members)
  publish(setDiscovery, discovery)
  publish(setClusterApi, createClusterApi(db, registry, memberApi, members, { cacheMs: config.cluster.intervalSeconds * 1000, announcedUpTo: () => journal.position() }))
  publish(setClusterNodes, createClusterNodes(registry, valkey, members, { staleAfterSeconds: config.staleAfterSeconds }))

  return {
    instance,
    driver: database.driver,
    endStreams: () => hub.close(),
    async stop() {
      withdraw.forEach(w => w())
      eventStream.close()
      await watcher.stop()
      channels.close()
      streams.close()
      hub.close()
      await housekeepingJob.stop()
      await rollupJob.stop()
      offRollupCount()
      await valkeyJob?.stop()
      await memberJob?.stop()
      await memberPoller.stop()
      await discovery.stop()
      await stopSampler()
      await dispatcher.stop()
      await silences.stop()
      await ingest.drain()
      await requestLog.close()
      await cluster?.stop()
      journal.close()
      await database.close()
    },
  }
}
