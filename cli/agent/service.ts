/**
 * `--install-service` / `--uninstall-service`: the agent as a systemd service. The token goes
 * into the env file only (mode 0600, read by systemd as root), never into the unit, which any
 * local user can read. `root` prefixes every path and skips systemctl (tests only).
 */
import { existsSync, promises as fsp } from 'node:fs'
import { dirname, join } from 'node:path'
import { NODE_AGENT_FLAGS } from '../../shared/agentFlags'
import type { Log } from './log'
import { SERVICE_SPOOL_DIR, type AgentSettings } from './settings'
import { writeAtomic } from './spool'

export const SERVICE_NAME = 'nodepulse-agent'
export const SERVICE_PATHS = {
  agent: '/usr/local/lib/nodepulse/nodepulse-agent.mjs',
  env: '/etc/nodepulse/agent.env',
  unit: `/etc/systemd/system/${SERVICE_NAME}.service`,
  spool: SERVICE_SPOOL_DIR,
  // Where systemd keeps a DynamicUser's StateDirectory (/var/lib/nodepulse links to it).
  privateSpool: '/var/lib/private/nodepulse',
} as const

/** The service cannot be installed or removed; the message says why. */
export class ServiceError extends Error {}

/** A value for a systemd EnvironmentFile: bare when it is plain, else double-quoted. */
const envValue = (v: string) => (/^[\w.:/@%+,=-]*$/.test(v) ? v : `"${v.replace(/[\\"$`]/g, c => `\\${c}`)}"`)

/** The env file: every setting the service runs with, the token included. */
export function envFile(settings: AgentSettings): string {
  const vars: [string, string][] = [
    ['NODEPULSE_SERVER', settings.server],
    ['NODEPULSE_NODE_ID', String(settings.nodeId)],
    ['NODEPULSE_TOKEN', settings.token],
    ['NODEPULSE_INTERVAL', String(settings.intervalSeconds)],
    ['NODEPULSE_SPOOL_DIR', SERVICE_PATHS.spool],
    ...(settings.spoolMaxGiven ? [['NODEPULSE_SPOOL_MAX', String(settings.spoolMax)] as [string, string]] : []),
  ]
  return `# NodePulse agent settings (written by --install-service). Holds the node token: keep it mode 0600.\n${vars.map(([k, v]) => `${k}=${envValue(v)}`).join('\n')}\n`
}

/** The systemd unit: no secrets in it, a user of its own, read-only system but for the spool. */
export function unitFile(nodePath: string, server: string): string {
  return `[Unit]
Description=NodePulse agent (reports this host to ${server})
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
EnvironmentFile=${SERVICE_PATHS.env}
ExecStart=${nodePath} ${NODE_AGENT_FLAGS.join(' ')} ${SERVICE_PATHS.agent} agent
Restart=always
RestartSec=5
DynamicUser=yes
StateDirectory=nodepulse
StateDirectoryMode=0700
ReadWritePaths=${SERVICE_PATHS.spool}
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictNamespaces=yes
RestrictRealtime=yes
LockPersonality=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
CapabilityBoundingSet=
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
`
}

/** Whether this host can take the service (systemd, root); throws ServiceError saying why not. `root` (tests) skips it. */
export function preflight(root: string | undefined, what: string): void {
  if (root) return
  if (process.platform !== 'linux' || !existsSync('/run/systemd/system')) {
    throw new ServiceError(`${what} needs systemd, and this host does not run it; start the agent with your init system instead (see cli/README.md)`)
  }
  if (process.getuid?.() !== 0) throw new ServiceError(`${what} writes to /etc and /usr/local: run it as root (sudo)`)
}

// Loaded here only: a running agent never starts a process, and node:child_process costs it memory.
async function runSystemctl(args: string[]): Promise<void> {
  const { execFileSync } = await import('node:child_process')
  execFileSync('systemctl', args, { stdio: ['ignore', 'inherit', 'inherit'] })
}

