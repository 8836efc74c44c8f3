/**
 * The agent's settings from flags and environment (flags win), checked once at start: a bad value
 * stops the agent with a message that names the flag and the variable.
 */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { readToken } from '../flags'

export type Env = Record<string, string | undefined>

/** Flags as citty parses them (strings and booleans), by their long name. */
export interface AgentFlags {
  'server'?: string
  'node-id'?: string
  'token'?: string
  'token-file'?: string
  'interval'?: string
  'spool-dir'?: string
  'spool-max'?: string
  'once'?: boolean
  'quiet'?: boolean
  'install-service'?: boolean
  'uninstall-service'?: boolean
  'purge'?: boolean
  'root'?: string
  'listen'?: string
  'listen-host'?: string
  'listen-token'?: string
  'listen-token-file'?: string
  'listen-insecure'?: boolean
  'announce'?: boolean
}

/** `--listen`: the member API the agent serves (cli/agent/listen.ts). */
export interface ListenSettings {
  port: number
  /** undefined: every interface (only with a token). */
  host: string | undefined
  /** undefined only with --listen-insecure. */
  token: string | undefined
  /** Announce `_nodepulse._tcp` over mDNS (off with --no-announce). */
  announce: boolean
  /** Readings kept for the aggregator: 24 h of samples at the interval. */
  keep: number
}

export interface AgentSettings {
  /** Whether samples are sent to a server; false: --listen without --server (listen only). */
  push: boolean
  /** The server's origin and base path, without a trailing slash ('' when listening only). */
  server: string
  nodeId: number
  token: string
  intervalSeconds: number
  spoolDir: string
  spoolMax: number
  /** Whether --spool-max / NODEPULSE_SPOOL_MAX was given (the service's env file keeps it then). */
  spoolMaxGiven: boolean
  once: boolean
  quiet: boolean
  listen?: ListenSettings
}

export type AgentMode =
  | { mode: 'run', settings: AgentSettings, warnings: string[] }
  | { mode: 'install-service', settings: AgentSettings, root?: string, warnings: string[] }
  | { mode: 'uninstall-service', root?: string, purge: boolean, warnings: string[] }

/** A setting the agent cannot run with; the message says which and how to fix it. */
export class SettingsError extends Error {
  /** The exit code: 1, or 2 for a token that cannot be one. */
  exitCode = 1
}

/** Stands in for the token on the Nodes page when it cannot show it (utils/agentInstall.ts). */
export const TOKEN_PLACEHOLDER = 'PASTE-THE-NODE-TOKEN-HERE'

/** Where the service keeps its spool (systemd's StateDirectory=nodepulse). */
export const SERVICE_SPOOL_DIR = '/var/lib/nodepulse'
const DAY_SECONDS = 86_400

const pick = (flag: string | undefined, env: Env, key: string): { value: string, from: string } | undefined => {
  if (flag !== undefined && flag !== '') return { value: flag, from: `--${key.replace(/^NODEPULSE_/, '').toLowerCase().replace(/_/g, '-')}` }
  const v = env[key]
  return v !== undefined && v !== '' ? { value: v, from: key } : undefined
}

function number(setting: { value: string, from: string } | undefined, fallback: number, min: number, max: number, integer: boolean): number {
  if (!setting) return fallback
  const n = Number(setting.value)
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new SettingsError(`${setting.from}=${setting.value} is invalid: expected ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`)
  }
  return n
}

/** The default spool directory: $XDG_STATE_HOME/nodepulse, else ~/.local/state/nodepulse. */
export function defaultSpoolDir(env: Env): string {
  return env.XDG_STATE_HOME ? join(env.XDG_STATE_HOME, 'nodepulse') : join(env.HOME || homedir(), '.local', 'state', 'nodepulse')
}

function nodeToken(flags: AgentFlags, env: Env, warnings: string[]): string {
  const token = readToken(flags, env, warnings, message => new SettingsError(message), { name: 'node token', page: 'Nodes' })
  if (!token) throw new SettingsError('no node token: set NODEPULSE_TOKEN, or give --token-file FILE (the token is shown once when the node is added)')
  if (token === TOKEN_PLACEHOLDER) {
    throw Object.assign(new SettingsError(`the token is the Nodes page's placeholder ${TOKEN_PLACEHOLDER}, not the node's token: put the token in its place (it is shown once when the node is added; "Rotate token" on the node's row on the Nodes page shows a new one)`), { exitCode: 2 })
  }
  return token
}

/** A listen token must not be guessable: the member API serves this host's figures to whoever has it. */
const MIN_LISTEN_TOKEN = 16

