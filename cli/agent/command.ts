/** `nodepulse agent`: reads the settings, then runs the agent, once or as a loop, or (un)installs the service. */
import { fileURLToPath } from 'node:url'
import { defineCommand } from 'citty'
import { createHostSampler } from '../../shared/sampler'
import { unknownFlags } from '../flags'
import { AGENT_VERSION } from '../version'
import { createClient } from './client'
import { createLog } from './log'
import type { ReadingStore } from './readings'
import { createAgent, EXIT, runListenOnly } from './run'
import type { Log } from './log'
import { installService, preflight, SERVICE_PATHS, ServiceError, uninstallService } from './service'
import { resolveSettings, SettingsError, type AgentFlags, type AgentSettings, type ListenSettings } from './settings'
import { openSpool, SpoolLockedError } from './spool'

const ARGS = {
  'server': { type: 'string', description: 'The NodePulse server URL (env NODEPULSE_SERVER)' },
  'node-id': { type: 'string', description: 'This node\'s id on the server (env NODEPULSE_NODE_ID)' },
  'token': { type: 'string', description: 'The node token; shows in `ps`: prefer env NODEPULSE_TOKEN or --token-file' },
  'token-file': { type: 'string', description: 'Read the node token from this file (env NODEPULSE_TOKEN_FILE)' },
  'interval': { type: 'string', description: 'Seconds between samples, default 5 (env NODEPULSE_INTERVAL)' },
  'spool-dir': { type: 'string', description: 'Where unsent samples wait (env NODEPULSE_SPOOL_DIR; default $XDG_STATE_HOME/nodepulse or ~/.local/state/nodepulse)' },
  'spool-max': { type: 'string', description: 'Most samples kept in the spool, default 24 h of samples (env NODEPULSE_SPOOL_MAX)' },
  'once': { type: 'boolean', description: 'Sample, send (with the spool) and exit: 0 sent, 1 not sent (spooled), 2 token refused, 3 unknown node' },
  'quiet': { type: 'boolean', description: 'Log warnings only' },
  'install-service': { type: 'boolean', description: 'Install and start the systemd service nodepulse-agent (root)' },
  'uninstall-service': { type: 'boolean', description: 'Stop and remove the systemd service (root)' },
  'purge': { type: 'boolean', description: 'With --uninstall-service: remove the spool too' },
  'root': { type: 'string', description: 'Tests only: write the service files under this directory, run no systemctl' },
  'listen': { type: 'string', description: 'Serve the member API (seed 003) on this port for an aggregating server (env NODEPULSE_LISTEN); without --server: listen only' },
  'listen-host': { type: 'string', description: 'Address to listen on (env NODEPULSE_LISTEN_HOST); default every interface with a token, 127.0.0.1 with --listen-insecure' },
  'listen-token': { type: 'string', description: 'The Bearer token readers must send; shows in `ps`: prefer env NODEPULSE_LISTEN_TOKEN or --listen-token-file' },
  'listen-token-file': { type: 'string', description: 'Read the listen token from this file (env NODEPULSE_LISTEN_TOKEN_FILE)' },
  'listen-insecure': { type: 'boolean', description: 'Listen without a token (on 127.0.0.1 unless --listen-host says otherwise)' },
  'announce': { type: 'boolean', default: true, description: 'With --listen: announce _nodepulse._tcp over mDNS (--no-announce: do not)' },
} as const


/**
 * Before --install-service writes anything: one real sample, sent with the token, so a wrong token
 * or node id is said now, not found later in the journal. Refused: exit 2 (token) or 3 (node).
 * An unreachable server does not stop the install (the service spools until it answers).
 */
async function checkBeforeInstall(settings: AgentSettings, log: Log): Promise<number | undefined> {
  const result = await createClient(settings, AGENT_VERSION).sendStats(JSON.stringify(await createHostSampler().sample()), 10_000)
  switch (result.kind) {
    case 'ok':
      return undefined
    case 'auth':
      log.warn(`not installed: ${result.message}`)
      return EXIT.badToken
    case 'unknown-node':
      log.warn(`not installed: ${result.message}`)
      return EXIT.unknownNode
    case 'retry':
      log.warn(`warning: could not check the token, the server is unreachable (${result.reason}); installing anyway: the service keeps its samples in ${SERVICE_PATHS.spool} until the server answers`)
      return undefined
    case 'refused':
      log.warn(`warning: the server refused the check's sample (${result.message}); installing anyway`)
      return undefined
  }
}