async function systemctl(root: string | undefined, log: Log, ...args: string[]): Promise<void> {
  if (root) {
    log.info(`(--root) would run: systemctl ${args.join(' ')}`)
    return
  }
  try {
    await runSystemctl(args)
  }
  catch (error) {
    throw new ServiceError(`systemctl ${args.join(' ')} failed: ${error instanceof Error ? error.message : String(error)}`)
  }
}

const at = (root: string | undefined, path: string) => (root ? join(root, path) : path)

/** Copies the running agent file, writes the env file (0600) and the unit, then enables and (re)starts the service. */
export async function installService(settings: AgentSettings, agentFile: string, root: string | undefined, log: Log): Promise<void> {
  preflight(root, '--install-service')
  if (!agentFile.endsWith('.mjs')) {
    throw new ServiceError(`--install-service copies the agent file it runs from, and ${agentFile} is not one: run the served nodepulse-agent.mjs (or dist/agent/nodepulse-agent.mjs)`)
  }
  const nodePath = process.execPath
  if (/^\/(root|home)\//.test(nodePath)) {
    log.warn(`node is at ${nodePath}, inside a home directory the service's own user may not reach; if the service fails to start, install Node for the whole system (e.g. /usr/bin/node)`)
  }
  const agentPath = at(root, SERVICE_PATHS.agent)
  const envPath = at(root, SERVICE_PATHS.env)
  const unitPath = at(root, SERVICE_PATHS.unit)
  await fsp.mkdir(dirname(agentPath), { recursive: true, mode: 0o755 })
  await writeAtomic(agentPath, await fsp.readFile(agentFile, 'utf8'), 0o755)
  await fsp.mkdir(dirname(envPath), { recursive: true, mode: 0o755 })
  await writeAtomic(envPath, envFile(settings), 0o600)
  await fsp.chmod(envPath, 0o600)
  await fsp.mkdir(dirname(unitPath), { recursive: true, mode: 0o755 })
  await writeAtomic(unitPath, unitFile(nodePath, settings.server), 0o644)
  await fsp.chmod(unitPath, 0o644)
  await systemctl(root, log, 'daemon-reload')
  // `enable --now` only starts a stopped unit: a re-install must restart a running one, so it runs
  // with the new file and settings.
  await systemctl(root, log, 'enable', SERVICE_NAME)
  await systemctl(root, log, 'restart', SERVICE_NAME)
  log.warn(`installed ${SERVICE_NAME}: ${unitPath}, settings in ${envPath} (mode 0600); follow it with: journalctl -u ${SERVICE_NAME} -f`)
}

/** Stops and disables the service and removes what the install wrote; the spool stays unless `purge`. */
export async function uninstallService(root: string | undefined, purge: boolean, log: Log): Promise<void> {
  preflight(root, '--uninstall-service')
  const unitPath = at(root, SERVICE_PATHS.unit)
  if (!root && existsSync(unitPath)) {
    try {
      await runSystemctl(['disable', '--now', SERVICE_NAME])
    }
    catch {
      log.warn(`systemctl disable --now ${SERVICE_NAME} failed; removing its files anyway`)
    }
  }
  else if (root) log.info(`(--root) would run: systemctl disable --now ${SERVICE_NAME}`)
  for (const path of [SERVICE_PATHS.unit, SERVICE_PATHS.env, SERVICE_PATHS.agent]) await fsp.rm(at(root, path), { force: true })
  // The directories the install made, when nothing else is in them.
  for (const dir of [dirname(SERVICE_PATHS.env), dirname(SERVICE_PATHS.agent)]) await fsp.rmdir(at(root, dir)).catch(() => {})
  if (purge) {
    for (const dir of [SERVICE_PATHS.spool, SERVICE_PATHS.privateSpool]) await fsp.rm(at(root, dir), { recursive: true, force: true })
  }
  await systemctl(root, log, 'daemon-reload')
  log.warn(`removed ${SERVICE_NAME}${purge ? ' and its spool' : `; its spool ${SERVICE_PATHS.spool} is kept (add --purge to remove it)`}`)
}