function readListen(flags: AgentFlags, env: Env, warnings: string[], intervalSeconds: number): ListenSettings | undefined {
  const portSetting = pick(flags.listen, env, 'NODEPULSE_LISTEN')
  if (!portSetting) {
    for (const f of ['listen-host', 'listen-token', 'listen-token-file', 'listen-insecure'] as const) {
      if (flags[f] !== undefined && flags[f] !== false && flags[f] !== '') throw new SettingsError(`--${f} only goes with --listen PORT`)
    }
    return undefined
  }
  const port = number(portSetting, 0, 1, 65_535, true)
  const token = readToken(
    { 'token': flags['listen-token'], 'token-file': flags['listen-token-file'] }, env, warnings, message => new SettingsError(message),
    { name: 'listen token', page: 'agent\'s settings' }, { flag: 'listen-token', env: 'NODEPULSE_LISTEN_TOKEN' },
  )
  const insecure = flags['listen-insecure'] === true
  if (token && insecure) throw new SettingsError('--listen-insecure means no token: give a listen token or --listen-insecure, not both')
  if (!token && !insecure) {
    throw new SettingsError('refusing to listen without a token: give --listen-token-file FILE or set NODEPULSE_LISTEN_TOKEN (a long random string, e.g. `openssl rand -hex 24`; the aggregator uses it as the member\'s token), or --listen-insecure to serve without one on 127.0.0.1')
  }
  if (token && token.length < MIN_LISTEN_TOKEN) throw new SettingsError(`the listen token is ${token.length} characters long: use at least ${MIN_LISTEN_TOKEN} (e.g. \`openssl rand -hex 24\`)`)
  const hostSetting = pick(flags['listen-host'], env, 'NODEPULSE_LISTEN_HOST')?.value
  const host = hostSetting ?? (insecure ? '127.0.0.1' : undefined)
  if (insecure && host && !/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(host)) {
    warnings.push(`--listen-insecure on ${host}: anyone who reaches this port reads this host's figures without a token`)
  }
  return { port, host, token, announce: flags.announce !== false, keep: Math.ceil(DAY_SECONDS / intervalSeconds) }
}

function readRun(flags: AgentFlags, env: Env, warnings: string[]): AgentSettings {
  const server = pick(flags.server, env, 'NODEPULSE_SERVER')
  const intervalEarly = number(pick(flags.interval, env, 'NODEPULSE_INTERVAL'), 5, 1, 3600, false)
  const listen = readListen(flags, env, warnings, intervalEarly)
  if (!server && listen) {
    if (flags.once) throw new SettingsError('--once goes with --server: a listening agent runs until stopped')
    const spoolDir = pick(flags['spool-dir'], env, 'NODEPULSE_SPOOL_DIR')?.value
    const nodeIdSetting = pick(flags['node-id'], env, 'NODEPULSE_NODE_ID')
    return {
      push: false, server: '', nodeId: number(nodeIdSetting, 1, 1, 2_147_483_647, true), token: '', intervalSeconds: intervalEarly,
      spoolDir: resolve(spoolDir ?? defaultSpoolDir(env)), spoolMax: 1, spoolMaxGiven: false, once: false, quiet: flags.quiet === true, listen,
    }
  }
  if (!server) throw new SettingsError('no server: give --server URL or set NODEPULSE_SERVER (e.g. https://nodepulse.example.com), or --listen PORT to serve the member API')
  if (listen && flags.once) throw new SettingsError('--once and --listen do not go together: a listening agent runs until stopped')
  if (!URL.canParse(server.value) || !/^https?:$/.test(new URL(server.value).protocol)) {
    throw new SettingsError(`${server.from}=${server.value} is not an http:// or https:// URL`)
  }
  const url = new URL(server.value)
  if (url.search || url.hash) throw new SettingsError(`${server.from}=${server.value}: give the server's address without ?query or #fragment`)
  const nodeIdSetting = pick(flags['node-id'], env, 'NODEPULSE_NODE_ID')
  if (!nodeIdSetting) throw new SettingsError('no node id: give --node-id N or set NODEPULSE_NODE_ID (the Nodes page shows it)')
  const nodeId = number(nodeIdSetting, 0, 1, 2_147_483_647, true)
  const intervalSeconds = number(pick(flags.interval, env, 'NODEPULSE_INTERVAL'), 5, 1, 3600, false)
  const spoolMaxSetting = pick(flags['spool-max'], env, 'NODEPULSE_SPOOL_MAX')
  const spoolMax = number(spoolMaxSetting, Math.ceil(DAY_SECONDS / intervalSeconds), 1, 10_000_000, true)
  const spoolDir = pick(flags['spool-dir'], env, 'NODEPULSE_SPOOL_DIR')?.value
  return {
    push: true,
    server: `${url.origin}${url.pathname.replace(/\/+$/, '')}`,
    nodeId,
    token: nodeToken(flags, env, warnings),
    intervalSeconds,
    spoolDir: resolve(spoolDir ?? defaultSpoolDir(env)),
    spoolMax,
    spoolMaxGiven: spoolMaxSetting !== undefined,
    once: flags.once === true,
    quiet: flags.quiet === true,
    ...(listen ? { listen } : {}),
  }
}

/** Reads what to do and with which settings; throws SettingsError for anything it cannot run with. */
export function resolveSettings(flags: AgentFlags, env: Env): AgentMode {
  const warnings: string[] = []
  const root = flags.root === undefined || flags.root === '' ? undefined : resolve(flags.root)
  if (flags['install-service'] && flags['uninstall-service']) throw new SettingsError('give --install-service or --uninstall-service, not both')
  if (root && !flags['install-service'] && !flags['uninstall-service']) throw new SettingsError('--root only goes with --install-service or --uninstall-service')
  if (flags.purge && !flags['uninstall-service']) throw new SettingsError('--purge only goes with --uninstall-service')
  if (flags['uninstall-service']) return { mode: 'uninstall-service', root, purge: flags.purge === true, warnings }
  if (flags['install-service']) {
    if (flags.once) throw new SettingsError('--once and --install-service do not go together')
    if (flags.listen || env.NODEPULSE_LISTEN) throw new SettingsError('--listen is not installed as a service yet: run `nodepulse agent --listen PORT …` under your own supervisor, or install the pushing agent')
    // The service keeps its spool where systemd gives it a state directory.
    const settings = readRun({ ...flags, 'spool-dir': SERVICE_SPOOL_DIR }, env, warnings)
    return { mode: 'install-service', settings, root, warnings }
  }
  return { mode: 'run', settings: readRun(flags, env, warnings), warnings }
}