/** Runs the agent as the flags and environment say; resolves to the process's exit code. */
export async function runAgentCommand(flags: AgentFlags, rawArgs: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const bootLog = createLog()
  const unknown = unknownFlags(ARGS, rawArgs)
  if (unknown.length) {
    bootLog.warn(`unknown option ${unknown.map(u => `--${u}`).join(', ')}; see nodepulse agent --help`)
    return EXIT.failed
  }
  let mode
  try {
    mode = resolveSettings(flags, env)
  }
  catch (error) {
    if (!(error instanceof SettingsError)) throw error
    bootLog.warn(error.message)
    return error.exitCode
  }
  for (const w of mode.warnings) bootLog.warn(`warning: ${w}`)
  try {
    if (mode.mode === 'install-service') {
      preflight(mode.root, '--install-service')
      const refused = await checkBeforeInstall(mode.settings, bootLog)
      if (refused !== undefined) return refused
      await installService(mode.settings, fileURLToPath(import.meta.url), mode.root, bootLog)
      return EXIT.sent
    }
    if (mode.mode === 'uninstall-service') {
      await uninstallService(mode.root, mode.purge, bootLog)
      return EXIT.sent
    }
  }
  catch (error) {
    if (!(error instanceof ServiceError)) throw error
    bootLog.warn(error.message)
    return EXIT.failed
  }

  const { settings } = mode
  const log = createLog({ quiet: settings.quiet })
  let spool
  try {
    spool = await openSpool(settings.spoolDir, settings.spoolMax, log)
  }
  catch (error) {
    log.warn(error instanceof SpoolLockedError ? error.message : `cannot use the spool directory ${settings.spoolDir}: ${error instanceof Error ? error.message : String(error)}`)
    return EXIT.failed
  }
  const stop = new AbortController()
  const onSignal = () => stop.abort()
  process.once('SIGTERM', onSignal)
  process.once('SIGINT', onSignal)
  const closing: (() => Promise<unknown>)[] = []
  try {
    let onSample: ((sample: Parameters<ReadingStore['add']>[0]) => Promise<unknown>) | undefined
    if (settings.listen) {
      const listening = await startListening(settings, settings.listen, log, closing)
      if (listening === undefined) return EXIT.failed
      onSample = listening
    }
    const sampler = createHostSampler()
    if (!settings.push) return await runListenOnly({ intervalSeconds: settings.intervalSeconds, sampler, onSample: onSample!, log, stop: stop.signal })
    const agent = createAgent({
      settings, spool, log, stop: stop.signal, version: AGENT_VERSION, sampler, onSample,
      client: createClient(settings, AGENT_VERSION, stop.signal),
    })
    return settings.once ? await agent.once() : await agent.run()
  }
  finally {
    process.off('SIGTERM', onSignal)
    process.off('SIGINT', onSignal)
    for (const close of closing.reverse()) await close().catch(() => {})
    await spool.close()
  }
}

/**
 * --listen: opens the readings kept beside the spool, serves the member API and (unless
 * --no-announce) announces it over mDNS. The modules are imported here only, so an agent that only
 * pushes never loads them (nor node:crypto, nor bonjour-service). Resolves to the sample keeper,
 * or undefined (logged) when the port cannot be bound.
 */
async function startListening(settings: AgentSettings, listen: ListenSettings, log: Log, closing: (() => Promise<unknown>)[]) {
  const { openReadings } = await import('./readings')
  const { announce, loadAgentInstance, startListener } = await import('./listen')
  const readings = await openReadings(settings.spoolDir, listen.keep)
  closing.push(() => readings.close())
  const instance = await loadAgentInstance(settings.spoolDir)
  let listener
  try {
    listener = await startListener({
      port: listen.port, host: listen.host, token: listen.token, intervalSeconds: settings.intervalSeconds, version: AGENT_VERSION,
      instance, readings, log, nodeId: settings.nodeId,
    })
  }
  catch (error) {
    log.warn(`cannot listen on ${listen.host ?? 'every interface'} port ${listen.port}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
    return undefined
  }
  closing.push(listener.close)
  log.info(`serving the member API on ${listen.host ?? 'every interface'} port ${listener.port}${listen.token ? ' (Bearer token required)' : ' WITHOUT a token (--listen-insecure)'}; instance ${instance}, ${readings.count} readings kept (at most ${listen.keep})`)
  if (listen.announce) closing.push(await announce({ port: listener.port, instance, version: AGENT_VERSION, log }))
  return readings.add
}

export default defineCommand({
  meta: { name: 'agent', description: 'Report this host to a NodePulse server every few seconds; nothing is lost while the server is away' },
  args: ARGS,
  async run({ args, rawArgs }) {
    process.exitCode = await runAgentCommand(args, rawArgs)
  },
})
